"""Each store's side of a landing, behind one face, so landing, the batch manifest and the
transfer never ask which store they write to.

A writer opens one upload per object (``write`` the body as it arrives, then ``complete`` once
it is verified, or ``abort``; nothing shows before ``complete``), says the object's URI and the
link a person opens, which of its client's errors are the store's, and which of those no retry
fixes. Opening one builds the store's client once for every upload of a landing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError
    from airflow_provider_nanobanana.stores.destination import Destination


class ObjectUploadLike(Protocol):
    multipart: bool

    def write(self, data: bytes) -> None: ...
    def complete(self, metadata_if_single: Mapping[str, str]) -> None: ...
    def abort(self) -> None: ...


class StoreWriter(Protocol):
    hook: Any  # the Airflow hook the lineage collector is told about, if the store has one

    @property
    def failures(self) -> tuple[type[BaseException], ...]: ...
    def upload(self, key: str, content_type: str, metadata: Mapping[str, str]) -> ObjectUploadLike: ...
    def link(self, key: str) -> str: ...
    def refusal(self, error: BaseException) -> NanoBananaDestinationError | None: ...


def open_writer(destination: Destination, log: logging.Logger) -> StoreWriter:
    """The writer for a :meth:`~Destination.checked` destination's store."""
    location, conn_id, window = destination.location, destination.store_conn_id, destination.s3_retry_seconds
    scheme = location.store.scheme
    if scheme == "s3":
        from airflow_provider_nanobanana.s3.writer import S3Writer

        return S3Writer.open(destination, log)
    if scheme == "gs":
        from airflow_provider_nanobanana.stores.gcs import GcsWriter

        return GcsWriter.open(location.container, conn_id, window, log)
    if scheme in ("wasb", "abfs"):
        from airflow_provider_nanobanana.stores.azure import AzureWriter

        assert location.account is not None
        return AzureWriter.open(scheme, location.container, location.account, conn_id, window, log)
    from airflow_provider_nanobanana.stores.local import LocalWriter

    return LocalWriter(Path(location.container), log)
