"""When a failed request may be sent again, and after how long.

The rule that matters most: a generation request costs money, so it is re-sent only when the
vendor cannot have accepted it: the connection never opened, the vendor said 429, or the vendor
answered with an explicit error. Anything that leaves the outcome unknown (a read timeout, a
dropped connection, an unreadable answer) is raised as ``NanoBananaSubmissionUnknownError``
instead. Status polls cost nothing and are retried on every transient failure.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from airflow_provider_nanobanana.exceptions import (
    NanoBananaError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
    NanoBananaSubmissionUnknownError,
    NanoBananaTimeoutError,
)

# httpx errors raised before a single byte of the request reached the vendor.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; ``max_retries`` extra attempts after the first.

    ``max_wait`` caps any single pause, including a vendor's Retry-After: a longer requested wait
    is surfaced as ``NanoBananaRateLimitError`` so Airflow's own retry (which frees the worker)
    takes over instead of a sleeping task.
    """

    max_retries: int = 3
    base_delay: float = 1.0
    max_wait: float = 60.0

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_wait, self.base_delay * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)

    def delay_before_retry(
        self, error: BaseException, *, attempt: int, is_submission: bool, vendor: str, endpoint: str
    ) -> float:
        """Return how long to wait before attempt ``attempt + 1``, or raise what the caller should see."""
        final = translate(error, is_submission=is_submission, vendor=vendor, endpoint=endpoint)
        retryable = isinstance(error, _NEVER_SENT) or isinstance(final, NanoBananaRateLimitError)
        if not is_submission:
            retryable = retryable or isinstance(final, NanoBananaServerError | NanoBananaTimeoutError)
        elif isinstance(final, NanoBananaServerError) and not isinstance(error, httpx.TransportError):
            retryable = True  # the vendor answered with an explicit error: nothing was created
        if not retryable or attempt >= self.max_retries:
            raise final from (None if final is error else error)
        delay = self.backoff(attempt)
        if isinstance(final, NanoBananaRateLimitError) and final.retry_after is not None:
            if final.retry_after > self.max_wait:
                raise final
            delay = max(delay, final.retry_after)
        return delay


def translate(error: BaseException, *, is_submission: bool, vendor: str, endpoint: str) -> BaseException:
    """Turn an httpx transport error into the provider's typed error; pass typed errors through."""
    if isinstance(error, NanoBananaError) or not isinstance(error, httpx.TransportError):
        return error
    reason = type(error).__name__
    if is_submission and not isinstance(error, _NEVER_SENT):
        return NanoBananaSubmissionUnknownError(
            f"{vendor} {endpoint}: the request was sent but no answer came back ({reason}), so the "
            "vendor may have accepted it. It was not re-sent, to avoid paying twice; check the "
            "vendor's dashboard or webhook before submitting again.",
            vendor=vendor,
        )
    if isinstance(error, httpx.TimeoutException):
        return NanoBananaTimeoutError(f"{vendor} {endpoint}: request timed out ({reason}).", vendor=vendor)
    return NanoBananaServerError(
        f"{vendor} {endpoint}: could not reach the vendor ({reason}).", vendor=vendor
    )


def retry_after_seconds(headers: httpx.Headers, body_value: object = None) -> float | None:
    """Read the wait a 429 asks for from ``Retry-After``, a body ``retry_after`` or ``X-RateLimit-Reset``."""
    header = headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    if isinstance(body_value, int | float) and not isinstance(body_value, bool):
        return max(0.0, float(body_value))
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            pass
    return None
