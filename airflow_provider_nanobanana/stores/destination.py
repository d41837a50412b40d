"""Where and how images land: the store and its bucket or container, keys, and the object
options ``S3Hook`` users know.

One :class:`Destination` serves the transfer operator and the generating operators'
``destination`` (or ``s3_output``, its first name), and :meth:`Destination.checked` validates all
of it before anything is downloaded or paid for, so a typo in an ACL, a URI or a key template
fails in a second with the field named. S3 is given as ``bucket`` and ``prefix`` or as a URI; the
other stores as a URI (:mod:`~airflow_provider_nanobanana.stores.location`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_nanobanana.s3.retries import DEFAULT_S3_RETRY_SECONDS
from airflow_provider_nanobanana.stores.keys import (
    DEFAULT_KEY_TEMPLATE,
    KEY_FIELDS,
    check_key_template,
    normalize_prefix,
    render_key,
)
from airflow_provider_nanobanana.stores.location import STORES, Location, parse_location
from airflow_provider_nanobanana.stores.providers import provider_hooks
from airflow_provider_nanobanana.validation import check_choice, check_int, invalid

CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "EXPRESS_ONEZONE",
)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_S3_ONLY = ("encrypt", "acl_policy", "storage_class", "extra_args")


@dataclass(frozen=True)
class Destination:
    """:param uri: where images land, as a URI: ``s3://bucket/prefix``, ``gs://bucket/prefix``,
        ``abfs://container@account/prefix``, ``wasb://container@account/prefix`` or
        ``file:///directory`` (instead of ``bucket`` and ``prefix``).
    :param conn_id: the connection for that store (default: Airflow's own for the scheme,
        ``google_cloud_default``, ``azure_data_lake_default``, ``wasb_default``; for S3,
        ``aws_conn_id``).
    :param bucket: S3 bucket name (no ``s3://``), with ``prefix``.
    :param prefix: key prefix every object lands under.
    :param key_template: ``str.format`` template; fields ``prefix``, ``vendor``, ``dag_id``,
        ``run_id``, ``task_id``, ``map_index``, ``job_id``, ``index``, ``ext``.
    :param aws_conn_id: the Amazon connection ``S3Hook`` uses.
    :param encrypt: server-side encryption with S3-managed keys (``AES256``), as in ``S3Hook``.
    :param acl_policy: a canned ACL, as in ``S3Hook``.
    :param storage_class: an S3 storage class such as ``STANDARD_IA``.
    :param extra_args: more boto3 ``ExtraArgs`` (``SSEKMSKeyId``, ``Tagging``, ...).
    :param include_prompt: also store the prompt itself in the metadata (its sha256 always is).
    :param max_concurrency: images uploaded at once.
    :param asset_alias: name of the ``AssetAlias`` that receives an asset event per object.
    :param s3_retry_seconds: how long an upload keeps retrying while the store is unreachable,
        throttles or answers 5xx (:mod:`~airflow_provider_nanobanana.s3.retries`); 0 turns that off.
    """

    bucket: str | None = None
    prefix: str = "nanobanana"
    key_template: str = DEFAULT_KEY_TEMPLATE
    aws_conn_id: str | None = "aws_default"
    encrypt: bool = False
    acl_policy: str | None = None
    storage_class: str | None = None
    extra_args: Mapping[str, Any] = field(default_factory=dict)
    include_prompt: bool = False
    max_concurrency: int = 4
    asset_alias: str | None = None
    s3_retry_seconds: float = DEFAULT_S3_RETRY_SECONDS
    uri: str | None = None
    conn_id: str | None = None
    account: str | None = None  # Azure's storage account, read from the URI

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, name: str, **defaults: Any) -> Destination:
        """Build from a DAG's dict (e.g. ``destination``), naming unknown keys instead of ignoring them."""
        if not isinstance(data, Mapping):
            raise invalid(name, data, "a dict with at least 'uri' (or 'bucket' for S3)")
        known = [item.name for item in fields(cls) if item.name != "account"]
        for key in data:
            if key not in known:
                raise invalid(f"{name}.{key}", data[key], f"not a known setting; known: {', '.join(known)}")
        if ("bucket" in data) == ("uri" in data):
            raise invalid(
                f"{name}.uri",
                data.get("uri"),
                "either 'uri' or an S3 'bucket' (and 'prefix'), one of the two",
            )
        return cls(**{**defaults, **data})

    @property
    def location(self) -> Location:
        """The store and container of a :meth:`checked` destination."""
        assert self.bucket is not None, "checked() sets the bucket"
        store = STORES[urlsplit(self.uri).scheme] if self.uri else STORES["s3"]
        return Location(store, self.bucket, self.prefix, self.account)

    def object_uri(self, key: str) -> str:
        """The URI of the object ``key`` names in this destination's container."""
        location = self.location
        if location.store.scheme == "file":
            return f"file:///{key}"
        where = f"{location.container}@{location.account}" if location.account else location.container
        return f"{location.store.scheme}://{where}/{key}"

    @property
    def store_conn_id(self) -> str | None:
        """The connection that writes to the store: ``conn_id``, else the scheme's default."""
        if self.location.store.scheme == "s3":
            return self.conn_id or self.aws_conn_id
        return self.conn_id or self.location.store.default_conn_id

    def checked(self) -> Destination:
        """Validate every setting; return a copy with the store's container and the prefix
        normalized (an ``uri`` read into ``bucket``, ``prefix`` and ``account``)."""
        located = self.located()
        if located.uri is not None:
            provider_hooks("uri", located.location)
        return located._checked()

    def located(self) -> Destination:
        """A copy whose ``uri`` is read into the store's container, prefix and account (or whose S3
        ``bucket`` is checked), importing no store's provider: cheap enough for a DAG's parse."""
        if self.uri is None:
            if not isinstance(self.bucket, str) or not _BUCKET.match(self.bucket):
                hint = " without the s3:// scheme (or as uri)" if str(self.bucket).startswith("s3://") else ""
                raise invalid(
                    "bucket",
                    self.bucket,
                    f"an S3 bucket name{hint} (3-63 lowercase letters, digits, '.', '-')",
                )
            return self
        location = parse_location("uri", self.uri)
        if self.bucket not in (None, location.container):  # checked() again keeps its own
            raise invalid("uri", self.uri, "either uri or bucket (and prefix), not both")
        scheme = location.store.scheme
        if scheme != "s3":
            for name in _S3_ONLY:
                if getattr(self, name):
                    raise invalid(
                        name, getattr(self, name), f"not set: it is an S3 setting, and uri is {scheme}://"
                    )
        return replace(self, bucket=location.container, prefix=location.prefix, account=location.account)

    def _checked(self) -> Destination:
        check_key_template(self.key_template)
        prefix = normalize_prefix(self.prefix)
        # A literal "..", "//" or "\\" in the template fails here, not after the job is paid for.
        render_key(self.key_template, prefix, {name: "sample" for name in KEY_FIELDS if name != "prefix"})
        if self.acl_policy is not None:
            check_choice("acl_policy", self.acl_policy, CANNED_ACLS)
        if self.storage_class is not None:
            check_choice("storage_class", self.storage_class, STORAGE_CLASSES)
        if not isinstance(self.extra_args, Mapping):
            raise invalid("extra_args", self.extra_args, "a dict of boto3 ExtraArgs")
        check_int("max_concurrency", self.max_concurrency, 1, 16)
        retry = self.s3_retry_seconds
        if isinstance(retry, bool) or not isinstance(retry, int | float) or not 0 <= retry <= 3600:
            raise invalid("s3_retry_seconds", retry, "a number of seconds from 0 to 3600")
        return replace(self, prefix=prefix)

    def upload_args(
        self, base: Mapping[str, Any], content_type: str, metadata: Mapping[str, str]
    ) -> dict[str, Any]:
        """boto3 ``ExtraArgs`` for one object: the hook's own ``extra_args`` (``base``), then ours."""
        args: dict[str, Any] = {**base, **self.extra_args}
        args["ContentType"] = content_type
        args["Metadata"] = {**args.get("Metadata", {}), **metadata}
        if self.encrypt:
            args["ServerSideEncryption"] = "AES256"
        if self.acl_policy:
            args["ACL"] = self.acl_policy
        if self.storage_class:
            args["StorageClass"] = self.storage_class
        return args
