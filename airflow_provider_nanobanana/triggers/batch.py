"""Wait for the in-flight jobs of one batch task and wake it once enough of them are done.

A batch task resumes on a worker only to land finished images and submit the next items, and
each resume costs a task start, so the trigger does not wake it for every finished job: it
returns once ``resume_after`` of its jobs are done (the operator asks for three quarters of
those in flight), when none is left pending, or at ``wake_at`` (an item held back by the
vendor's queue limit may be sent then). Failed jobs do not end the wait; they are items like any
other. It only polls, so running twice, or moving to another triggerer, changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_nanobanana.jobs import ImageJobResult
from airflow_provider_nanobanana.polling import WaitProgress
from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger


class NanoBananaBatchTrigger(NanoBananaJobTrigger):
    """Yields one event: ``progress`` with the results of every finished job (inline bytes left
    out) and the ids the vendor does not know (``missing``), or ``timeout`` / ``error`` as
    :class:`NanoBananaJobTrigger` does.

    :param resume_after: how many finished jobs wake the task.
    :param wake_at: epoch time to wake the task whatever has finished; with no jobs, the trigger
        only waits until then.
    """

    def __init__(self, *, resume_after: int = 1, wake_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resume_after = max(1, int(resume_after))
        self.wake_at = wake_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        path, kwargs = super().serialize()
        return path, {**kwargs, "resume_after": self.resume_after, "wake_at": self.wake_at}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        if self.job_ids:
            async for event in super().run():
                yield event
            return
        await asyncio.sleep(max(0.0, min(self.wake_at or 0.0, self.end_time) - time.time()))
        yield TriggerEvent({"status": "progress", "results": [], "missing": []})

    def _latest_poll(self) -> float:
        return min(self.end_time, self.wake_at or self.end_time)

    def _outcome(self, found: dict[str, ImageJobResult], progress: WaitProgress) -> dict[str, Any] | None:
        done = [
            found[job_id] for job_id in self.job_ids if job_id in found and found[job_id].state.is_terminal
        ]
        missing = [job_id for job_id in self.job_ids if job_id not in found]
        ended = len(done) + len(missing)
        woken = self.wake_at is not None and time.time() >= self.wake_at
        if ended < self.resume_after and ended < len(self.job_ids) and not woken:
            return None
        progress.finished(f"{ended} of {len(self.job_ids)} done", self.log)
        return {
            "status": "progress",
            "results": [result.to_dict(with_payloads=False) for result in done],
            "missing": missing,
        }
