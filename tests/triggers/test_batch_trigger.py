"""NanoBananaBatchTrigger: wakes the batch task once enough jobs are done, never on a failed job alone."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.emulator.settings import DEFAULT_ACEDATA_TOKEN
from airflow_provider_nanobanana.triggers.batch import NanoBananaBatchTrigger

from .conftest import CONN_IDS, events_of, submit

VENDORS = ("modelslab", "acedata")
SUBMIT_ENDPOINT = {"modelslab": "text2img", "acedata": "images"}


def batch_trigger(vendor: str, job_ids: list[str], **kwargs) -> NanoBananaBatchTrigger:
    kwargs = {"end_time": time.time() + 30, "poll_interval": 0.05, **kwargs}
    return NanoBananaBatchTrigger(vendor=vendor, conn_id=CONN_IDS[vendor], job_ids=job_ids, **kwargs)


def test_serialize_round_trips_with_its_wake_up_rule():
    trigger = batch_trigger("acedata", ["a", "b"], resume_after=2, wake_at=1_900_000_000.0)
    classpath, kwargs = trigger.serialize()
    again = NanoBananaBatchTrigger(**json.loads(json.dumps(kwargs)))

    assert classpath == "airflow_provider_nanobanana.triggers.batch.NanoBananaBatchTrigger"
    assert DEFAULT_ACEDATA_TOKEN not in json.dumps(kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert (kwargs["resume_after"], kwargs["wake_at"]) == (2, 1_900_000_000.0)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_failed_job_is_reported_as_a_result_without_ending_the_wait_early(emulator, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails", times=1))
    failing, fine = submit(vendor), submit(vendor)

    (event,) = asyncio.run(events_of(batch_trigger(vendor, [failing, fine], resume_after=2)))

    assert event["status"] == "progress"
    states = {result["job_id"]: result["state"] for result in event["results"]}
    assert states == {failing: "failed", fine: "succeeded"}
    assert event["missing"] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_it_wakes_the_task_once_resume_after_jobs_are_done_not_all(emulator, vendor):
    emulator.configure(processing_seconds=0.2)
    quick = submit(vendor)
    emulator.configure(processing_seconds=30)
    slow = submit(vendor)

    started = time.monotonic()
    (event,) = asyncio.run(events_of(batch_trigger(vendor, [quick, slow], resume_after=1)))

    assert time.monotonic() - started < 10
    assert [result["job_id"] for result in event["results"]] == [quick]


def test_a_job_the_vendor_does_not_know_is_reported_missing_not_raised(emulator):
    known = submit("acedata")
    (event,) = asyncio.run(events_of(batch_trigger("acedata", [known, "no-such-task"], resume_after=2)))

    assert event["status"] == "progress"
    assert event["missing"] == ["no-such-task"]


def test_without_jobs_it_only_waits_for_wake_at(emulator):
    wake_at = time.time() + 0.3
    (event,) = asyncio.run(events_of(batch_trigger("modelslab", [], wake_at=wake_at)))

    assert time.time() >= wake_at
    assert event == {"status": "progress", "results": [], "missing": []}
    assert emulator.counters()["polls"] == {}
