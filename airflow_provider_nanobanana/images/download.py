"""Fetch one image of a finished job, verified, without holding a large body in memory.

The body streams into memory up to :data:`SPOOL_BYTES` and into a temporary file on this worker's
disk beyond, while its sha256 is computed; only a complete body whose magic bytes are an
image comes back. Nothing is written anywhere else until then, so a bad download can never leave
a partial object in S3. The spool lives only as long as the task that made it.

Downloads cost nothing, so transient failures (connection errors, 429, 5xx, a body cut short)
are retried a few times; a missing link (404/410/403) or a body that is not an image fails at
once. Errors name the job, the image index and the URL host, never the query string.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import tempfile
import time
from dataclasses import dataclass
from typing import IO

import httpx

from airflow_provider_nanobanana.exceptions import (
    NanoBananaImageExpiredError,
    NanoBananaImageTransferError,
    NanoBananaImageTruncatedError,
    NanoBananaNotAnImageError,
)
from airflow_provider_nanobanana.hooks.retry import RetryPolicy, retry_after_seconds
from airflow_provider_nanobanana.images.formats import SNIFF_BYTES, ImageFormat, describe, sniff

SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
PROGRESS_BYTES = 32 * 1024 * 1024
_GONE = (403, 404, 410)


class _HideQueryStrings(logging.Filter):
    """httpx logs every request URL at INFO, and Airflow task logs show INFO; image links may be
    signed, so query strings are cut from those lines (the filter object is added only once)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and arg.query else arg
                for arg in record.args
            )
        return True


_HIDE_QUERY_STRINGS = _HideQueryStrings()
logging.getLogger("httpx").addFilter(_HIDE_QUERY_STRINGS)


@dataclass(frozen=True)
class ImageRef:
    """One image of a finished job: a URL to download, or the base64 text the vendor returned."""

    vendor: str
    job_id: str
    index: int
    url: str | None = None
    base64_data: str | None = None

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host if self.url else "inline base64"

    def __str__(self) -> str:
        return f"{self.vendor} job {self.job_id} image {self.index} (from {self.host})"

    def error(self, error_class: type[NanoBananaImageTransferError], problem: str, **kwargs) -> Exception:
        return error_class(
            f"{self}: {problem}",
            job_id=self.job_id,
            index=self.index,
            host=self.host,
            vendor=self.vendor,
            **kwargs,
        )


@dataclass
class VerifiedImage:
    """A complete image body, ready to upload: rewound, with its size, checksum and real format."""

    ref: ImageRef
    body: IO[bytes]
    size: int
    sha256: str
    format: ImageFormat
    path: str | None = None  # set when the body spilled to disk; deleted by close()

    def close(self) -> None:
        self.body.close()


class _Retryable(Exception):
    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _Base64Stream:
    """Decode base64 text arriving in arbitrary chunks (ModelsLab's ``.base64`` files)."""

    def __init__(self, ref: ImageRef) -> None:
        self._ref = ref
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk.translate(None, b" \t\r\n")
        whole = len(data) - len(data) % 4
        self._pending = data[whole:]
        try:
            return base64.b64decode(data[:whole], validate=True)
        except (binascii.Error, ValueError):
            raise self._ref.error(NanoBananaNotAnImageError, "the .base64 body is not base64 text") from None

    def finish(self) -> None:
        if self._pending:
            raise _Retryable(self._ref.error(NanoBananaImageTruncatedError, "the base64 text ends mid-way"))


class _Spool:
    """Collects a body: bytes in memory up to :data:`SPOOL_BYTES`, then a named temporary file
    (so the S3 upload can read parts from disk lazily), a running sha256, the size and the head."""

    def __init__(self, ref: ImageRef) -> None:
        self.ref = ref
        self.file: IO[bytes] = io.BytesIO()
        self.path: str | None = None
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""

    def write(self, data: bytes) -> None:
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self.digest.update(data)
        if self.path is None and self.size + len(data) > SPOOL_BYTES:
            spilled = tempfile.NamedTemporaryFile(prefix="nanobanana-", suffix=".img")  # noqa: SIM115
            spilled.write(self.file.getvalue())
            self.file, self.path = spilled, spilled.name
        self.file.write(data)
        self.size += len(data)

    def finish(self) -> VerifiedImage:
        image_format = sniff(self.head)
        if image_format is None:
            raise self.ref.error(
                NanoBananaNotAnImageError,
                f"the body is not a PNG, JPEG, WebP or GIF image ({self.size} bytes starting "
                f"{describe(self.head)})",
            )
        self.file.flush()
        self.file.seek(0)
        return VerifiedImage(self.ref, self.file, self.size, self.digest.hexdigest(), image_format, self.path)


def fetch_image(
    ref: ImageRef, client: httpx.Client, *, retry: RetryPolicy, log: logging.Logger
) -> VerifiedImage:
    """Download (or decode) and verify one image; raise a ``NanoBananaImageTransferError`` subclass."""
    if ref.base64_data is not None:
        return _decode_inline(ref)
    attempt = 0
    while True:
        try:
            return _download(ref, client, log)
        except _Retryable as failure:
            if attempt >= retry.max_retries:
                raise failure.error from None
            delay = max(retry.backoff(attempt), failure.retry_after or 0.0)
            log.warning(
                "%s; download attempt %d failed, retrying in %.1f s.", failure.error, attempt + 1, delay
            )
            time.sleep(delay)
            attempt += 1


def _decode_inline(ref: ImageRef) -> VerifiedImage:
    spool = _Spool(ref)
    try:
        stream = _Base64Stream(ref)
        spool.write(stream.feed(ref.base64_data.encode("ascii", errors="replace")))
        stream.finish()
        return spool.finish()
    except _Retryable as failure:  # inline text cannot get better by asking again
        spool.file.close()
        raise failure.error from None
    except BaseException:
        spool.file.close()
        raise


def _download(ref: ImageRef, client: httpx.Client, log: logging.Logger) -> VerifiedImage:
    spool = _Spool(ref)
    try:
        with client.stream("GET", ref.url) as response:
            _check_status(ref, response)
            declared = _declared_length(response)
            decoder = _Base64Stream(ref) if response.url.path.endswith(".base64") else None
            next_report = PROGRESS_BYTES
            try:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    spool.write(decoder.feed(chunk) if decoder else chunk)
                    if response.num_bytes_downloaded >= next_report:
                        log.info(
                            "%s: %s downloaded%s",
                            ref,
                            _mib(response.num_bytes_downloaded),
                            f" of {_mib(declared)}" if declared else "",
                        )
                        next_report += PROGRESS_BYTES
            except (httpx.RemoteProtocolError, httpx.ReadError) as error:
                raise _Retryable(_truncated(ref, response.num_bytes_downloaded, declared, error)) from None
            if declared is not None and response.num_bytes_downloaded < declared:
                raise _Retryable(_truncated(ref, response.num_bytes_downloaded, declared))
            if decoder:
                decoder.finish()
        return spool.finish()
    except httpx.TransportError as error:
        spool.file.close()
        problem = f"download failed ({type(error).__name__})"
        raise _Retryable(ref.error(NanoBananaImageTransferError, problem)) from None
    except BaseException:
        spool.file.close()
        raise


def _check_status(ref: ImageRef, response: httpx.Response) -> None:
    status = response.status_code
    if status in _GONE:
        raise ref.error(
            NanoBananaImageExpiredError,
            f"HTTP {status}: the link has expired or the image was deleted",
            status_code=status,
        )
    if status == 429 or status >= 500:
        error = ref.error(
            NanoBananaImageTransferError, f"HTTP {status} from the image host", status_code=status
        )
        raise _Retryable(error, retry_after_seconds(response.headers))
    if status >= 400:
        raise ref.error(
            NanoBananaImageTransferError, f"HTTP {status} from the image host", status_code=status
        )


def _declared_length(response: httpx.Response) -> int | None:
    """The announced body size; compared with raw bytes received, so content encoding cannot fool it."""
    value = response.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


def _truncated(
    ref: ImageRef, received: int, declared: int | None, cause: Exception | None = None
) -> Exception:
    expected = f" of the {declared} announced by Content-Length" if declared is not None else ""
    reason = f" ({type(cause).__name__})" if cause else ""
    return ref.error(
        NanoBananaImageTruncatedError, f"the body ended after {received} bytes{expected}{reason}"
    )


def _mib(size: int | None) -> str:
    return f"{(size or 0) / 1024 / 1024:.1f} MiB"
