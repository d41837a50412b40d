"""Let edit and img2img take input images kept in a store: ``s3://``, ``gs://``, ``abfs://``,
``wasb://`` and ``file://`` URIs.

Vendors fetch input images themselves, so a stored object must become something they can read:

- a **data URI** where the vendor takes images inline (AceData up to its 10 MB limit, Gemini):
  it works for private buckets and stores reachable only inside a VPC, and no signed link
  leaves Airflow;
- otherwise (ModelsLab, or a larger AceData input) a **signed GET URL**, valid for
  :data:`SIGNED_URL_SECONDS` so a queued job can still read it: S3 presigns with the Amazon
  connection; GCS signs (V4) with credentials that can sign, such as a service account key;
  Azure with the connection's account key. The vendor must be able to reach the store, and the
  URL is registered with Airflow's secrets masker, since its signature grants read access. A
  local file has no URL: it goes inline or is refused.

Each object is checked to exist and to start like an image before any paid request, and the
rendered template (what the UI shows) keeps the URI. Each store is read through the connection
Airflow's hooks default to (``aws_conn_id`` for S3).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow_provider_nanobanana.images.formats import SNIFF_BYTES, describe, sniff
from airflow_provider_nanobanana.stores.location import Location, parse_location
from airflow_provider_nanobanana.stores.providers import provider_hooks
from airflow_provider_nanobanana.validation import invalid, is_stored

SIGNED_URL_SECONDS = 6 * 3600


@dataclass(frozen=True)
class _StoredInput:
    """One input object in its store: its size, its first bytes or all of them, a signed URL."""

    location: Location
    key: str
    client: Any  # the store's client: boto3, google.cloud.storage, BlobServiceClient, or None

    def size(self) -> int | None:
        """Its length in bytes, or None if the connection finds no such object."""
        scheme = self.location.store.scheme
        if scheme == "s3":
            from botocore.exceptions import ClientError

            try:
                return self.client.head_object(Bucket=self.location.container, Key=self.key)["ContentLength"]
            except ClientError:
                return None
        if scheme == "gs":
            blob = self.client.bucket(self.location.container).get_blob(self.key)
            return None if blob is None else blob.size
        if scheme in ("abfs", "wasb"):
            from azure.core.exceptions import ResourceNotFoundError

            try:
                return self._blob().get_blob_properties().size
            except ResourceNotFoundError:
                return None
        path = Path("/", self.key)
        return path.stat().st_size if path.is_file() else None

    def read(self, length: int | None) -> bytes:
        """The first ``length`` bytes, or all of them."""
        scheme = self.location.store.scheme
        if scheme == "s3":
            byte_range = {} if length is None else {"Range": f"bytes=0-{length - 1}"}
            answer = self.client.get_object(Bucket=self.location.container, Key=self.key, **byte_range)
            return answer["Body"].read()
        if scheme == "gs":
            blob = self.client.bucket(self.location.container).blob(self.key)
            return blob.download_as_bytes(start=0, end=None if length is None else length - 1)
        if scheme in ("abfs", "wasb"):
            return self._blob().download_blob(offset=0, length=length).readall()
        with Path("/", self.key).open("rb") as file:
            return file.read(-1 if length is None else length)

    def signed_url(self) -> str | None:
        """A GET URL the vendor can fetch for :data:`SIGNED_URL_SECONDS`, or None if these
        credentials cannot sign one."""
        scheme = self.location.store.scheme
        if scheme == "s3":
            return self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.location.container, "Key": self.key},
                ExpiresIn=SIGNED_URL_SECONDS,
            )
        if scheme == "gs":
            blob = self.client.bucket(self.location.container).blob(self.key)
            try:
                return blob.generate_signed_url(
                    version="v4", expiration=timedelta(seconds=SIGNED_URL_SECONDS), method="GET"
                )
            except (AttributeError, TypeError, ValueError):  # credentials without a signing key
                return None
        if scheme in ("abfs", "wasb"):
            from azure.storage.blob import BlobSasPermissions, generate_blob_sas

            key = getattr(self.client.credential, "account_key", None)
            if key is None:
                return None
            blob = self._blob()
            sas = generate_blob_sas(
                blob.account_name,
                blob.container_name,
                blob.blob_name,
                account_key=key,
                permission=BlobSasPermissions(read=True),
                expiry=datetime.now(timezone.utc) + timedelta(seconds=SIGNED_URL_SECONDS),
            )
            return f"{blob.url}?{sas}"
        return None

    def _blob(self) -> Any:
        return self.client.get_blob_client(self.location.container, self.key)


def resolve_stored_inputs(
    images: Sequence[str], *, inline_limit: int | None, aws_conn_id: str | None, log: logging.Logger
) -> tuple[str, ...]:
    """Replace each stored image by a data URI or signed URL; leave other images unchanged."""
    if not any(is_stored(image) for image in images):
        return tuple(images)
    from airflow.providers.common.compat.sdk import mask_secret

    clients: dict[str, Any] = {}
    resolved = []
    for position, image in enumerate(images):
        if not is_stored(image):
            resolved.append(image)
            continue
        field = f"images[{position}]"
        stored = _stored_input(field, image, aws_conn_id, clients)
        size = stored.size()
        if size is None:
            reader = _connection(stored.location, aws_conn_id)
            raise invalid(
                field, image, f"an existing {stored.location.store.label} object readable with {reader}"
            )
        inline = inline_limit is not None and size <= inline_limit
        # Inline needs the whole object; a URL only the first bytes, to check it is an image.
        body = stored.read(None if inline else SNIFF_BYTES)
        image_format = sniff(body[:SNIFF_BYTES])
        if image_format is None:
            raise invalid(field, image, f"a PNG, JPEG, WebP or GIF object; it starts {describe(body)}")
        if inline:
            resolved.append(f"data:{image_format.content_type};base64,{base64.b64encode(body).decode()}")
            log.info("%s: %s (%d bytes) sent inline as a data URI.", field, image, size)
            continue
        url = stored.signed_url()
        if url is None:
            raise invalid(field, image, _why_no_url(stored.location, size, inline_limit))
        mask_secret(url)
        log.info(
            "%s: %s (%d bytes) sent as a signed URL valid for %d h.",
            field,
            image,
            size,
            SIGNED_URL_SECONDS // 3600,
        )
        resolved.append(url)
    return tuple(resolved)


def _stored_input(field: str, uri: str, aws_conn_id: str | None, clients: dict[str, Any]) -> _StoredInput:
    """The object ``uri`` names, with its store's client (built once per store and call)."""
    location = parse_location(field, uri)
    if not location.prefix:
        raise invalid(field, uri, "the URI of an object, with a key after the bucket or container")
    provider_hooks(field, location)
    scheme = location.store.scheme
    if scheme not in clients:
        clients[scheme] = _client(location, aws_conn_id)
    return _StoredInput(location, location.prefix, clients[scheme])


def _client(location: Location, aws_conn_id: str | None) -> Any:
    scheme = location.store.scheme
    if scheme == "s3":
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=aws_conn_id).get_conn()
    if scheme == "gs":
        from airflow.providers.google.cloud.hooks.gcs import GCSHook

        return GCSHook(gcp_conn_id=location.store.default_conn_id).get_conn()
    if scheme in ("abfs", "wasb"):
        from airflow_provider_nanobanana.stores.azure import blob_service

        return blob_service(scheme, location.store.default_conn_id)[1]
    return None


def _connection(location: Location, aws_conn_id: str | None) -> str:
    if location.store.scheme == "file":
        return "this worker"
    conn_id = aws_conn_id if location.store.scheme == "s3" else location.store.default_conn_id
    return f"conn_id={conn_id!r}"


def _why_no_url(location: Location, size: int, inline_limit: int | None) -> str:
    larger = (
        f" or larger than the vendor's inline limit ({inline_limit} bytes; this one is {size})"
        if inline_limit
        else ""
    )
    if location.store.scheme == "file":
        return (
            "an object in a store the vendor can fetch by URL: a local file has no URL, and this "
            f"vendor takes no inline images{larger}"
        )
    return (
        f"an object {_connection(location, None)} can sign a URL for (GCS: a service account key; "
        f"Azure: an account key), since this vendor fetches images by URL{larger}"
    )
