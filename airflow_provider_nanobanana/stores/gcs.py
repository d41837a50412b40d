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
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError
from airflow_provider_nanobanana.stores.pending import PendingBytes
from airflow_provider_nanobanana.stores.retries import ride_out

GCS_ENDPOINT = "https://storage.googleapis.com"
CHUNK_UNIT = 256 * 1024  # every chunk but the last is a multiple of this
DEFAULT_CHUNK_BYTES = 32 * CHUNK_UNIT  # 8 MiB, as S3's parts
_RESUME_INCOMPLETE = 308
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_REFUSED_STATUS = {401: "refused the credentials", 403: "refused access", 404: "has no such bucket"}
_CONSOLE = "https://console.cloud.google.com/storage/browser/_details/{bucket}/{key}"


class GcsUploadError(RuntimeError):
    """GCS refused a step of the upload; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GcsObjectUpload:
    """Receives a body in pieces (:meth:`write`), then :meth:`complete` or :meth:`abort`.

    :param session: an authorised ``requests`` session (``google.auth``'s ``AuthorizedSession``).
    :param endpoint: GCS's JSON API root, or an emulator's.
    :param retry_window: seconds each request rides out an outage (a chunk sent again is
        safe: GCS ignores bytes it already persisted).
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
        retry_window: float = 0.0,
        log: logging.Logger | None = None,
    ) -> None:
        if chunk_bytes <= 0 or chunk_bytes % CHUNK_UNIT:
            raise ValueError(f"chunk_bytes must be a positive multiple of {CHUNK_UNIT}, not {chunk_bytes}")
        self.session, self.bucket, self.key = session, bucket, key
        self.content_type, self.metadata = content_type, dict(metadata)
        self.endpoint, self.chunk_bytes = endpoint.rstrip("/"), chunk_bytes
        self._session_uri: str | None = None
        self.retry_window, self.log = retry_window, log or logging.getLogger(__name__)
        self._pending = PendingBytes()
        self._sent = 0

    @property
    def multipart(self) -> bool:
        """Whether the body went up in more than one chunk."""
        return self._sent > 0 and self._session_uri is not None

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
            session_uri, self._session_uri = self._session_uri, None
            self.session.delete(session_uri)

    def _open_session(self) -> str:
        return self._ride_out(self._start, "the start of the upload")

    def _start(self) -> str:
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
        headers = {"Content-Range": f"{span}/{'*' if total is None else total}"}
        expected = (_RESUME_INCOMPLETE,) if total is None else (200, 201)

        def put() -> None:
            answer = self.session.put(self._session_uri, data=chunk, headers=headers)
            if answer.status_code not in expected:
                raise GcsUploadError(self._refusal("sending", answer), answer.status_code)

        self._ride_out(put, f"bytes {self._sent}-{end}")
        self._sent += len(chunk)

    def _ride_out(self, action: Any, what: str) -> Any:
        return ride_out(
            action,
            window=self.retry_window,
            what=f"{what} of gs://{self.bucket}/{self.key}",
            log=self.log,
            store="GCS",
            transient=is_transient,
        )

    def _refusal(self, step: str, answer: Any) -> str:
        return (
            f"GCS answered {answer.status_code} {step} the upload of gs://{self.bucket}/{self.key}: "
            f"{answer.text[:300]}"
        )


def is_transient(error: BaseException) -> bool:
    """Whether a GCS failure can go away by itself: no connection, a timeout, 408, 429 or 5xx."""
    import requests
    from google.auth.exceptions import TransportError

    if isinstance(error, GcsUploadError):
        return error.status in _TRANSIENT_STATUS
    return isinstance(error, requests.ConnectionError | requests.Timeout | TransportError)


@dataclass(frozen=True)
class GcsWriter:
    """Uploads to one bucket, authorised as Airflow's ``GCSHook`` is for ``conn_id`` (key file,
    workload identity or ``is_anonymous``), to the endpoint its client uses
    (``STORAGE_EMULATOR_HOST`` included)."""

    hook: Any
    credentials: Any
    endpoint: str
    bucket: str
    conn_id: str | None
    retry_window: float
    log: logging.Logger

    @classmethod
    def open(cls, bucket: str, conn_id: str | None, retry_window: float, log: logging.Logger) -> GcsWriter:
        from airflow.providers.google.cloud.hooks.gcs import GCSHook

        hook = GCSHook(gcp_conn_id=conn_id)
        return cls(
            hook, hook.get_credentials(), hook.get_conn().api_endpoint, bucket, conn_id, retry_window, log
        )

    @property
    def failures(self) -> tuple[type[BaseException], ...]:
        import requests
        from google.auth.exceptions import GoogleAuthError

        return GcsUploadError, requests.RequestException, GoogleAuthError

    def upload(self, key: str, content_type: str, metadata: Mapping[str, str]) -> GcsObjectUpload:
        from google.auth.transport.requests import AuthorizedSession

        # A session per upload: uploads run on several threads, and requests' sessions are not
        # meant to be shared between them.
        return GcsObjectUpload(
            AuthorizedSession(self.credentials),
            self.bucket,
            key,
            content_type=content_type,
            metadata=metadata,
            endpoint=self.endpoint,
            retry_window=self.retry_window,
            log=self.log,
        )

    def link(self, key: str) -> str:
        if self.endpoint.rstrip("/") != GCS_ENDPOINT:  # an emulator: the object's media URL
            return f"{self.endpoint.rstrip('/')}/storage/v1/b/{self.bucket}/o/{quote(key, safe='')}?alt=media"
        return _CONSOLE.format(bucket=self.bucket, key=quote(key))

    def refusal(self, error: BaseException) -> NanoBananaDestinationError | None:
        """The typed error for an answer no retry changes (no bucket, access refused), or None."""
        if not isinstance(error, GcsUploadError) or error.status not in _REFUSED_STATUS:
            return None
        return NanoBananaDestinationError(
            f"GCS {_REFUSED_STATUS[error.status]} for gs://{self.bucket} with conn_id={self.conn_id!r} "
            f"({error}); it needs storage.objects.create on the bucket.\nNo retry can fix this: "
            "correct the bucket or the permissions, then clear the task.",
            uri=f"gs://{self.bucket}",
            conn_id=self.conn_id,
        )
