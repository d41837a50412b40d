"""How often to ask a vendor about a job, and what a finished job means for the task.

The hook's blocking wait and the deferrable trigger both use these two functions, so a job waited
on in a worker and one waited on in the triggerer are polled alike and fail with the same error.
"""

from __future__ import annotations

from airflow_provider_nanobanana.exceptions import NanoBananaJobFailedError
from airflow_provider_nanobanana.jobs import ImageJobResult

MIN_POLL_DELAY = 0.5
MAX_ETA_DELAY = 60.0
BACKOFF_CEILING = 30.0
# Poll at this share of the vendor's eta. Estimates run up to about ±25% off, so polling at 3/4
# rarely lands after the job finished, and each poll cuts the wait left to about a quarter: a
# 60 s job is noticed within a second of finishing for about five requests.
ETA_SHARE = 0.75
_BACKOFF = 1.5


def delay_for_eta(eta_seconds: float) -> float:
    """Seconds until the poll that should find a job the vendor expects in ``eta_seconds``."""
    return min(max(eta_seconds * ETA_SHARE, MIN_POLL_DELAY), MAX_ETA_DELAY)


def next_poll_delay(result: ImageJobResult, poll_interval: float, polls: int) -> float:
    """Seconds until the next poll of a pending job.

    A vendor's ``eta`` is the best guess there is, so it wins (ModelsLab re-estimates on every
    poll). Without one, start at ``poll_interval`` and back off gently, so long jobs cost few
    requests while short ones are still noticed quickly.
    """
    if result.eta_seconds is not None and result.eta_seconds > 0:
        return delay_for_eta(result.eta_seconds)
    ceiling = max(poll_interval, BACKOFF_CEILING)
    return min(max(poll_interval * _BACKOFF ** max(polls - 1, 0), MIN_POLL_DELAY), ceiling)


def job_failed_error(result: ImageJobResult) -> NanoBananaJobFailedError:
    """The error a task raises for a job the vendor reports as failed."""
    detail = result.error_message or "no reason given"
    code = f" [{result.error_code}]" if result.error_code else ""
    return NanoBananaJobFailedError(
        f"{result.vendor.value} job {result.job_id} failed: {detail}{code}",
        job_id=result.job_id,
        vendor=result.vendor.value,
        code=result.error_code,
    )
