"""Before anything is paid for: the GCS bucket, Azure container or local directory is there and
the connection reaches it (S3's own check is ``s3/bucket_check.py``).

Like ``HeadBucket`` on S3, each check proves existence and that the credentials reach the
store, not the right to write (that only writing proves); a write refused later fails the task
without retries too, naming the paid images.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError
from airflow_provider_nanobanana.stores.location import Location

if TYPE_CHECKING:
    from airflow_provider_nanobanana.stores.destination import Destination

_REMEDY = "\nNo retry can fix this: correct the destination or the connection, then clear the task."


def check_destination(destination: Destination, log: logging.Logger) -> None:
    """Before the first paid request (and in a dry run): the :meth:`~Destination.checked`
    destination's bucket, container or directory is there and its connection reaches it."""
    if destination.location.store.scheme == "s3":
        from airflow_provider_nanobanana.s3.bucket_check import check_bucket

        check_bucket(destination, log)
    else:
        check_container(destination.location, destination.store_conn_id, log)


def check_container(location: Location, conn_id: str | None, log: logging.Logger) -> None:
    """Raise :class:`NanoBananaDestinationError` unless ``location``'s container is there."""
    scheme = location.store.scheme
    if scheme == "gs":
        from airflow.providers.google.cloud.hooks.gcs import GCSHook

        found = GCSHook(gcp_conn_id=conn_id).get_conn().lookup_bucket(location.container) is not None
        what = f"GCS bucket {location.container!r}"
    elif scheme in ("wasb", "abfs"):  # ADLS too through its blob endpoint, where images go
        from airflow_provider_nanobanana.stores.azure import blob_service

        _, service = blob_service(scheme, conn_id)
        found = service.get_container_client(location.container).exists()
        what = f"Azure container {location.container!r} of {location.account}"
    elif scheme == "file":
        # Folders below it are made as images land (a run's date, say): what must be there is
        # the nearest one that exists, and writable.
        wanted = Path("/", location.prefix)
        directory = next(path for path in (wanted, *wanted.parents) if path.exists())
        found = directory.is_dir() and os.access(directory, os.W_OK | os.X_OK)
        what = f"path {directory}" + (
            "" if directory == wanted else f" (the nearest existing part of {wanted})"
        )
    else:
        raise ValueError(f"{scheme}:// is checked by s3/bucket_check.py")
    if not found:
        by = f" to conn_id={conn_id!r}" if conn_id else ""
        problem = (
            "is not a directory this worker may write"
            if scheme == "file"
            else f"does not exist or is not visible{by}"
        )
        raise NanoBananaDestinationError(f"The {what} {problem}.{_REMEDY}", uri=location.uri, conn_id=conn_id)
    log.info("The %s is there and this connection reaches it.", what)
