"""How often to ask a vendor about a job, and what a finished job means for the task.

The hook's blocking wait and the deferrable trigger both use these two functions, so a job waited
on in a worker and one waited on in the triggerer are polled alike and fail with the same error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.exceptions import (
    NanoBananaJobFailedError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.jobs import ImageJobResult

MIN_POLL_DELAY = 0.5
MAX_ETA_DELAY = 60.0
BACKOFF_CEILING = 30.0
# Poll at this share of the vendor's eta. Estimates run up to about ±25% off, so polling at 3/4
# rarely lands after the job finished, and each poll cuts the wait left to about a quarter: a
# 60 s job is noticed within a second of finishing for about five requests.
ETA_SHARE = 0.75
_BACKOFF = 1.5
# A poll that failed for one of these says nothing about the job: keep waiting until the deadline.
TRANSIENT_POLL_ERRORS = (NanoBananaServerError, NanoBananaTimeoutError, NanoBananaRateLimitError)
# The longest pause between polls while the vendor cannot be reached.
OUTAGE_DELAY_CEILING = 60.0
# Progress lines of a wait: one after the first poll, then at most one per this share of the time
# waited so far, between the floor and the ceiling: a 10-minute wait logs about a dozen lines,
# an hour's about twenty, however often its vendor is polled.
PROGRESS_SHARE = 0.2
PROGRESS_FLOOR = 30.0
PROGRESS_CEILING = 300.0
# The default of ``[nanobanana] min_deferral_seconds`` (see :func:`min_deferral`).
MIN_DEFERRAL = 15.0


def min_deferral() -> float:
    """Seconds after a deferral before its trigger's first poll: ``[nanobanana]
    min_deferral_seconds``, 15 by default.

    Airflow (3.2, 3.3) fails a try whose trigger fires before the scheduler has handled the
    executor's "success" of the process that deferred, and can even overwrite the resumed try's
    recorded success with a retry (apache/airflow#67287, #71580, #72716; README, "Airflow's
    defer-exit race"). ``dag.test()`` has no scheduler to race: 0 is safe there.
    """
    from airflow.providers.common.compat.sdk import conf

    return conf.getfloat("nanobanana", "min_deferral_seconds", fallback=MIN_DEFERRAL)


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


@dataclass
class VendorOutage:
    """Consecutive failed polls of one wait: the pause before the next, and what to tell a person.

    A paid job keeps running while its vendor's API is down, so a wait polls on, doubling its
    pause from ``poll_interval`` up to :data:`OUTAGE_DELAY_CEILING` (or the vendor's
    Retry-After), until its own deadline. It logs when the vendor stops answering and when it is
    back, not every failed poll, so an hour's outage stays two lines.
    """

    vendor: str
    poll_interval: float
    since: float | None = None
    failed_polls: int = 0

    def failed(self, error: BaseException, log: logging.Logger | logging.LoggerAdapter) -> float:
        """Record one failed poll; return the pause before the next."""
        self.failed_polls += 1
        if self.since is None:
            self.since = time.time()
            log.warning(
                "%s is not answering status polls (%s); polling on with growing pauses until the "
                "deadline, the job keeps running at the vendor.",
                self.vendor,
                error,
            )
        pause = min(
            OUTAGE_DELAY_CEILING, max(MIN_POLL_DELAY, self.poll_interval) * 2 ** (self.failed_polls - 1)
        )
        return max(pause, getattr(error, "retry_after", None) or 0.0)

    def recovered(self, log: logging.Logger | logging.LoggerAdapter) -> None:
        """Record a poll that got an answer; log the end of an outage."""
        if self.since is not None:
            log.info(
                "%s answers again after %.0f s (%d failed polls).",
                self.vendor,
                time.time() - self.since,
                self.failed_polls,
            )
        self.since, self.failed_polls = None, 0

    def describe(self) -> str:
        """``"; <vendor> has not answered for N s (K failed polls)"`` during an outage, else ``""``."""
        if self.since is None:
            return ""
        return (
            f"; {self.vendor} has not answered for {time.time() - self.since:.0f} s "
            f"({self.failed_polls} failed polls)"
        )


@dataclass
class WaitProgress:
    """What a person watching a wait wants to read, at a rate that stays readable for an hour.

    Polls can be seconds apart (AceData's shared ticks), so not every poll is a line: the first
    is, then one every :data:`PROGRESS_SHARE` of the time waited so far; each names the jobs,
    their state, the time waited, the polls so far, the vendor's eta and the deadline. The end of
    the wait is always a line.
    """

    vendor: str
    job_ids: list[str]
    deadline: float  # epoch seconds
    started: float = field(default_factory=lambda: time.time())
    polls: int = 0
    _last_line: float | None = None

    def report(
        self,
        pending: Sequence[ImageJobResult],
        next_delay: float,
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        """After a poll (counted in :attr:`polls`) found ``pending`` jobs: log a line if one is due."""
        now = time.time()
        waited = now - self.started
        gap = min(max(waited * PROGRESS_SHARE, PROGRESS_FLOOR), PROGRESS_CEILING)
        if self._last_line is not None and now - self._last_line < gap:
            return
        self._last_line = now
        etas = [result.eta_seconds for result in pending if result.eta_seconds is not None]
        log.info(
            "%s %s: %d of %d pending after %s and %s%s; deadline in %s, next poll in %s.",
            self.vendor,
            wording.job_ids(self.job_ids),
            len(pending),
            len(self.job_ids),
            wording.duration(waited),
            wording.plural(self.polls, "poll"),
            f", vendor eta {wording.duration(max(etas))}" if etas else "",
            wording.duration(self.deadline - now),
            wording.duration(next_delay),
        )

    def finished(self, outcome: str, log: logging.Logger | logging.LoggerAdapter) -> None:
        """Log the end of the wait: ``outcome`` is what became of the jobs (``succeeded``...)."""
        log.info(
            "%s %s %s after %s and %s.",
            self.vendor,
            wording.job_ids(self.job_ids),
            outcome,
            wording.duration(time.time() - self.started),
            wording.plural(self.polls, "poll"),
        )
