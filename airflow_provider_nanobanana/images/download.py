"""Fetch one image of a finished job, verified, into a sink that writes it on as it arrives.

The body is hashed and counted as it streams; nothing reaches the sink until its first bytes
prove it an image, and the sink is told to complete only once the whole body has arrived (length
checked against Content-Length, base64 fully decoded). Any failure aborts the sink, so a sink
that makes nothing visible before completing (:class:`~airflow_provider_nanobanana.s3.upload.ObjectUpload`)
never leaves a partial object behind.

Downloads cost nothing, so transient failures (connection errors, 429, 5xx, a body cut short)
are retried a few times, each into a new sink; a missing link (404/410/403) or a body that is
not an image fails at once. Errors name the job, the image index and the URL host, never the
query string.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Protocol, TypeVar

import httpx

from airflow_provider_nanobanana.exceptions import (
    NanoBananaImageExpiredError,
    NanoBananaImageTransferError,
    NanoBananaImageTruncatedError,
    NanoBananaNotAnImageError,
)
from airflow_provider_nanobanana.hooks.retry import RetryPolicy, retry_after_seconds
from airflow_provider_nanobanana.images.formats import SNIFF_BYTES, ImageFormat, describe, sniff

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
    """One image of a finished job: a URL to download, the base64 text the vendor returned, or
    the decoded bytes in a spool file (Gemini answers, read as they streamed)."""

    vendor: str
    job_id: str
    index: int
    url: str | None = None
    base64_data: str | None = None
    spool: IO[bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host if self.url else "inline data"

    @property
    def inline(self) -> bool:
        return self.base64_data is not None or self.spool is not None

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


T = TypeVar("T")


class BodySink(Protocol[T]):
    """Where a body goes while it downloads: told its format first, then fed, then completed with
    the body's size and sha256 (returning what the caller wants back), or aborted."""

    def begin(self, image_format: ImageFormat) -> None: ...

    def write(self, data: bytes) -> None: ...

    def complete(self, size: int, sha256: str) -> T: ...

    def abort(self) -> None: ...


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


class _VerifiedStream:
    """Hashes and counts a body, holds back its head until it proves an image, feeds the sink."""

    def __init__(self, ref: ImageRef, sink: BodySink[T]) -> None:
        self.ref = ref
        self.sink = sink
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.started = False

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        if not self.started:
            self.head += data
            if len(self.head) < SNIFF_BYTES:
                return
            data = self._begin()
        self.sink.write(data)

    def finish(self) -> T:
        if not self.started:
            self.sink.write(self._begin())
        return self.sink.complete(self.size, self.digest.hexdigest())

    def _begin(self) -> bytes:
        image_format = sniff(self.head)
        if image_format is None:
            raise self.ref.error(
                NanoBananaNotAnImageError,
                f"the body is not a PNG, JPEG, WebP or GIF image ({self.size} bytes starting "
                f"{describe(self.head)})",
            )
        self.sink.begin(image_format)
        self.started = True
        held, self.head = self.head, self.head[:SNIFF_BYTES]
        return held


def fetch_image(
    ref: ImageRef,
    client: httpx.Client,
    open_sink: Callable[[], BodySink[T]],
    *,
    retry: RetryPolicy,
    log: logging.Logger,
) -> T:
    """Download (or decode) and verify one image into a new sink per attempt; return what the
    completed sink returns, or raise a ``NanoBananaImageTransferError`` subclass."""
    attempt = 0
    while True:
        sink = open_sink()
        try:
            if ref.spool is not None:
                return _copy_spool(ref, sink)
            if ref.base64_data is not None:
                return _decode_inline(ref, sink)
            return _download(ref, client, sink, log)
        except _Retryable as failure:
            sink.abort()
            if attempt >= retry.max_retries or ref.inline:
                raise failure.error from None  # inline text cannot get better by asking again
            delay = max(retry.backoff(attempt), failure.retry_after or 0.0)
            log.warning(
                "%s; download attempt %d failed, retrying in %.1f s.", failure.error, attempt + 1, delay
            )
            time.sleep(delay)
            attempt += 1
        except BaseException:
            sink.abort()
            raise


def _decode_inline(ref: ImageRef, sink: BodySink[T]) -> T:
    stream = _VerifiedStream(ref, sink)
    decoder = _Base64Stream(ref)
    stream.write(decoder.feed(ref.base64_data.encode("ascii", errors="replace")))
    decoder.finish()
    return stream.finish()


def _copy_spool(ref: ImageRef, sink: BodySink[T]) -> T:
    assert ref.spool is not None
    stream = _VerifiedStream(ref, sink)
    ref.spool.seek(0)
    while chunk := ref.spool.read(CHUNK_BYTES):
        stream.write(chunk)
    return stream.finish()


def _download(ref: ImageRef, client: httpx.Client, sink: BodySink[T], log: logging.Logger) -> T:
    stream = _VerifiedStream(ref, sink)
    try:
        with client.stream("GET", ref.url) as response:
            _check_status(ref, response)
            declared = _declared_length(response)
            decoder = _Base64Stream(ref) if response.url.path.endswith(".base64") else None
            next_report = PROGRESS_BYTES
            try:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    stream.write(decoder.feed(chunk) if decoder else chunk)
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
    except httpx.TransportError as error:
        problem = f"download failed ({type(error).__name__})"
        raise _Retryable(ref.error(NanoBananaImageTransferError, problem)) from None
    return stream.finish()


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
