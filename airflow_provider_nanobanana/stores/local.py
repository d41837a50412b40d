"""Write one image to a local (or mounted) file system so that nothing shows until it is whole.

The body goes to a hidden file beside the destination as it arrives; :meth:`LocalFileUpload.complete`
flushes it to disk and renames it into place. A rename within one directory is atomic on POSIX,
so a reader sees no file or the whole file, and a retry that writes the same key replaces it
with the same bytes. A failure, or a worker lost mid-write, leaves at most the hidden file, which
the next write of that key replaces.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError


class LocalFileUpload:
    """Receives a body in pieces (:meth:`write`), then :meth:`complete` or :meth:`abort`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self._file: BinaryIO | None = None

    multipart = False

    def write(self, data: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.partial.open("wb")
        self._file.write(data)

    def complete(self, metadata_if_single: Mapping[str, str]) -> None:
        """Make the file visible. A file system keeps no object metadata: the landing's record,
        manifest and asset event carry the sha256."""
        if self._file is None:  # an empty body
            self.write(b"")
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self.partial, self.path)
        _fsync_directory(self.path.parent)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.partial.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself, so a machine that loses power keeps the file it reported landed."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@dataclass(frozen=True)
class LocalWriter:
    """Files under one directory (``file:///directory``): a mounted volume every worker shares,
    since no task may rely on another task's local disk."""

    directory: Path
    log: logging.Logger
    hook = None  # no Airflow hook: lineage names the files by their URIs
    failures: tuple[type[BaseException], ...] = (OSError,)

    def upload(self, key: str, content_type: str, metadata: Mapping[str, str]) -> LocalFileUpload:
        return LocalFileUpload(self.directory / key)

    def link(self, key: str) -> str:
        return f"file://{quote(str(self.directory / key))}"

    def refusal(self, error: BaseException) -> NanoBananaDestinationError | None:
        """A directory this worker may not write, or that went away: no retry fixes either."""
        if not isinstance(error, PermissionError | FileNotFoundError | NotADirectoryError):
            return None
        return NanoBananaDestinationError(
            f"Could not write under {self.directory} ({error}).\nNo retry can fix this: make the "
            "directory writable by the workers, then clear the task.",
            uri=f"file://{self.directory}",
            conn_id=None,
        )
