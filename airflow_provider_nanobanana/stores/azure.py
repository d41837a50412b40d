"""Write one image to Azure Blob Storage (or ADLS Gen2) while its body arrives, visible only when whole.

A block blob is built from staged blocks and exists only once its block list is committed, so
blocks go up as they fill and the list is committed after the body has ended and been verified;
the commit also carries the metadata, the body's sha256 included. Blocks never committed are
discarded by the service (after a week), so an abort has nothing to send.
(https://learn.microsoft.com/rest/api/storageservices/put-block-list)

ADLS Gen2 (``abfs://``) accounts take the same Blob API on their blob endpoint (multi-protocol
access), so both schemes land through it; an ``abfs://`` destination authorises with its Data
Lake connection's credential.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError
from airflow_provider_nanobanana.stores.pending import PendingBytes
from airflow_provider_nanobanana.stores.retries import ride_out

_REFUSED_STATUS = {401: "refused the credentials", 403: "refused access", 404: "has no such container"}

DEFAULT_BLOCK_BYTES = 8 * 1024 * 1024  # as S3's parts


class AzureBlobUpload:
    """Receives a body in pieces (:meth:`write`), then :meth:`complete` or :meth:`abort`.

    :param blob: an ``azure.storage.blob.BlobClient`` for the destination.
    :param retry_window: seconds each request rides out an outage (staging a block or
        committing a list again is safe: both are idempotent).
    """

    def __init__(
        self,
        blob: Any,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        retry_window: float = 0.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.blob, self.content_type, self.metadata = blob, content_type, _azure_names(metadata)
        self.block_bytes = block_bytes
        self.retry_window, self.log = retry_window, log or logging.getLogger(__name__)
        self._pending = PendingBytes()
        self._block_ids: list[str] = []

    @property
    def multipart(self) -> bool:
        return len(self._block_ids) > 1

    def write(self, data: bytes) -> None:
        self._pending.add(data)
        while self._pending.size >= self.block_bytes:
            self._stage(self._pending.take(self.block_bytes))

    def complete(self, metadata_if_single: Mapping[str, str]) -> None:
        """Commit the block list: the blob appears whole, with every block's metadata and the
        sha256 (known now, whatever the body's size)."""
        from azure.storage.blob import BlobBlock, ContentSettings

        if self._pending.size or not self._block_ids:
            self._stage(self._pending.take(self._pending.size))
        self._ride_out(
            lambda: self.blob.commit_block_list(
                [BlobBlock(block_id=block_id) for block_id in self._block_ids],
                content_settings=ContentSettings(content_type=self.content_type),
                metadata={**self.metadata, **_azure_names(metadata_if_single)},
            ),
            "the block list",
        )

    def abort(self) -> None:
        self._pending.clear()
        self._block_ids.clear()

    def _stage(self, block: bytes) -> None:
        # Ids of one length, as the service requires; numbered so a list reads in body order.
        block_id = base64.b64encode(f"nanobanana-{len(self._block_ids):08d}".encode()).decode()
        self._ride_out(lambda: self.blob.stage_block(block_id, block, length=len(block)), "a block")
        self._block_ids.append(block_id)

    def _ride_out(self, action: Any, what: str) -> None:
        ride_out(
            action,
            window=self.retry_window,
            what=f"{what} of {self.blob.url}",
            log=self.log,
            store="Azure Storage",
            transient=is_transient,
        )


def _azure_names(metadata: Mapping[str, str]) -> dict[str, str]:
    """Azure metadata names are C# identifiers: ``job-id`` is stored as ``job_id``."""
    return {name.replace("-", "_"): value for name, value in metadata.items()}


def is_transient(error: BaseException) -> bool:
    """Whether an Azure Storage failure can go away by itself: no connection, a timeout, 408,
    429 or 5xx (azure-core's own retries have already given up)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return True
    status = getattr(error, "status_code", None) or 0
    return isinstance(error, HttpResponseError) and (status >= 500 or status in (408, 429))


@dataclass(frozen=True)
class AzureWriter:
    """Uploads to one container through a ``BlobServiceClient`` from Airflow's ``WasbHook``
    (``wasb://``) or from the credential of ``AzureDataLakeStorageV2Hook`` (``abfs://``)."""

    hook: Any
    service: Any
    scheme: str
    container: str
    account: str
    conn_id: str | None
    retry_window: float
    log: logging.Logger

    @classmethod
    def open(
        cls,
        scheme: str,
        container: str,
        account: str,
        conn_id: str | None,
        retry_window: float,
        log: logging.Logger,
    ) -> AzureWriter:
        hook, service = blob_service(scheme, conn_id)
        return cls(hook, service, scheme, container, account, conn_id, retry_window, log)

    @property
    def failures(self) -> tuple[type[BaseException], ...]:
        from azure.core.exceptions import AzureError

        return (AzureError,)

    def upload(self, key: str, content_type: str, metadata: Mapping[str, str]) -> AzureBlobUpload:
        return AzureBlobUpload(
            self.service.get_blob_client(self.container, key),
            content_type=content_type,
            metadata=metadata,
            retry_window=self.retry_window,
            log=self.log,
        )

    def link(self, key: str) -> str:
        """The blob's URL on its endpoint (the portal has no stable page per blob)."""
        return f"{self.service.url.rstrip('/')}/{self.container}/{quote(key)}"

    def refusal(self, error: BaseException) -> NanoBananaDestinationError | None:
        """The typed error for an answer no retry changes (no container, access refused), or None."""
        from azure.core.exceptions import HttpResponseError

        status = getattr(error, "status_code", None)
        if not isinstance(error, HttpResponseError) or status not in _REFUSED_STATUS:
            return None
        where = f"{self.scheme}://{self.container}@{self.account}"
        return NanoBananaDestinationError(
            f"Azure Storage {_REFUSED_STATUS[status]} for {where} with conn_id={self.conn_id!r} "
            f"({getattr(error, 'error_code', None) or status}); it needs the Storage Blob Data "
            "Contributor role or a SAS that may create and write.\nNo retry can fix this: correct "
            "the container or the permissions, then clear the task.",
            uri=where,
            conn_id=self.conn_id,
        )


def blob_service(scheme: str, conn_id: str | None) -> tuple[Any, Any]:
    """The Airflow hook of ``conn_id`` and a ``BlobServiceClient`` with its credential."""
    if scheme == "wasb":
        from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

        hook = WasbHook(wasb_conn_id=conn_id)
        return hook, hook.get_conn()
    from airflow.providers.microsoft.azure.hooks.data_lake import AzureDataLakeStorageV2Hook
    from azure.storage.blob import BlobServiceClient

    hook = AzureDataLakeStorageV2Hook(adls_conn_id=conn_id)
    lake = hook.get_conn()
    credential = lake.credential
    if hasattr(credential, "account_key"):  # a shared key: the Data Lake client's own policy type
        credential = {"account_name": credential.account_name, "account_key": credential.account_key}
    return hook, BlobServiceClient(lake.url.replace(".dfs.", ".blob.", 1), credential=credential)
