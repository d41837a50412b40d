"""Write one image to Azure Blob Storage (or ADLS Gen2) while its body arrives, visible only when whole.

A block blob is built from staged blocks and exists only once its block list is committed, so
blocks go up as they fill and the list is committed after the body has ended and been verified;
the commit also carries the metadata, the body's sha256 included. Blocks never committed are
discarded by the service (after a week), so an abort has nothing to send.
(https://learn.microsoft.com/rest/api/storageservices/put-block-list)
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from airflow_provider_nanobanana.stores.pending import PendingBytes

DEFAULT_BLOCK_BYTES = 8 * 1024 * 1024  # as S3's parts


class AzureBlobUpload:
    """Receives a body in pieces (:meth:`write`), then :meth:`complete` or :meth:`abort`.

    :param blob: an ``azure.storage.blob.BlobClient`` for the destination.
    """

    def __init__(
        self,
        blob: Any,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        block_bytes: int = DEFAULT_BLOCK_BYTES,
    ) -> None:
        self.blob, self.content_type, self.metadata = blob, content_type, dict(metadata)
        self.block_bytes = block_bytes
        self._pending = PendingBytes()
        self._block_ids: list[str] = []

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
        self.blob.commit_block_list(
            [BlobBlock(block_id=block_id) for block_id in self._block_ids],
            content_settings=ContentSettings(content_type=self.content_type),
            metadata={**self.metadata, **metadata_if_single},
        )

    def abort(self) -> None:
        self._pending.clear()
        self._block_ids.clear()

    def _stage(self, block: bytes) -> None:
        # Ids of one length, as the service requires; numbered so a list reads in body order.
        block_id = base64.b64encode(f"nanobanana-{len(self._block_ids):08d}".encode()).decode()
        self.blob.stage_block(block_id, block, length=len(block))
        self._block_ids.append(block_id)


def azure_blob_upload(
    wasb_conn_id: str, container: str, key: str, *, content_type: str, metadata: Mapping[str, str]
) -> AzureBlobUpload:
    """An upload through Airflow's ``WasbHook`` for ``wasb_conn_id`` (shared key, SAS, service
    principal, managed identity or a connection string)."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    blob = WasbHook(wasb_conn_id=wasb_conn_id).get_conn().get_blob_client(container, key)
    return AzureBlobUpload(blob, content_type=content_type, metadata=metadata)
