"""Ride out a short S3 outage while landing: the images are already paid for.

botocore retries a failed call a few times within seconds; an endpoint that is down for half a
minute outlasts that, and failing then strands images the vendor may delete. So an upload that
fails for a reason that can pass (no connection, a timeout, throttling, a 5xx) is tried again
with doubling pauses until ``window`` seconds have gone by; an error that cannot pass (access
denied, no such bucket) fails at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from airflow_provider_nanobanana.stores.retries import ride_out

T = TypeVar("T")

DEFAULT_S3_RETRY_SECONDS = 120.0
_TRANSIENT_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException"}
)


def is_transient(error: BaseException) -> bool:
    """Whether an S3 failure can go away by itself (boto3 wraps client errors of uploads)."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectionError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(error, S3UploadFailedError):
        cause = error.__cause__ or error.__context__
        return cause is None or is_transient(cause)
    if isinstance(error, ConnectionError | ConnectionClosedError | EndpointConnectionError):
        return True
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return True
    if isinstance(error, ClientError):
        answer = error.response
        status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or answer.get("Error", {}).get("Code") in _TRANSIENT_CODES
    return False


def with_s3_retries(
    action: Callable[[], T],
    *,
    window: float,
    what: str,
    log: logging.Logger | logging.LoggerAdapter,
    before_retry: Callable[[], None] = lambda: None,
) -> T:
    """:func:`~airflow_provider_nanobanana.stores.retries.ride_out` for S3 calls."""
    return ride_out(
        action,
        window=window,
        what=what,
        log=log,
        store="S3",
        transient=is_transient,
        before_retry=before_retry,
    )
