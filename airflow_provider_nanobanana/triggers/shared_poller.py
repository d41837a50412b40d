"""One status poller per vendor connection per triggerer event loop, shared by the triggers there.

A triggerer runs every trigger as a task in one event loop. If each trigger had its own hook, a
thousand waiting jobs would open a thousand HTTP connection pools and send a thousand status
requests per round. Sharing one hook per connection keeps one pool. Where the vendor reports on
many jobs in one request (AceData's ``retrieve_batch``), triggers poll on shared clock ticks and
the polls due on a tick go out as one request, so a poll costs the same for one job or a hundred.

Nothing here is serialized: a trigger that moves to another triggerer just joins the poller there.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from airflow_provider_nanobanana.jobs import ImageJobResult
from airflow_provider_nanobanana.polling import next_poll_delay

if TYPE_CHECKING:
    from airflow_provider_nanobanana.hooks.base import NanoBananaBaseHook

# Polls arriving within this window of the first one on a tick join its request.
BATCH_WINDOW = 0.05
# The shortest tick: with many jobs waiting, each is noticed within about a second of finishing.
MIN_TICK = 1.0

_Batch = list[tuple[Sequence[str], "asyncio.Future[dict[str, ImageJobResult]]"]]


class SharedStatusPoller:
    """Polls for every trigger waiting on one connection, batching where the vendor can."""

    def __init__(self, hook: NanoBananaBaseHook) -> None:
        self.hook = hook
        self.users = 0
        self.waiting_jobs = 0
        self._batch: _Batch = []
        self._flush: asyncio.Task[None] | None = None

    @property
    def batches(self) -> bool:
        return self.hook.status_batch_size > 1

    def next_delay(self, pending: Sequence[ImageJobResult], poll_interval: float, polls: int) -> float:
        """Seconds until a trigger should poll its ``pending`` jobs again.

        One job per request: the vendor's eta or a gentle backoff (:func:`next_poll_delay`).
        Batched: the next shared tick. A tick is ``poll_interval`` shared by the jobs waiting,
        down to :data:`MIN_TICK`: a batched request then costs each job no more than polling it
        alone every ``poll_interval`` would, and the more jobs wait, the sooner each is noticed.
        """
        if not self.batches:
            return min(next_poll_delay(result, poll_interval, polls) for result in pending)
        return self.until_tick(0.0, poll_interval)

    def until_tick(self, delay: float, poll_interval: float) -> float:
        """``delay``, stretched to the next shared tick when polls are batched."""
        if not self.batches:
            return delay
        tick = min(poll_interval, max(MIN_TICK, poll_interval / max(self.waiting_jobs, 1)))
        now = time.time()
        return (math.floor((now + delay) / tick) + 1) * tick - now

    async def poll(self, job_ids: Sequence[str]) -> dict[str, ImageJobResult]:
        """Where ``job_ids`` stand; absent ids are unknown to the vendor."""
        if not self.batches:
            return await self.hook.aget_jobs(job_ids)
        future: asyncio.Future[dict[str, ImageJobResult]] = asyncio.get_running_loop().create_future()
        self._batch.append((job_ids, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._send_batch())
        return await future

    async def _send_batch(self) -> None:
        await asyncio.sleep(BATCH_WINDOW)
        batch, self._batch, self._flush = self._batch, [], None
        waiting = [(job_ids, future) for job_ids, future in batch if not future.cancelled()]
        all_ids = list(dict.fromkeys(job_id for job_ids, _ in waiting for job_id in job_ids))
        try:
            found = await self.hook.aget_jobs(all_ids)
        except Exception as error:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(error)
            return
        for job_ids, future in waiting:
            if not future.done():
                future.set_result({job_id: found[job_id] for job_id in job_ids if job_id in found})


_pollers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], SharedStatusPoller]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def shared_poller(vendor: str, conn_id: str, job_count: int) -> AsyncIterator[SharedStatusPoller]:
    """Join the poller for ``(vendor, conn_id)`` on this event loop for ``job_count`` jobs.

    The last trigger to leave closes the hook, so an idle triggerer holds no connections, and
    the next trigger reads the connection afresh (a rotated key is picked up then).
    """
    from airflow_provider_nanobanana.hooks.registry import hook_for_vendor

    pollers = _pollers.setdefault(asyncio.get_running_loop(), {})
    key = (vendor, conn_id)
    poller = pollers.get(key)
    if poller is None:
        poller = pollers[key] = SharedStatusPoller(hook_for_vendor(vendor, conn_id))
    poller.users += 1
    poller.waiting_jobs += job_count
    try:
        yield poller
    finally:
        poller.users -= 1
        poller.waiting_jobs -= job_count
        if poller.users == 0:
            pollers.pop(key, None)
            await poller.hook.aclose()
