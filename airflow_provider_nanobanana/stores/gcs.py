"""Write one image to Google Cloud Storage while its body is still arriving, visible only when whole.

GCS's resumable upload is the one way there: a session is opened with the object's name and
metadata, chunks of a multiple of 256 KiB go up as they fill, and the object exists only once
a chunk says how long the whole body is. That chunk is held back until the body has ended and
been verified, so memory stays near two chunks whatever the image's size and a body cut short
never becomes an object; :meth:`GcsObjectUpload.abort` cancels the session.
(https://cloud.google.com/storage/docs/performing-resumable-uploads)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from airflow_provider_nanobanana.stores.pending import PendingBytes

GCS_ENDPOINT = "https://storage.googleapis.com"
CHUNK_UNIT = 256 * 1024  # every chunk but the last is a multiple of this
DEFAULT_CHUNK_BYTES = 32 * CHUNK_UNIT  # 8 MiB, as S3's parts
_RESUME_INCOMPLETE = 308


class GcsUploadError(RuntimeError):
    """GCS refused a step of the upload; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GcsObjectUpload:
    """Receives a body in pieces (:meth:`write`), then :meth:`complete` or :meth:`abort`.

    :param session: an authorised ``requests`` session (``google.auth``'s ``AuthorizedSession``).
    :param endpoint: GCS's JSON API root, or an emulator's.
    """

    def __init__(
        self,
        session: Any,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        endpoint: str = GCS_ENDPOINT,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if chunk_bytes <= 0 or chunk_bytes % CHUNK_UNIT:
            raise ValueError(f"chunk_bytes must be a positive multiple of {CHUNK_UNIT}, not {chunk_bytes}")
        self.session, self.bucket, self.key = session, bucket, key
        self.content_type, self.metadata = content_type, dict(metadata)
        self.endpoint, self.chunk_bytes = endpoint.rstrip("/"), chunk_bytes
        self._session_uri: str | None = None
        self._pending = PendingBytes()
        self._sent = 0

    def write(self, data: bytes) -> None:
        self._pending.add(data)
        # Strictly more than a chunk: at least one byte is left for the chunk that finalises.
        while self._pending.size > self.chunk_bytes:
            self._send(self._pending.take(self.chunk_bytes), total=None)

    def complete(self, metadata_if_single: Mapping[str, str]) -> None:
        """Send the held-back last chunk, which makes the object exist. Metadata went with the
        session's start, before the body's sha256 was known, unless the body is one chunk."""
        if self._session_uri is None:
            self.metadata.update(metadata_if_single)
        last = self._pending.take(self._pending.size)
        self._send(last, total=self._sent + len(last))

    def abort(self) -> None:
        """Cancel the session: GCS then discards what it received."""
        self._pending.clear()
        if self._session_uri is not None:
            self.session.delete(self._session_uri)
            self._session_uri = None

    def _open_session(self) -> str:
        url = f"{self.endpoint}/upload/storage/v1/b/{quote(self.bucket, safe='')}/o"
        answer = self.session.post(
            url,
            params={"uploadType": "resumable", "name": self.key},
            data=json.dumps({"name": self.key, "contentType": self.content_type, "metadata": self.metadata}),
            headers={"Content-Type": "application/json", "X-Upload-Content-Type": self.content_type},
        )
        if answer.status_code != 200 or "Location" not in answer.headers:
            raise GcsUploadError(self._refusal("starting", answer), answer.status_code)
        return answer.headers["Location"]

    def _send(self, chunk: bytes, *, total: int | None) -> None:
        if self._session_uri is None:
            self._session_uri = self._open_session()
        end = self._sent + len(chunk) - 1
        span = f"bytes {self._sent}-{end}" if chunk else "bytes *"
        answer = self.session.put(
            self._session_uri,
            data=chunk,
            headers={"Content-Range": f"{span}/{'*' if total is None else total}"},
        )
        expected = (_RESUME_INCOMPLETE,) if total is None else (200, 201)
        if answer.status_code not in expected:
            raise GcsUploadError(self._refusal("sending", answer), answer.status_code)
        self._sent += len(chunk)

    def _refusal(self, step: str, answer: Any) -> str:
        return (
            f"GCS answered {answer.status_code} {step} the upload of gs://{self.bucket}/{self.key}: "
            f"{answer.text[:300]}"
        )


def gcs_object_upload(
    gcp_conn_id: str, bucket: str, key: str, *, content_type: str, metadata: Mapping[str, str]
) -> GcsObjectUpload:
    """An upload authorised as Airflow's ``GCSHook`` is for ``gcp_conn_id`` (key file, workload
    identity or ``is_anonymous``), to the endpoint its client uses (``STORAGE_EMULATOR_HOST``
    included)."""
    from airflow.providers.google.cloud.hooks.gcs import GCSHook
    from google.auth.transport.requests import AuthorizedSession

    hook = GCSHook(gcp_conn_id=gcp_conn_id)
    return GcsObjectUpload(
        AuthorizedSession(hook.get_credentials()),
        bucket,
        key,
        content_type=content_type,
        metadata=metadata,
        endpoint=hook.get_conn().api_endpoint,
    )
