"""A submission whose answer was lost is never paid for twice by the task's retry."""

from __future__ import annotations

from typing import Any

import pytest
from airflow_fakes import FakeVariable

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaContentPolicyError,
    NanoBananaInvalidRequestError,
    NanoBananaPossiblyBilledError,
    NanoBananaSubmissionUnknownError,
)
from airflow_provider_nanobanana.ledger.consent import consent_variable
from airflow_provider_nanobanana.ledger.job import JobLedger
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.operators.img2img import NanoBananaImageToImageOperator
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

from .conftest import CONN_IDS, ledger_entry
from .support import VENDORS

SUBMIT_ENDPOINT = {"modelslab": "text2img", "acedata": "images"}


def generate(vendor: str, **kwargs: Any) -> NanoBananaGenerateImageOperator:
    kwargs = {"deferrable": False, "poll_interval": 0.05, "timeout": 30, **kwargs}
    return NanoBananaGenerateImageOperator(
        task_id="draw", conn_id=CONN_IDS[vendor], prompt="a ripe banana", **kwargs
    )


def lose_the_answer(emulator, vendor: str, context) -> None:
    """The first try: the vendor accepts the job and the connection drops before the answer."""
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="drop_after_accept"))
    with pytest.raises(NanoBananaSubmissionUnknownError):
        generate(vendor).execute(context)
    entry = ledger_entry(context)
    assert entry["job_id"] is None, "the intent stays, so the retry knows a request went out"
    assert entry["sent_at"] > 0


def test_an_acedata_retry_after_a_lost_answer_finds_the_job_and_pays_nothing(emulator, context):
    lose_the_answer(emulator, "acedata", context)

    summary = generate("acedata").execute(context)

    assert summary["state"] == "succeeded"
    assert emulator.counters()["accepted"]["acedata"] == 1, "one payment for the two tries"
    assert ledger_entry(context)["summary"]["job_id"] == summary["job_id"]


def test_a_modelslab_retry_after_a_lost_answer_fails_saying_the_job_may_be_billed(emulator, context):
    lose_the_answer(emulator, "modelslab", context)

    with pytest.raises(NanoBananaPossiblyBilledError) as error:
        generate("modelslab").execute(context)

    assert "may exist and be billed" in str(error.value)
    remedy = str(error.value).splitlines()[-2]
    assert (
        remedy
        == f"  airflow variables set {consent_variable(TaskInstanceKey.from_context(context))} resubmit"
    )
    assert emulator.counters()["accepted"]["modelslab"] == 1
    assert ledger_entry(context)["job_id"] is None, "still unknown: a clear fails the same way"


def test_the_consent_variable_resubmits_once_and_is_used_up(emulator, context):
    lose_the_answer(emulator, "modelslab", context)
    name = consent_variable(TaskInstanceKey.from_context(context))
    FakeVariable.store[name] = "resubmit"  # what `airflow variables set` writes

    summary = generate("modelslab").execute(context)

    assert summary["state"] == "succeeded"
    assert emulator.counters()["accepted"]["modelslab"] == 2
    assert name not in FakeVariable.store, "a later lost answer asks again"


class WorkerLost(BaseException):
    """The process dying at a chosen line: nothing after it runs, no handler catches it."""


def test_a_worker_lost_between_taking_consent_and_the_new_intent_pays_nothing_and_asks_again(
    emulator, context, monkeypatch
):
    lose_the_answer(emulator, "modelslab", context)
    name = consent_variable(TaskInstanceKey.from_context(context))
    FakeVariable.store[name] = "resubmit"
    remember = JobLedger.remember

    def die_at_the_new_intent(ledger: JobLedger, entry: dict[str, Any]) -> None:
        if entry["job_id"] is None:
            raise WorkerLost
        remember(ledger, entry)

    with monkeypatch.context() as dying:
        dying.setattr(JobLedger, "remember", die_at_the_new_intent)
        with pytest.raises(WorkerLost):
            generate("modelslab").execute(context)
    assert name not in FakeVariable.store, "the consent was used up before the worker died"

    with pytest.raises(NanoBananaPossiblyBilledError):
        generate("modelslab").execute(context)
    assert emulator.counters()["accepted"]["modelslab"] == 1, "neither later try paid"
    assert ledger_entry(context)["job_id"] is None, "the old intent is still there: a clear asks again"


def test_on_unknown_submission_resubmit_accepts_the_risk_and_submits_again(emulator, context):
    lose_the_answer(emulator, "modelslab", context)

    summary = generate("modelslab", on_unknown_submission="resubmit").execute(context)

    assert summary["state"] == "succeeded"
    assert emulator.counters()["accepted"]["modelslab"] == 2


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_refused_submission_forgets_its_intent_so_the_retry_submits(emulator, context, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="moderation"))
    with pytest.raises(NanoBananaContentPolicyError):
        generate(vendor).execute(context)

    assert ledger_entry(context) is None
    assert emulator.counters()["accepted"][vendor] == 0


def test_an_unknown_choice_for_on_unknown_submission_fails_before_any_request(emulator, context):
    with pytest.raises(NanoBananaInvalidRequestError, match="on_unknown_submission"):
        generate("acedata", on_unknown_submission="retry").execute(context)
    assert emulator.counters()["requests"] == {}


def test_two_s3_images_for_img2img_fail_on_the_count_before_any_s3_read(emulator, context):
    operator = NanoBananaImageToImageOperator(
        task_id="draw",
        conn_id=CONN_IDS["acedata"],
        prompt="restyle",
        images=["s3://no-such-bucket/a.png", "s3://no-such-bucket/b.png"],
        aws_conn_id="no_such_aws_connection",  # reading S3 would fail differently
    )
    with pytest.raises(NanoBananaInvalidRequestError) as error:
        operator.execute(context)
    assert "exactly one reference image" in str(error.value)
    assert "s3://no-such-bucket/a.png" in str(error.value)
    assert "data:" not in str(error.value)


def test_a_key_template_climbing_out_of_the_prefix_fails_before_the_job_is_paid(emulator, context):
    operator = generate(
        "acedata", s3_output={"bucket": "images", "key_template": "{prefix}/../{job_id}_{index}.{ext}"}
    )
    with pytest.raises(NanoBananaInvalidRequestError, match="key_template"):
        operator.execute(context)
    assert emulator.counters()["accepted"]["acedata"] == 0


def test_options_that_render_to_non_json_text_fail_naming_the_field(emulator, context):
    with pytest.raises(NanoBananaInvalidRequestError) as error:
        generate("acedata", options="async=false").execute(context)
    assert error.value.field == "options"
    assert emulator.counters()["requests"] == {}
