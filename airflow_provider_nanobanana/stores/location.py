"""Where images land, read from the URI a DAG author writes, checked before anything is paid.

The schemes are Airflow's own (``ObjectStoragePath`` and the providers' file systems):
``s3://bucket/prefix``, ``gs://bucket/prefix``, ``abfs://container@account.dfs.core.windows.net/prefix``
and ``wasb://container@account.blob.core.windows.net/prefix`` (``@account`` alone is short for
those hosts), and ``file:///absolute/path``. Each store has the connection Airflow's own hooks
default to, and an extra to install for the ones this package does not bring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_provider_nanobanana.validation import invalid

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Store:
    scheme: str
    label: str
    default_conn_id: str | None
    extra: str | None  # the package extra that installs its Airflow provider, if this one does not


STORES = {
    "s3": Store("s3", "Amazon S3", "aws_default", None),
    "gs": Store("gs", "Google Cloud Storage", "google_cloud_default", "gcs"),
    "abfs": Store("abfs", "Azure Data Lake Storage", "azure_data_lake_default", "azure"),
    "wasb": Store("wasb", "Azure Blob Storage", "wasb_default", "azure"),
    "file": Store("file", "a local file system", None, None),
}
_AZURE_HOSTS = {"abfs": "dfs.core.windows.net", "wasb": "blob.core.windows.net"}


@dataclass(frozen=True)
class Location:
    """One destination: ``container`` is the bucket, Azure container or, for files, ``/`` (the
    path is the prefix, so keys are paths, as on the other stores); ``account`` is Azure's
    storage account."""

    store: Store
    container: str
    prefix: str
    account: str | None = None

    @property
    def uri(self) -> str:
        if self.store.scheme == "file":
            return f"file:///{self.prefix}"
        where = f"{self.container}@{self.account}" if self.account else self.container
        return f"{self.store.scheme}://{where}/{self.prefix}".rstrip("/")


def parse_location(field: str, uri: str) -> Location:
    """The location ``uri`` names, or ``NanoBananaInvalidRequestError`` naming ``field``."""
    if not isinstance(uri, str) or "://" not in uri:
        raise invalid(field, uri, f"a URI such as {_examples()}")
    parts = urlsplit(uri)
    store = STORES.get(parts.scheme)
    if store is None:
        raise invalid(field, uri, f"one of the schemes {', '.join(f'{s}://' for s in STORES)}")
    if parts.query or parts.fragment:
        raise invalid(field, uri, "a URI without ?query or #fragment")
    if store.scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise invalid(field, uri, "an absolute path, file:///like/this")
        return Location(store, "/", parts.path.strip("/"))
    prefix = parts.path.strip("/")
    if store.scheme in _AZURE_HOSTS:
        container, _, host = parts.netloc.partition("@")
        account = host.split(".", 1)[0]
        if (
            not host
            or not _ACCOUNT.match(account)
            or host not in (account, f"{account}.{_AZURE_HOSTS[store.scheme]}")
        ):
            raise invalid(
                field,
                uri,
                f"{store.scheme}://container@account.{_AZURE_HOSTS[store.scheme]}/prefix, the "
                "account 3-24 lowercase letters and digits",
            )
        _check_name(
            field,
            uri,
            container,
            _CONTAINER,
            "a container of 3-63 lowercase letters, digits and single hyphens",
        )
        return Location(store, container, prefix, f"{account}.{_AZURE_HOSTS[store.scheme]}")
    rule, characters = (_S3_BUCKET, "'.', '-'") if store.scheme == "s3" else (_GCS_BUCKET, "'.', '-', '_'")
    allowed = f"a {store.label} bucket name: 3 or more lowercase letters, digits, {characters}"
    _check_name(field, uri, parts.netloc, rule, allowed)
    return Location(store, parts.netloc, prefix)


def _check_name(field: str, uri: str, name: str, rule: re.Pattern[str], allowed: str) -> None:
    if not rule.match(name):
        raise invalid(field, uri, allowed)


def _examples() -> str:
    return "s3://bucket/prefix, gs://bucket/prefix, abfs://container@account/prefix or file:///path"
