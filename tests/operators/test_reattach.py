"""A retried task reattaches to the job an earlier try submitted instead of paying again."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaJobFailedError,
    NanoBananaPossiblyBilledError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.hooks.registry import hook_for_connection
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

from .conftest import CONN_IDS, FakeVariable, ledger_entry, variable_name
from .support import OTHER_VENDOR, VENDORS

SUBMIT_ENDPOINT = {"modelslab": "text2img", "acedata": "images"}
UNKNOWN_IDS = {"modelslab": "123456789", "acedata": str(uuid.uuid4())}


def generate(vendor: str, **kwargs: Any) -> NanoBananaGenerateImageOperator:
    kwargs = {"deferrable": False, "poll_interval": 0.05, "timeout": 30, **kwargs}
    return NanoBananaGenerateImageOperator(
        task_id="draw", conn_id=CONN_IDS[vendor], prompt="a ripe banana", **kwargs
    )


def earlier_try(vendor: str) -> dict[str, Any]:
    """Submit a job as an earlier try of the task would have, and return its ledger entry."""
    with hook_for_connection(CONN_IDS[vendor]) as hook:
        result = hook.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="a ripe banana"))
    assert result.state is JobState.PENDING
    return {"vendor": vendor, "job_id": result.job_id, "submitted_at": time.time()}


@pytest.mark.parametrize("vendor", VENDORS)
def test_retry_reattaches_to_a_pending_job_without_submitting_again(emulator, context, vendor):
    entry = earlier_try(vendor)
    context["task_state_store"].set("nanobanana_job", entry)

    summary = generate(vendor).execute(context)

    assert summary["job_id"] == entry["job_id"]
    assert summary["state"] == "succeeded"
    assert summary["submitted_at"] == entry["submitted_at"]
    counters = emulator.counters()
    assert counters["accepted"][vendor] == 1, "the retry must not pay for a second job"
    assert counters["requests"][f"{vendor}:{SUBMIT_ENDPOINT[vendor]}"] == 1
    assert context["ti"].xcom == [("job_id", entry["job_id"])]
    assert ledger_entry(context)["summary"] == summary


@pytest.mark.parametrize("vendor", VENDORS)
def test_deferrable_retry_defers_to_the_earlier_job(emulator, context, vendor):
    entry = earlier_try(vendor)
    context["task_state_store"].set("nanobanana_job", entry)

    with pytest.raises(TaskDeferred) as raised:
        generate(vendor, deferrable=True, timeout=600).execute(context)

    assert raised.value.trigger.job_ids == [entry["job_id"]]
    assert raised.value.kwargs["entry"] == entry
    assert raised.value.trigger.end_time == pytest.approx(entry["submitted_at"] + 600)
    assert emulator.counters()["accepted"][vendor] == 1


@pytest.mark.parametrize("vendor", VENDORS)
def test_retry_submits_anew_when_the_earlier_job_failed(emulator, context, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails"))
    entry = earlier_try(vendor)
    with hook_for_connection(CONN_IDS[vendor]) as hook, pytest.raises(NanoBananaJobFailedError):
        hook.wait_for_job(entry["job_id"], poll_interval=0.05, timeout=10)
    context["task_state_store"].set("nanobanana_job", entry)

    summary = generate(vendor).execute(context)

    assert summary["state"] == "succeeded"
    assert summary["job_id"] != entry["job_id"]
    assert emulator.counters()["accepted"][vendor] == 2
    assert ledger_entry(context)["job_id"] == summary["job_id"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_recorded_job_the_vendor_does_not_know_fails_as_possibly_billed_keeping_its_entry(
    emulator, context, vendor
):
    """No vendor documents its answer for an unknown id: it is no proof the paid job is gone."""
    entry = {"vendor": vendor, "job_id": UNKNOWN_IDS[vendor], "submitted_at": time.time() - 60}
    context["task_state_store"].set("nanobanana_job", entry)

    with pytest.raises(NanoBananaPossiblyBilledError, match=f"accepted job {entry['job_id']}"):
        generate(vendor).execute(context)

    assert emulator.counters()["accepted"][vendor] == 0, "nothing paid again"
    assert ledger_entry(context) == entry, "the entry is kept for the next look"


@pytest.mark.parametrize("vendor", VENDORS)
def test_resubmit_asked_for_submits_anew_when_the_vendor_does_not_know_the_job(emulator, context, vendor):
    entry = {"vendor": vendor, "job_id": UNKNOWN_IDS[vendor], "submitted_at": time.time() - 60}
    context["task_state_store"].set("nanobanana_job", entry)

    summary = generate(vendor, on_unknown_submission="resubmit").execute(context)

    assert summary["state"] == "succeeded"
    assert summary["job_id"] != entry["job_id"]
    assert emulator.counters()["accepted"][vendor] == 1


@pytest.mark.parametrize("vendor", VENDORS)
def test_entry_of_the_other_vendor_is_ignored(emulator, context, vendor):
    other = OTHER_VENDOR[vendor]
    entry = {"vendor": other, "job_id": UNKNOWN_IDS[other], "submitted_at": time.time()}
    context["task_state_store"].set("nanobanana_job", entry)

    summary = generate(vendor).execute(context)

    assert summary["vendor"] == vendor
    assert summary["job_id"] != entry["job_id"]
    counters = emulator.counters()
    assert counters["accepted"] == {vendor: 1, other: 0, "gemini": 0}
    assert not [name for name in counters["requests"] if name.startswith(f"{other}:")], (
        "the other vendor's job must not even be looked up"
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_retry_reattaches_through_the_variable_fallback(emulator, legacy_context, vendor):
    entry = earlier_try(vendor)
    name = variable_name(legacy_context["ti"])
    FakeVariable.store[name] = json.dumps(entry)

    summary = generate(vendor).execute(legacy_context)

    assert summary["job_id"] == entry["job_id"]
    assert emulator.counters()["accepted"][vendor] == 1
    assert json.loads(FakeVariable.store[name])["summary"] == summary, "kept until the success is recorded"


def test_variable_fallback_remembers_a_fresh_submission_until_the_job_is_done(emulator, legacy_context):
    emulator.configure(processing_seconds=0.6)
    with pytest.raises(NanoBananaTimeoutError, match="still pending"):
        generate("acedata", timeout=0.2).execute(legacy_context)
    entry = ledger_entry(legacy_context)
    assert entry is not None
    assert entry["job_id"] == legacy_context["ti"].xcom[0][1]

    summary = generate("acedata").execute(legacy_context)
    assert summary["job_id"] == entry["job_id"]
    assert emulator.counters()["accepted"]["acedata"] == 1
    assert ledger_entry(legacy_context)["summary"] == summary


def test_deferrable_retry_of_a_finished_job_returns_without_deferring(emulator, context):
    entry = earlier_try("acedata")
    context["task_state_store"].set("nanobanana_job", entry)
    time.sleep(0.3)  # the emulator's jobs take 0.2 s

    summary = generate("acedata", deferrable=True).execute(context)

    assert summary["job_id"] == entry["job_id"]
    assert summary["state"] == "succeeded"
    assert emulator.counters()["accepted"]["acedata"] == 1
    assert ledger_entry(context)["summary"] == summary
