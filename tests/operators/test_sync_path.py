"""Non-deferrable operators poll in the worker; bad input and refusals cost nothing."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaContentPolicyError,
    NanoBananaInvalidRequestError,
    NanoBananaJobFailedError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.operators.img2img import NanoBananaImageToImageOperator

from .conftest import CONN_IDS, ledger_entry
from .support import IMAGE, OTHER_VENDOR, VENDORS

SUBMIT_ENDPOINT = {"modelslab": "text2img", "acedata": "images"}


def generate(vendor: str, **kwargs) -> NanoBananaGenerateImageOperator:
    kwargs = {"deferrable": False, "poll_interval": 0.05, "timeout": 30, **kwargs}
    return NanoBananaGenerateImageOperator(
        task_id="draw", conn_id=CONN_IDS[vendor], prompt="a ripe banana", **kwargs
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_blocking_execute_polls_until_done_and_returns_the_summary(emulator, context, vendor):
    summary = generate(vendor).execute(context)

    assert summary["state"] == "succeeded"
    assert summary["vendor"] == vendor
    assert summary["delivered_count"] == summary["requested_count"] == 1
    assert summary["images"][0].startswith(emulator.url)
    counters = emulator.counters()
    assert counters["accepted"] == {vendor: 1, OTHER_VENDOR[vendor]: 0, "gemini": 0}
    assert counters["polls"][summary["job_id"]] >= 1
    assert context["ti"].xcom == [("job_id", summary["job_id"])]
    assert ledger_entry(context)["summary"] == summary, "kept until Airflow records the success"


@pytest.mark.parametrize("vendor", VENDORS)
def test_wait_for_completion_false_returns_a_pending_summary_at_once(emulator, context, vendor):
    summary = generate(vendor, wait_for_completion=False).execute(context)

    assert summary["state"] == "pending"
    assert summary["images"] == []
    assert summary["finished_at"] is None
    assert summary["job_id"] == context["ti"].xcom[0][1]
    counters = emulator.counters()
    assert counters["accepted"][vendor] == 1
    assert counters["polls"] == {}, "nothing waited for the job"


@pytest.mark.parametrize("vendor", VENDORS)
def test_failed_job_raises_job_failed(emulator, context, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails"))
    with pytest.raises(NanoBananaJobFailedError) as raised:
        generate(vendor).execute(context)
    assert raised.value.job_id == context["ti"].xcom[0][1]
    assert emulator.counters()["accepted"][vendor] == 1


@pytest.mark.parametrize("vendor", VENDORS)
def test_moderation_refusal_raises_content_policy_and_bills_nothing(emulator, context, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="moderation"))
    with pytest.raises(NanoBananaContentPolicyError):
        generate(vendor).execute(context)
    assert emulator.counters()["accepted"] == {"modelslab": 0, "acedata": 0, "gemini": 0}
    assert ledger_entry(context) is None
    assert context["ti"].xcom == []


def test_blocking_wait_past_timeout_raises_and_keeps_the_job_for_a_retry(emulator, context):
    emulator.configure(processing_seconds=5)
    with pytest.raises(NanoBananaTimeoutError):
        generate("acedata", timeout=0.3).execute(context)
    entry = ledger_entry(context)
    assert entry is not None, "a retry must be able to reattach to the still-running job"
    assert entry["job_id"] == context["ti"].xcom[0][1]


@pytest.mark.parametrize(
    ("vendor", "operator_class", "arguments", "field"),
    [
        ("acedata", NanoBananaGenerateImageOperator, {"width": 1024}, "width"),
        ("modelslab", NanoBananaGenerateImageOperator, {"count": 9}, "count"),
        (
            "acedata",
            NanoBananaImageToImageOperator,
            {"images": [IMAGE], "noise_scale_start": 5.0},
            "options.noise_scale_start",
        ),
        ("modelslab", NanoBananaGenerateImageOperator, {"images": [IMAGE]}, "images"),
    ],
)
@pytest.mark.parametrize("deferrable", [False, True])
def test_invalid_request_fails_before_any_request(
    emulator, context, vendor, operator_class, arguments, field, deferrable
):
    operator = operator_class(
        task_id="draw", conn_id=CONN_IDS[vendor], prompt="p", deferrable=deferrable, **arguments
    )
    with pytest.raises(NanoBananaInvalidRequestError, match=field) as raised:
        operator.execute(context)
    assert raised.value.field == field
    counters = emulator.counters()
    assert counters["requests"] == {}, "nothing may reach the vendor"
    assert counters["accepted"] == {"modelslab": 0, "acedata": 0, "gemini": 0}
    assert ledger_entry(context) is None
