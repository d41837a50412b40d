"""Resuming after the trigger: one summary on success, the typed error for every other event."""

from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow_versions import needs_airflow_3

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaError,
    NanoBananaJobFailedError,
    NanoBananaRateLimitError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

from .conftest import CONN_IDS, airflow_records_success, ledger_entry
from .support import VENDORS, run_trigger

FAILURE_MESSAGES = {"modelslab": "Failed, Try Again", "acedata": "generation failed"}
ENTRY = {"vendor": "acedata", "job_id": "task-1", "submitted_at": 1_700_000_000.0}


def generate(vendor: str, **kwargs: Any) -> NanoBananaGenerateImageOperator:
    return NanoBananaGenerateImageOperator(
        task_id="draw",
        conn_id=CONN_IDS[vendor],
        prompt="a ripe banana",
        deferrable=True,
        poll_interval=0.05,
        timeout=30,
        **kwargs,
    )


def defer(operator: NanoBananaGenerateImageOperator, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as raised:
        operator.execute(context)
    return raised.value


@needs_airflow_3  # Airflow 3's success callback; on 2.11 the next task's start sweeps
@pytest.mark.parametrize("vendor", VENDORS)
def test_success_event_becomes_the_summary_kept_until_airflow_records_the_success(emulator, context, vendor):
    operator = generate(vendor, count=2)
    deferred = defer(operator, context)
    (event,) = run_trigger(deferred.trigger)
    assert event["status"] == "success"

    summary = operator.execute_complete(context, event=event, **deferred.kwargs)

    entry = deferred.kwargs["entry"]
    assert summary["vendor"] == vendor
    assert summary["conn_id"] == CONN_IDS[vendor]
    assert summary["job_id"] == entry["job_id"]
    assert summary["state"] == "succeeded"
    assert len(summary["images"]) == 2
    assert all(url.startswith(emulator.url) for url in summary["images"])
    assert summary["requested_count"] == summary["delivered_count"] == 2
    assert summary["submitted_at"] == entry["submitted_at"]
    assert summary["elapsed_seconds"] >= 0
    assert emulator.counters()["accepted"][vendor] == 1
    assert ledger_entry(context)["summary"] == summary, "a worker lost now leaves a retry that pays nothing"
    airflow_records_success(operator, context)
    assert ledger_entry(context) is None


@needs_airflow_3  # Airflow 3's success callback; on 2.11 the next task's start sweeps
def test_a_resumed_success_the_scheduler_turns_into_a_retry_pays_nothing_and_a_clear_pays_anew(
    emulator, context
):
    """Airflow's defer-exit race: the scheduler handles the stale "success" of the process that
    deferred after the resumed try's success was recorded, and overwrites it with a retry."""
    operator = generate("acedata")
    context["ti"].max_tries = 2
    deferred = defer(operator, context)
    (event,) = run_trigger(deferred.trigger)
    summary = operator.resume_execution("execute_complete", {"event": event, **deferred.kwargs}, context)
    airflow_records_success(operator, context)
    assert ledger_entry(context)["finished"]["confirmed"], "a resumed try's success is kept, confirmed"

    context["ti"].try_number = 2  # the retry the scheduler made of it: max_tries unchanged
    assert generate("acedata").execute(context) == summary
    assert emulator.counters()["accepted"]["acedata"] == 1, "the retry paid nothing"

    context["ti"].try_number, context["ti"].max_tries = 3, 2 + 2  # cleared after that success
    defer(generate("acedata"), context)
    assert emulator.counters()["accepted"]["acedata"] == 2, "a cleared successful task is a re-run"


@needs_airflow_3  # Airflow 3's success callback; on 2.11 the next task's start sweeps
def test_a_success_airflow_records_as_failed_is_returned_by_the_clear_that_follows(emulator, context, caplog):
    """Airflow 3's API server fails a task whose success it cannot record (two tasks registering
    the same new asset at once): the work is done, so clearing the task must not pay again."""
    operator = generate("acedata")
    deferred = defer(operator, context)
    (event,) = run_trigger(deferred.trigger)
    summary = operator.resume_execution("execute_complete", {"event": event, **deferred.kwargs}, context)
    context["ti"].recorded_state = "failed"
    for callback in operator.on_success_callback:
        callback({**context, "task": operator})
    assert "Clear the task: it pays nothing." in caplog.text

    context["ti"].try_number, context["ti"].max_tries = 2, 1  # the clear
    assert generate("acedata").execute(context) == summary
    assert emulator.counters()["accepted"]["acedata"] == 1, "the clear paid nothing"


def test_the_trigger_of_a_fresh_job_waits_out_the_minimum_deferral(emulator, context, monkeypatch):
    monkeypatch.setenv("AIRFLOW__NANOBANANA__MIN_DEFERRAL_SECONDS", "15")
    deferred = defer(generate("acedata"), context)
    assert deferred.trigger.first_poll_at >= time.time() + 14, (
        "the trigger cannot fire before the scheduler saw the deferral"
    )


def test_success_event_resumes_with_the_ledger_entry_when_kwargs_are_missing(emulator, context):
    operator = generate("acedata")
    deferred = defer(operator, context)
    (event,) = run_trigger(deferred.trigger)
    summary = operator.execute_complete(context, event=event)
    assert summary["submitted_at"] == deferred.kwargs["entry"]["submitted_at"]
    assert ledger_entry(context)["summary"] == summary


@pytest.mark.parametrize("vendor", VENDORS)
def test_failed_event_raises_job_failed_with_the_vendor_message(emulator, context, vendor):
    endpoint = "text2img" if vendor == "modelslab" else "images"
    emulator.add_fault(Fault(vendor=vendor, endpoint=endpoint, kind="job_fails"))
    operator = generate(vendor)
    deferred = defer(operator, context)
    (event,) = run_trigger(deferred.trigger)
    assert event["status"] == "failed"

    with pytest.raises(NanoBananaJobFailedError, match=FAILURE_MESSAGES[vendor]) as raised:
        operator.execute_complete(context, event=event, **deferred.kwargs)
    assert raised.value.job_id == deferred.kwargs["entry"]["job_id"]
    assert raised.value.vendor == vendor


def test_timeout_event_raises_timeout_error(context):
    event = {"status": "timeout", "job_ids": ["task-1"], "message": "still pending after 7 polls"}
    with pytest.raises(NanoBananaTimeoutError, match="still pending after 7 polls"):
        generate("acedata").execute_complete(context, event=event, entry=ENTRY)


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        ("NanoBananaRateLimitError", NanoBananaRateLimitError),
        ("NanoBananaAuthenticationError", NanoBananaAuthenticationError),
        ("NoSuchError", NanoBananaError),
        ("annotations", NanoBananaError),  # a module attribute that is not an exception class
    ],
)
def test_error_event_raises_the_named_provider_error(context, error_type, expected):
    event = {"status": "error", "error_type": error_type, "message": "vendor said no", "job_ids": ["t"]}
    with pytest.raises(NanoBananaError, match="vendor said no") as raised:
        generate("acedata").execute_complete(context, event=event, entry=ENTRY)
    assert type(raised.value) is expected


@pytest.mark.parametrize("event", [None, {}, {"status": "exploded"}])
def test_unusable_event_raises_provider_error(context, event):
    with pytest.raises(NanoBananaError) as raised:
        generate("acedata").execute_complete(context, event=event, entry=ENTRY)
    assert type(raised.value) is NanoBananaError


def test_partial_delivery_fails_unless_fail_on_partial_is_off(emulator, context):
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="partial"))
    strict = generate("acedata", count=2)
    deferred = defer(strict, context)
    (event,) = run_trigger(deferred.trigger)
    assert event["status"] == "success"

    with pytest.raises(NanoBananaJobFailedError, match="delivered 1 of 2") as raised:
        strict.execute_complete(context, event=event, **deferred.kwargs)
    assert raised.value.code == "partial"

    lenient = generate("acedata", count=2, fail_on_partial=False)
    summary = lenient.execute_complete(context, event=event, **deferred.kwargs)
    assert summary["state"] == "succeeded"
    assert (summary["requested_count"], summary["delivered_count"]) == (2, 1)
    assert len(summary["images"]) == 1


def test_base64_output_resumes_with_references_not_bytes(emulator, context):
    operator = generate("modelslab", options={"base64": True})
    deferred = defer(operator, context)
    (event,) = run_trigger(deferred.trigger)
    summary = operator.execute_complete(context, event=event, **deferred.kwargs)
    job_id = deferred.kwargs["entry"]["job_id"]
    assert summary["images"] == [f"nanobanana+base64://{job_id}/0"]
    assert time.time() >= summary["finished_at"]
