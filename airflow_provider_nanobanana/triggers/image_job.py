"""Wait for Nano Banana jobs in the triggerer, then hand the task one small terminal event.

The trigger serializes only JSON-safe values (vendor, conn id, job ids, a wall-clock deadline,
poll settings): the key is read from the connection in the triggerer, and the deadline and the
first poll are epoch times because the trigger may resume in another triggerer process, or after a
restart, and must not start its wait over. The HTTP work goes through
the :mod:`~airflow_provider_nanobanana.triggers.shared_poller` of its event loop, so a triggerer
holding a thousand waits keeps one connection pool per connection and, for AceData, sends one
``retrieve_batch`` per tick for all of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_nanobanana.exceptions import NanoBananaError, NanoBananaJobNotFoundError
from airflow_provider_nanobanana.jobs import ImageJobResult, JobState, Vendor
from airflow_provider_nanobanana.polling import TRANSIENT_POLL_ERRORS, VendorOutage, WaitProgress
from airflow_provider_nanobanana.triggers.shared_poller import SharedStatusPoller, shared_poller


class NanoBananaJobTrigger(BaseTrigger):
    """Poll one or more jobs of one vendor until all succeed, one fails, or ``end_time`` passes.

    Yields exactly one event: ``success`` (every job's result, inline bytes left out), ``failed``
    (the failed job's result), ``timeout``, or ``error`` (a non-transient error, with its class
    name so the task can raise the same typed exception). A vendor that stops answering is
    polled on until ``end_time`` (:class:`~airflow_provider_nanobanana.polling.VendorOutage`).

    :param first_poll_at: epoch time of the first poll, a little before the vendor's ``eta``
        (:func:`~airflow_provider_nanobanana.polling.delay_for_eta`); a trigger resumed after a
        triggerer restart polls at once if that time has passed.
    """

    def __init__(
        self,
        *,
        vendor: str,
        conn_id: str,
        job_ids: list[str],
        end_time: float,
        poll_interval: float = 5.0,
        first_poll_at: float | None = None,
    ) -> None:
        super().__init__()
        self.vendor = Vendor(vendor).value
        self.conn_id = conn_id
        self.job_ids = [str(job_id) for job_id in job_ids]
        self.end_time = end_time
        self.poll_interval = poll_interval
        self.first_poll_at = first_poll_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "vendor": self.vendor,
                "conn_id": self.conn_id,
                "job_ids": self.job_ids,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "first_poll_at": self.first_poll_at,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async with shared_poller(self.vendor, self.conn_id, len(self.job_ids)) as poller:
            event = await self._wait(poller)
        yield TriggerEvent(event)

    async def _wait(self, poller: SharedStatusPoller) -> dict[str, Any]:
        label = poller.hook.vendor_label
        outage = VendorOutage(label, self.poll_interval)
        progress = WaitProgress(label, self.job_ids, self.end_time)
        first = max(0.0, (self.first_poll_at or 0.0) - time.time())
        delay = poller.until_tick(first, self.poll_interval)
        while True:
            await asyncio.sleep(max(0.0, min(delay, self._latest_poll() - time.time())))
            try:
                found = await poller.poll(self.job_ids)
                outage.recovered(self.log)
                progress.polls += 1
                if (event := self._outcome(found, progress)) is not None:
                    return event
            except TRANSIENT_POLL_ERRORS as error:
                pause = outage.failed(error, self.log)
                if time.time() >= self.end_time:
                    progress.finished("timed out", self.log)
                    return _timeout_event(self.job_ids, progress.polls, outage)
                delay = poller.until_tick(pause, self.poll_interval)
                continue
            except NanoBananaError as error:
                return _error_event(error, self.job_ids)
            if time.time() >= self.end_time:
                progress.finished("timed out", self.log)
                return _timeout_event(self.job_ids, progress.polls, outage)
            pending = [result for result in found.values() if result.state is JobState.PENDING]
            delay = poller.next_delay(pending, self.poll_interval, progress.polls)
            progress.report(pending, delay, self.log)

    def _latest_poll(self) -> float:
        """Epoch time the next poll happens by, whatever the poll schedule says."""
        return self.end_time

    def _outcome(self, found: dict[str, ImageJobResult], progress: WaitProgress) -> dict[str, Any] | None:
        """The event a poll that found ``found`` ends the wait with, or None to poll on."""
        if missing := [job_id for job_id in self.job_ids if job_id not in found]:
            raise NanoBananaJobNotFoundError(
                f"{progress.vendor} does not know job(s) {missing}.", job_id=missing[0]
            )
        results = [found[job_id] for job_id in self.job_ids]
        if failed := [r for r in results if r.state is JobState.FAILED]:
            progress.finished(f"ended: job {failed[0].job_id} failed", self.log)
            return {"status": "failed", "result": failed[0].to_dict(with_payloads=False)}
        if any(r.state is JobState.PENDING for r in results):
            return None
        progress.finished("succeeded", self.log)
        return {"status": "success", "results": [r.to_dict(with_payloads=False) for r in results]}

    async def on_kill(self) -> None:
        """Airflow 3.3+ calls this when a user stops the task; neither vendor can cancel a job."""
        self.log.info(
            "Stopped waiting for %s; the vendor keeps the job (there is no cancel endpoint).", self.job_ids
        )


def _error_event(error: BaseException, job_ids: list[str]) -> dict[str, Any]:
    """Name the error class and keep what retry rules need (``retry_after``, ``job_id``)."""
    return {
        "status": "error",
        "error_type": type(error).__name__,
        "message": str(error),
        "job_ids": job_ids,
        "retry_after": getattr(error, "retry_after", None),
        "job_id": getattr(error, "job_id", None),
    }


def _timeout_event(job_ids: list[str], polls: int, outage: VendorOutage) -> dict[str, Any]:
    return {
        "status": "timeout",
        "job_ids": job_ids,
        "message": f"still pending after {polls} polls{outage.describe()}",
    }
