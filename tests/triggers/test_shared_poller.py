"""Triggers in one event loop share one hook per connection and, for AceData, one request per tick."""

from __future__ import annotations

import asyncio
import math
import time
from types import SimpleNamespace

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.jobs import ImageJobResult, JobState, Vendor
from airflow_provider_nanobanana.polling import ETA_SHARE, delay_for_eta
from airflow_provider_nanobanana.triggers import shared_poller
from airflow_provider_nanobanana.triggers.shared_poller import MIN_TICK, SharedStatusPoller

from .conftest import NO_RETRY_CONN_IDS, events_of, in_thread, submit, trigger_for


def poller_for(batch_size: int, waiting_jobs: int) -> SharedStatusPoller:
    poller = SharedStatusPoller(SimpleNamespace(status_batch_size=batch_size))  # type: ignore[arg-type]
    poller.waiting_jobs = waiting_jobs
    return poller


def pending(eta: float | None) -> ImageJobResult:
    return ImageJobResult(vendor=Vendor.MODELSLAB, job_id="1", state=JobState.PENDING, eta_seconds=eta)


def test_batched_polls_land_on_shared_ticks_that_shrink_as_more_jobs_wait(monkeypatch):
    monkeypatch.setattr(shared_poller.time, "time", lambda: 1000.3)
    alone, crowded = poller_for(100, 1), poller_for(100, 1000)

    assert alone.until_tick(0.0, 5.0) == 1005.0 - 1000.3, "one job alone polls every poll_interval"
    assert math.isclose(crowded.until_tick(0.0, 5.0), 1001.0 - 1000.3), "a crowd polls every MIN_TICK"
    assert math.isclose(crowded.until_tick(2.0, 5.0), 1003.0 - 1000.3)
    assert MIN_TICK == 1.0


def test_unbatched_polls_follow_each_jobs_eta():
    poller = poller_for(1, 1000)

    assert poller.until_tick(2.0, 5.0) == 2.0
    assert poller.next_delay([pending(20.0), pending(8.0)], 5.0, polls=1) == 8.0 * ETA_SHARE
    assert delay_for_eta(0.1) == 0.5, "never poll faster than twice a second"
    assert delay_for_eta(500.0) == 60.0, "a far eta is checked at least once a minute"


async def test_acedata_triggers_in_one_loop_share_one_tasks_request_per_tick(emulator):
    emulator.configure(processing_seconds=1.2)
    job_ids = [await in_thread(submit, "acedata") for _ in range(6)]
    before = emulator.counters()["requests"].get("acedata:tasks", 0)

    events = await asyncio.gather(
        *(events_of(trigger_for("acedata", [job_id], poll_interval=0.3)) for job_id in job_ids)
    )

    assert [[event["status"] for event in run] for run in events] == [["success"]] * 6
    counters = emulator.counters()
    polls = [counters["polls"][job_id] for job_id in job_ids]
    requests = counters["requests"]["acedata:tasks"] - before
    assert min(polls) >= 2
    assert requests <= max(polls) + 1, f"{requests} requests for {sum(polls)} polls: batches were not shared"


async def test_one_hook_serves_every_trigger_of_a_connection_and_closes_with_the_last(emulator):
    job_ids = [await in_thread(submit, "modelslab") for _ in range(3)]
    runs = [asyncio.create_task(events_of(trigger_for("modelslab", [job_id]))) for job_id in job_ids]
    await asyncio.sleep(0.05)

    (poller,) = shared_poller._pollers[asyncio.get_running_loop()].values()
    assert (poller.users, poller.waiting_jobs) == (3, 3)
    assert all(run[0]["status"] == "success" for run in await asyncio.gather(*runs))
    assert shared_poller._pollers[asyncio.get_running_loop()] == {}
    assert poller.hook._async_client is None, "the pooled client was closed"


async def test_a_failed_batch_reaches_every_trigger_that_shared_it(emulator):
    job_ids = [await in_thread(submit, "acedata") for _ in range(2)]
    emulator.add_fault(Fault(vendor="acedata", endpoint="tasks", kind="server_error", times=None))

    deadline = time.time() + 1.5
    runs = await asyncio.gather(
        *(
            events_of(
                trigger_for("acedata", [job_id], conn_id=NO_RETRY_CONN_IDS["acedata"], end_time=deadline)
            )
            for job_id in job_ids
        )
    )

    assert [[e["status"] for e in run] for run in runs] == [["timeout"]] * 2
    assert all("AceData has not answered for" in run[0]["message"] for run in runs)


async def test_a_batched_trigger_polls_on_every_tick_not_every_other(monkeypatch):
    poller = poller_for(100, 1000)
    poller.hook.vendor_label = "AceData"
    waiting = ImageJobResult(vendor=Vendor.ACEDATA, job_id="t", state=JobState.PENDING)
    done = ImageJobResult(vendor=Vendor.ACEDATA, job_id="t", state=JobState.SUCCEEDED)
    answers = iter([{"t": waiting}, {"t": waiting}, {"t": done}])

    async def poll(job_ids):
        return next(answers)

    real_sleep, sleeps = asyncio.sleep, []

    async def recorded_sleep(seconds, *args):
        sleeps.append(seconds)
        await real_sleep(0)

    poller.poll = poll
    monkeypatch.setattr(asyncio, "sleep", recorded_sleep)
    trigger = trigger_for("acedata", ["t"], poll_interval=5.0)

    event = await trigger._wait(poller)

    assert event["status"] == "success"
    assert len(sleeps) == 3
    assert all(0 < seconds <= MIN_TICK for seconds in sleeps), sleeps
