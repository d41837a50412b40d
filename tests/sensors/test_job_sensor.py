"""NanoBananaJobSensor: pokes without submitting, defers to the shared trigger, fails like the operators."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, PokeReturnValue, TaskDeferred

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import NanoBananaJobFailedError, NanoBananaJobNotFoundError
from airflow_provider_nanobanana.hooks.registry import hook_for_connection
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState
from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor
from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

from .conftest import CONN_IDS

VENDORS = ("modelslab", "acedata")
SUBMIT_ENDPOINT = {"modelslab": "text2img", "acedata": "images"}


def submit(vendor: str, **request: Any) -> str:
    with hook_for_connection(CONN_IDS[vendor]) as hook:
        result = hook.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="a ripe banana", **request))
    assert result.state is JobState.PENDING
    return result.job_id


def sensor(vendor: str, job_id: str, **kwargs: Any) -> NanoBananaJobSensor:
    kwargs = {"poke_interval": 0.05, "timeout": 30, **kwargs}
    return NanoBananaJobSensor(task_id="wait", conn_id=CONN_IDS[vendor], job_id=job_id, **kwargs)


def poke_until_done(task: NanoBananaJobSensor, context: dict[str, Any], limit: float = 10) -> Any:
    deadline = time.monotonic() + limit
    while (outcome := task.poke(context)) is False:
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.1)
    return outcome


@pytest.mark.parametrize("vendor", VENDORS)
def test_poke_is_false_while_pending_then_returns_the_summary(emulator, context, vendor):
    emulator.configure(processing_seconds=0.5)
    job_id = submit(vendor, count=2)
    task = sensor(vendor, job_id)

    assert task.poke(context) is False
    outcome = poke_until_done(task, context)

    assert isinstance(outcome, PokeReturnValue)
    assert outcome.is_done is True
    summary = outcome.xcom_value
    assert summary["job_id"] == job_id
    assert summary["vendor"] == vendor
    assert summary["state"] == "succeeded"
    assert summary["requested_count"] == summary["delivered_count"] == 2
    assert all(url.startswith(emulator.url) for url in summary["images"])
    assert emulator.counters()["accepted"][vendor] == 1, "a sensor never submits"


@pytest.mark.parametrize("vendor", VENDORS)
def test_poke_raises_job_failed_for_a_failed_job(emulator, context, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails"))
    job_id = submit(vendor)
    task = sensor(vendor, job_id)
    with pytest.raises(NanoBananaJobFailedError) as raised:
        poke_until_done(task, context)
    assert raised.value.job_id == job_id


def test_poke_notices_a_partial_acedata_delivery_without_being_told_the_count(emulator, context):
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="partial"))
    job_id = submit("acedata", count=2)
    with pytest.raises(NanoBananaJobFailedError, match="delivered 1 of 2") as raised:
        poke_until_done(sensor("acedata", job_id), context)
    assert raised.value.code == "partial"

    lenient = poke_until_done(sensor("acedata", job_id, fail_on_partial=False), context)
    assert lenient.xcom_value["delivered_count"] == 1


def test_poke_of_an_unknown_job_raises_job_not_found(emulator, context):
    with pytest.raises(NanoBananaJobNotFoundError):
        sensor("modelslab", "123456789").poke(context)


@pytest.mark.parametrize("vendor", VENDORS)
def test_deferrable_execute_defers_with_the_sensor_timeout(emulator, context, vendor):
    emulator.configure(processing_seconds=30)
    job_id = submit(vendor)
    task = sensor(vendor, job_id, deferrable=True, timeout=120, poke_interval=0.2)
    started = time.time()

    with pytest.raises(TaskDeferred) as raised:
        task.execute(context)

    deferred = raised.value
    assert deferred.timeout == timedelta(seconds=180)
    assert deferred.method_name == "execute_complete"
    trigger = deferred.trigger
    assert isinstance(trigger, NanoBananaJobTrigger)
    assert (trigger.vendor, trigger.conn_id, trigger.job_ids) == (vendor, CONN_IDS[vendor], [job_id])
    assert trigger.poll_interval == 0.2
    assert started + 120 <= trigger.end_time <= time.time() + 120
    counters = emulator.counters()
    assert counters["accepted"][vendor] == 1, "a sensor never submits"
    assert counters["polls"][job_id] == 1, "one poke before deferring, the rest is the trigger's"


@pytest.mark.parametrize("vendor", VENDORS)
def test_deferrable_execute_returns_at_once_for_a_finished_job(emulator, context, vendor):
    job_id = submit(vendor)
    time.sleep(0.3)  # the emulator's jobs take 0.2 s

    summary = sensor(vendor, job_id, deferrable=True).execute(context)

    assert summary["job_id"] == job_id
    assert summary["state"] == "succeeded"
    assert emulator.counters()["polls"][job_id] == 1


def test_execute_complete_with_a_timeout_event_raises_sensor_timeout(context):
    task = sensor("acedata", "job-42", deferrable=True)
    event = {"status": "timeout", "job_ids": ["job-42"], "message": "still pending after 9 polls"}
    with pytest.raises(AirflowSensorTimeout, match="still pending after 9 polls"):
        task.execute_complete(context, event=event)


def test_execute_complete_with_a_failed_event_raises_job_failed(context):
    task = sensor("acedata", "job-42", deferrable=True)
    result = {
        "vendor": "acedata",
        "job_id": "job-42",
        "state": "failed",
        "error_code": "api_error",
        "error_message": "generation failed",
    }
    with pytest.raises(NanoBananaJobFailedError, match="generation failed"):
        task.execute_complete(context, event={"status": "failed", "result": result})


def test_execute_complete_with_a_success_event_returns_the_summary(emulator, context):
    job_id = submit("acedata")
    with hook_for_connection(CONN_IDS["acedata"]) as hook:
        done = hook.wait_for_job(job_id, poll_interval=0.05, timeout=10)
    event = {"status": "success", "results": [done.to_dict(with_payloads=False)]}

    summary = sensor("acedata", job_id, deferrable=True).execute_complete(context, event=event)

    assert summary["job_id"] == job_id
    assert summary["state"] == "succeeded"
    assert summary["images"] == [image.url for image in done.images]
