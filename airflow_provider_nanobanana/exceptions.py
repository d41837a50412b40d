"""Every error the provider raises, one class per reaction a DAG author may want.

Airflow 3.3 retry policies match exceptions by import path, so each class here is a stable,
importable name: retry ``NanoBananaRateLimitError`` after its ``retry_after``, fail fast on
``NanoBananaContentPolicyError``, page someone on ``NanoBananaAuthenticationError``.
Messages never carry an API key; hooks scrub vendor text before it reaches these classes.

Errors no retry can fix (bad input, a refused prompt, an empty balance, a submission whose fate
is unknown) are also ``AirflowFailException``: Airflow fails the task at once instead of spending
its retries, while they stay catchable by their own names.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowFailException


class NanoBananaError(Exception):
    """Base class: catch this to handle anything the provider raises.

    ``vendor`` names who answered, ``code`` the vendor's own error code when it sent one, and
    ``status_code`` the HTTP status, so logs and retry rules can tell cases apart without
    parsing the message.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.code = code
        self.status_code = status_code


class NanoBananaFailsWithoutRetry(NanoBananaError, AirflowFailException):
    """Base of the errors a task retry cannot fix; Airflow fails the task without retrying."""


class NanoBananaInvalidRequestError(NanoBananaFailsWithoutRetry, ValueError):
    """The request breaks a documented constraint; raised before anything is sent where possible.

    ``field``, ``value`` and ``allowed`` say exactly what to change. A missing or mistyped
    connection is reported as this error too (field ``conn_id``).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        allowed: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.field = field
        self.value = value
        self.allowed = allowed


class NanoBananaAuthenticationError(NanoBananaError):
    """The API key is missing, wrong, expired or not allowed to call this endpoint."""


class NanoBananaQuotaError(NanoBananaFailsWithoutRetry):
    """Not enough credit or balance: retrying will not help until someone pays."""


class NanoBananaContentPolicyError(NanoBananaFailsWithoutRetry):
    """The vendor's safety policy refused the prompt or its images: change the prompt, do not retry."""


class NanoBananaRateLimitError(NanoBananaError):
    """Too many requests; ``retry_after`` is the vendor's requested wait in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class NanoBananaServerError(NanoBananaError):
    """The vendor failed (5xx, malformed answer) after the hook's own retries were spent."""


class NanoBananaSubmissionUnknownError(NanoBananaError):
    """A generation request was sent but no answer came back, so the vendor may have accepted it.

    The hook does not re-send such a request: that could pay twice. The operators record the
    attempt first, so their retry looks for the job (AceData) instead of paying again; see
    :class:`NanoBananaPossiblyBilledError` for when it cannot be found.
    """


class NanoBananaPossiblyBilledError(NanoBananaFailsWithoutRetry):
    """An earlier try sent a generation request whose answer was lost, and the job cannot be found.

    The vendor may have billed it. The task fails instead of submitting again; set
    ``on_unknown_submission="resubmit"`` on the operator to accept the risk of paying twice.
    """


class NanoBananaJobFailedError(NanoBananaError):
    """The vendor accepted the job and later reported that it failed."""

    def __init__(self, message: str, *, job_id: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.job_id = job_id


class NanoBananaJobNotFoundError(NanoBananaError):
    """The vendor does not know the job id (expired, foreign, or never created)."""

    def __init__(self, message: str, *, job_id: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.job_id = job_id


class NanoBananaTimeoutError(NanoBananaError):
    """A request or a wait ran past its time limit."""


class NanoBananaImageTransferError(NanoBananaError):
    """An image of a finished job could not be landed in S3.

    ``job_id`` and ``index`` say which image, ``host`` where it was downloaded from. Messages name
    the host only: vendor links may be signed, so a query string never reaches a log.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str | None = None,
        index: int | None = None,
        host: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.job_id = job_id
        self.index = index
        self.host = host


class NanoBananaDestinationError(NanoBananaFailsWithoutRetry):
    """The destination's bucket, container or directory does not exist, or the connection may
    not write there; checked before anything is paid for. ``uri`` and ``conn_id`` say which."""

    def __init__(self, message: str, *, uri: str, conn_id: str | None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.uri = uri
        self.conn_id = conn_id


class NanoBananaS3DestinationError(NanoBananaDestinationError):
    """The S3 bucket does not exist, or the Amazon connection may not use it.

    Checked before anything is paid for (``HeadBucket``, which needs ``s3:ListBucket``); an upload
    refused later (``s3:PutObject`` missing) raises it too, naming the paid images still at the
    vendor. No retry fixes a bucket name or a policy: fix them, then clear the task, which
    reattaches to what it paid for. ``bucket``, ``aws_conn_id`` and S3's error ``code`` say which.
    """

    def __init__(self, message: str, *, bucket: str, aws_conn_id: str | None, code: str, **kwargs) -> None:
        super().__init__(message, uri=f"s3://{bucket}", conn_id=aws_conn_id, **kwargs)
        self.bucket = bucket
        self.aws_conn_id = aws_conn_id
        self.code = code


class NanoBananaMissingImagesError(NanoBananaFailsWithoutRetry):
    """A transfer landed what it received, but upstream task instances delivered nothing.

    Retrying the transfer cannot help; re-run (clear) the failed upstream tasks, then the transfer.
    """


class NanoBananaImageExpiredError(NanoBananaImageTransferError):
    """The image link answered 404/410/403: ModelsLab deletes images after 24 hours unless the
    account has vendor-side S3 configured, so land images well within that window."""


class NanoBananaImageTruncatedError(NanoBananaImageTransferError):
    """The body ended before its ``Content-Length`` (or the base64 text was cut short)."""


class NanoBananaNotAnImageError(NanoBananaImageTransferError):
    """The body is not a PNG, JPEG, WebP or GIF by its magic bytes, whatever its Content-Type said."""


class NanoBananaBudgetError(NanoBananaFailsWithoutRetry):
    """``max_cost_usd`` stops the task: the estimate is above it (nothing was sent), a price it
    needs is unknown (nothing was sent), or a batch spent up to it (what was paid is landed).

    ``estimate_usd``, ``cap_usd`` and ``spent_usd`` say how much; a retry cannot change them, so
    the task fails at once. Raise the cap (it is templated) and clear the task: a batch then sends
    only the items it did not send.
    """

    def __init__(
        self,
        message: str,
        *,
        cap_usd: float,
        estimate_usd: float | None = None,
        spent_usd: float | None = None,
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.cap_usd = cap_usd
        self.estimate_usd = estimate_usd
        self.spent_usd = spent_usd


class NanoBananaBatchItemsFailedError(NanoBananaError):
    """More batch items failed than ``max_failed_items`` allows, some for reasons a retry can fix
    (a vendor job failure, the deadline): a retry sends or reattaches those only."""


class NanoBananaBatchItemsRefusedError(NanoBananaBatchItemsFailedError, NanoBananaFailsWithoutRetry):
    """More batch items failed than allowed, all for reasons no retry fixes (refusals, possibly
    billed answers lost): the task fails without retries."""
