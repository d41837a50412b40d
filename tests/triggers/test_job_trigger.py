"""NanoBananaJobTrigger: JSON-safe serialization and exactly one terminal event per run."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from airflow_provider_nanobanana import polling
from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.emulator.settings import DEFAULT_ACEDATA_TOKEN, DEFAULT_MODELSLAB_KEY
from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

from .conftest import NO_RETRY_CONN_IDS, events_of, in_thread, submit, trigger_for

VENDORS = ("modelslab", "acedata")
CLASSPATH = "airflow_provider_nanobanana.triggers.image_job.NanoBananaJobTrigger"
SUBMIT_ENDPOINT = {"modelslab": "text2img", "acedata": "images"}
POLL_ENDPOINT = {"modelslab": "fetch", "acedata": "tasks"}


def test_serialize_round_trips_through_json_without_any_key():
    trigger = NanoBananaJobTrigger(
        vendor="modelslab",
        conn_id="nanobanana_modelslab_default",
        job_ids=[90000001, "90000002"],
        end_time=1_900_000_000.5,
        poll_interval=2.5,
        first_poll_at=1_900_000_012.0,
    )
    classpath, kwargs = trigger.serialize()

    assert classpath == CLASSPATH
    text = json.dumps(kwargs)
    assert DEFAULT_MODELSLAB_KEY not in text
    assert DEFAULT_ACEDATA_TOKEN not in text
    assert kwargs["job_ids"] == ["90000001", "90000002"]
    rebuilt = NanoBananaJobTrigger(**json.loads(text))
    assert rebuilt.serialize() == (classpath, kwargs)


def test_unknown_vendor_is_refused_at_construction():
    with pytest.raises(ValueError, match="openai"):
        NanoBananaJobTrigger(vendor="openai", conn_id="c", job_ids=["1"], end_time=0)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_run_yields_one_success_event_with_the_images(emulator, vendor):
    job_id = await in_thread(submit, vendor, count=2)

    events = await events_of(trigger_for(vendor, [job_id]))

    assert len(events) == 1
    (event,) = events
    assert event["status"] == "success"
    (result,) = event["results"]
    assert result["job_id"] == job_id
    assert result["state"] == "succeeded"
    assert len(result["images"]) == 2
    assert all(image["url"].startswith(emulator.url) for image in result["images"])
    json.dumps(event)


async def test_acedata_polls_many_jobs_with_one_tasks_request_per_poll(emulator):
    emulator.configure(processing_seconds=0.6)
    job_ids = [await in_thread(submit, "acedata") for _ in range(3)]
    tasks_before = emulator.counters()["requests"].get("acedata:tasks", 0)

    events = await events_of(trigger_for("acedata", job_ids))

    assert [event["status"] for event in events] == ["success"]
    assert [result["job_id"] for result in events[0]["results"]] == job_ids
    counters = emulator.counters()
    polls = {counters["polls"][job_id] for job_id in job_ids}
    assert len(polls) == 1, "every poll covers all three jobs"
    (poll_count,) = polls
    assert poll_count >= 2
    assert counters["requests"]["acedata:tasks"] - tasks_before == poll_count


@pytest.mark.parametrize("vendor", VENDORS)
async def test_failed_job_yields_one_failed_event(emulator, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails"))
    job_id = await in_thread(submit, vendor)

    events = await events_of(trigger_for(vendor, [job_id]))

    assert len(events) == 1
    assert events[0]["status"] == "failed"
    assert events[0]["result"]["job_id"] == job_id
    assert events[0]["result"]["error_message"]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_deadline_in_the_past_yields_one_timeout_event(emulator, vendor):
    emulator.configure(processing_seconds=30)
    job_id = await in_thread(submit, vendor)

    events = await events_of(trigger_for(vendor, [job_id], end_time=time.time() - 1))

    assert len(events) == 1
    assert events[0]["status"] == "timeout"
    assert events[0]["job_ids"] == [job_id]
    assert emulator.counters()["polls"][job_id] == 1


async def test_unknown_acedata_task_yields_a_job_not_found_error_event(emulator):
    known = await in_thread(submit, "acedata")
    unknown = str(uuid.uuid4())

    events = await events_of(trigger_for("acedata", [known, unknown]))

    assert len(events) == 1
    assert events[0]["status"] == "error"
    assert events[0]["error_type"] == "NanoBananaJobNotFoundError"
    assert unknown in events[0]["message"]


async def test_unknown_modelslab_job_yields_a_job_not_found_error_event(emulator):
    events = await events_of(trigger_for("modelslab", ["123456789"]))
    assert [(event["status"], event["error_type"]) for event in events] == [
        ("error", "NanoBananaJobNotFoundError")
    ]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_an_outage_longer_than_five_polls_is_ridden_out_and_logged_once(
    emulator, vendor, monkeypatch, task_log
):
    monkeypatch.setattr(polling, "OUTAGE_DELAY_CEILING", 0.1)
    job_id = await in_thread(submit, vendor)
    failures = 8
    emulator.add_fault(
        Fault(vendor=vendor, endpoint=POLL_ENDPOINT[vendor], kind="server_error", times=failures)
    )

    events = await events_of(trigger_for(vendor, [job_id], conn_id=NO_RETRY_CONN_IDS[vendor]))

    assert [event["status"] for event in events] == ["success"]
    poll_requests = emulator.counters()["requests"][f"{vendor}:{POLL_ENDPOINT[vendor]}"]
    assert poll_requests > failures, "the failing polls really were sent, then one more succeeded"
    text = task_log()
    assert text.count("is not answering status polls") == 1, "one line when the outage starts"
    assert text.count("answers again after") == 1
    assert f"({failures} failed polls)" in text


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_vendor_down_until_the_deadline_yields_a_timeout_saying_for_how_long(emulator, vendor):
    job_id = await in_thread(submit, vendor)
    emulator.add_fault(Fault(vendor=vendor, endpoint=POLL_ENDPOINT[vendor], kind="server_error", times=None))

    trigger = trigger_for(vendor, [job_id], conn_id=NO_RETRY_CONN_IDS[vendor], end_time=time.time() + 2.0)
    events = await events_of(trigger)

    assert len(events) == 1
    assert events[0]["status"] == "timeout"
    assert events[0]["job_ids"] == [job_id]
    assert "has not answered for" in events[0]["message"]
    poll_requests = emulator.counters()["requests"][f"{vendor}:{POLL_ENDPOINT[vendor]}"]
    assert 2 <= poll_requests <= 4, "pauses grow from 0.5 s while the vendor is down"


async def test_rate_limited_polls_wait_for_retry_after(emulator):
    job_id = await in_thread(submit, "acedata")
    emulator.add_fault(Fault(vendor="acedata", endpoint="tasks", kind="rate_limit", times=1, retry_after=0.5))
    started = time.monotonic()

    events = await events_of(trigger_for("acedata", [job_id], conn_id=NO_RETRY_CONN_IDS["acedata"]))

    assert [event["status"] for event in events] == ["success"]
    assert time.monotonic() - started >= 0.5


async def test_base64_output_is_left_out_of_the_success_event(emulator):
    job_id = await in_thread(submit, "modelslab", options={"base64": True})

    (event,) = await events_of(trigger_for("modelslab", [job_id]))

    assert event["status"] == "success"
    images = event["results"][0]["images"]
    assert images, "the job produced an image"
    assert all("base64_data" not in image for image in images)
    assert all(image == {"inline": True} for image in images)
    assert len(json.dumps(event)) < 2_000, "an event must stay small enough for the metadata DB"


async def test_first_poll_waits_until_the_given_time(emulator):
    job_id = await in_thread(submit, "acedata")
    started = time.monotonic()

    events = await events_of(trigger_for("acedata", [job_id], first_poll_at=time.time() + 0.4))

    assert events[0]["status"] == "success"
    assert time.monotonic() - started >= 0.4
    assert emulator.counters()["polls"][job_id] == 1, "after the delay the job was already done"


async def test_a_trigger_resumed_after_its_first_poll_time_polls_at_once(emulator):
    job_id = await in_thread(submit, "modelslab")
    await asyncio.sleep(2.1)  # the emulator's job is done; a restarted triggerer resumes the trigger
    started = time.monotonic()

    events = await events_of(trigger_for("modelslab", [job_id], first_poll_at=time.time() - 15))

    assert events[0]["status"] == "success"
    assert time.monotonic() - started < 0.5, "it does not wait the first eta share again"


@pytest.mark.parametrize("vendor", VENDORS)
async def test_rejected_key_yields_an_authentication_error_event(emulator, monkeypatch, vendor):
    monkeypatch.setenv(
        "AIRFLOW_CONN_NANOBANANA_WRONG_KEY",
        json.dumps({"conn_type": f"nanobanana_{vendor}", "host": emulator.url, "password": "not-the-key"}),
    )
    events = await events_of(trigger_for(vendor, ["123456789"], conn_id="nanobanana_wrong_key"))
    assert [(event["status"], event["error_type"]) for event in events] == [
        ("error", "NanoBananaAuthenticationError")
    ]
    assert "not-the-key" not in json.dumps(events)


def test_error_event_keeps_what_retry_rules_need():
    from airflow_provider_nanobanana.events import results_from_event
    from airflow_provider_nanobanana.exceptions import NanoBananaRateLimitError
    from airflow_provider_nanobanana.triggers.image_job import _error_event

    event = _error_event(NanoBananaRateLimitError("slow down", retry_after=42.0), ["j1"])
    with pytest.raises(NanoBananaRateLimitError) as error:
        results_from_event(event)
    assert error.value.retry_after == 42.0


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_key_the_vendor_echoes_in_a_failed_job_never_reaches_the_trigger_event(emulator, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails_echoing_key"))
    job_id = await in_thread(submit, vendor)

    (event,) = await events_of(trigger_for(vendor, [job_id]))

    assert event["status"] == "failed"
    assert "request key ***" in event["result"]["error_message"], "the vendor echoed it; it was scrubbed"
    assert DEFAULT_MODELSLAB_KEY not in json.dumps(event)
    assert DEFAULT_ACEDATA_TOKEN not in json.dumps(event)


async def test_an_acedata_wait_logs_its_job_and_its_end_not_every_poll(emulator, task_log):
    emulator.configure(processing_seconds=1.0)
    job_id = await in_thread(submit, "acedata")

    await events_of(trigger_for("acedata", [job_id]))

    polls = emulator.counters()["polls"][job_id]
    lines = [line for line in task_log().splitlines() if f"AceData {job_id}" in line]
    assert polls >= 5, "polled every tick"
    assert len(lines) == 2, f"one progress line and one at the end, not one per poll: {lines}"
    assert "1 of 1 pending after 0 s and 1 poll; deadline in 30 s" in lines[0]
    assert f"succeeded after 1 s and {polls} polls." in lines[1]
