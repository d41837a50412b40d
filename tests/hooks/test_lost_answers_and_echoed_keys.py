"""Answers that go missing and vendor text that repeats the key, over real HTTP against the emulator."""

from __future__ import annotations

import time

import pytest

from airflow_provider_nanobanana import polling
from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaInvalidRequestError,
    NanoBananaJobFailedError,
    NanoBananaPossiblyBilledError,
    NanoBananaSubmissionUnknownError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.hooks import acedata as acedata_module
from airflow_provider_nanobanana.hooks import base as base_hook_module
from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.base import ApiCall
from airflow_provider_nanobanana.hooks.modelslab_responses import parse_job
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState

from .conftest import ACEDATA_KEY, MODELSLAB_KEY

FOX = ImageJobRequest(kind=JobKind.GENERATE, prompt="a fox in the snow")
MODELSLAB_FOX = ImageJobRequest(kind=JobKind.GENERATE, prompt="a fox in the snow", width=1024, height=1024)


@pytest.mark.parametrize(
    ("hook_name", "request_", "endpoint", "key"),
    [
        ("modelslab", MODELSLAB_FOX, "text2img", MODELSLAB_KEY),
        ("acedata", FOX, "images", ACEDATA_KEY),
    ],
)
def test_a_key_echoed_in_a_failed_jobs_message_is_scrubbed_before_it_reaches_the_job_model(
    request, emulator, hook_name, request_, endpoint, key
):
    hook = request.getfixturevalue(hook_name)
    emulator.configure(processing_seconds=0.2)
    emulator.add_fault(Fault(vendor=hook_name, endpoint=endpoint, kind="job_fails_echoing_key"))
    job = hook.submit(request_)
    time.sleep(0.3)

    result = hook.get_job(job.job_id)

    assert result.state is JobState.FAILED
    assert "request key ***" in result.error_message, "the vendor did echo it; the hook scrubbed it"
    assert key not in str(result.to_dict())
    with pytest.raises(NanoBananaJobFailedError) as error:
        hook.wait_for_job(job.job_id, poll_interval=0.05, timeout=5)
    assert key not in str(error.value)


def test_acedata_finds_the_task_a_submission_with_a_lost_answer_created(acedata, emulator):
    sent_at = time.time()
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="drop_after_accept"))
    with pytest.raises(NanoBananaSubmissionUnknownError):
        acedata.submit(FOX)
    other = acedata.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="another prompt"))

    found = acedata.find_lost_submission(FOX, sent_at=sent_at)

    assert found is not None
    assert found.job_id != other.job_id
    assert emulator.counters()["accepted"]["acedata"] == 2, "the search itself pays for nothing"


def _lose_fox_then_submit_others(acedata, emulator, others: int) -> float:
    sent_at = time.time()
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="drop_after_accept"))
    with pytest.raises(NanoBananaSubmissionUnknownError):
        acedata.submit(FOX)
    for number in range(others):
        acedata.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt=f"product {number}"))
    return sent_at


def test_a_lost_task_is_found_behind_many_newer_tasks_of_a_busy_account(acedata, emulator, monkeypatch):
    """Newest pages come first: the lost task is on the last page, past where a capped search stopped."""
    monkeypatch.setattr(acedata_module, "_SEARCH_PAGE", 5)
    sent_at = _lose_fox_then_submit_others(acedata, emulator, others=60)

    found = acedata.find_lost_submission(FOX, sent_at=sent_at)

    assert found is not None, "found on page 13 of 13"
    assert emulator.counters()["accepted"]["acedata"] == 61


def test_a_search_too_big_to_read_whole_is_possibly_billed_not_none_created(acedata, emulator, monkeypatch):
    monkeypatch.setattr(acedata_module, "_SEARCH_PAGE", 5)
    monkeypatch.setattr(acedata_module, "_SEARCH_PAGES", 2)
    sent_at = _lose_fox_then_submit_others(acedata, emulator, others=12)

    with pytest.raises(NanoBananaPossiblyBilledError, match="more than 10 tasks were created"):
        acedata.find_lost_submission(FOX, sent_at=sent_at)


@pytest.fixture
def quick_acedata(emulator, monkeypatch):
    """A hook with a 0.5 s timeout, whose lost requests stop being in flight 0.5 s after that."""
    monkeypatch.setattr(base_hook_module, "IN_FLIGHT_MARGIN", 0.5)
    monkeypatch.setattr(base_hook_module, "SEARCH_PAUSE", 0.2)
    with AceDataHook(timeout=0.5, retry_delay=0.05) as hook:
        yield hook


def test_acedata_says_no_task_was_created_once_the_request_cannot_be_in_flight(quick_acedata, emulator):
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="drop"))
    sent_at = time.time()
    with pytest.raises(NanoBananaSubmissionUnknownError):
        quick_acedata.submit(FOX)

    assert quick_acedata.find_lost_submission(FOX, sent_at=sent_at) is None
    assert time.time() - sent_at >= 1.0, "it searched until the request's timeout and margin had passed"
    assert emulator.counters()["accepted"]["acedata"] == 0


def test_a_task_a_slow_request_creates_after_the_first_search_is_still_found(quick_acedata, emulator):
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="slow", delay=0.8))
    sent_at = time.time()
    with pytest.raises(NanoBananaSubmissionUnknownError):
        quick_acedata.submit(FOX)  # times out at 0.5 s; the task appears at 0.8 s

    found = quick_acedata.find_lost_submission(FOX, sent_at=sent_at)

    assert found is not None
    assert emulator.counters()["accepted"]["acedata"] == 1


def test_two_matching_acedata_tasks_cannot_be_told_apart(acedata):
    sent_at = time.time()
    first, second = acedata.submit(FOX), acedata.submit(FOX)

    with pytest.raises(NanoBananaPossiblyBilledError) as error:
        acedata.find_lost_submission(FOX, sent_at=sent_at)
    assert first.job_id in str(error.value)
    assert second.job_id in str(error.value)


def test_a_modelslab_answer_without_a_job_id_is_an_unknown_outcome_not_job_empty_string(modelslab):
    call = ApiCall("text2img", "/api/v1/enterprise/nano_banana/text2img", {}, is_submission=True)

    with pytest.raises(NanoBananaSubmissionUnknownError, match="names no job id"):
        modelslab._submitted(call, parse_job({"status": "processing"}))


def test_acedata_sync_mode_reads_its_answer_for_as_long_as_a_generation_takes():
    sync = ImageJobRequest(kind=JobKind.GENERATE, prompt="p", options={"async": False})
    assert (
        acedata_module.build_submission(sync, "nano-banana").read_timeout == acedata_module.SYNC_READ_TIMEOUT
    )
    assert acedata_module.build_submission(FOX, "nano-banana").read_timeout is None, "async answers at once"


def test_an_s3_reference_is_never_sent_to_a_vendor(acedata, emulator):
    edit = ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=("s3://bucket/in.png",))

    with pytest.raises(NanoBananaInvalidRequestError, match=r"s3://bucket/in\.png"):
        acedata.submit(edit)
    assert emulator.counters()["accepted"]["acedata"] == 0


def test_a_blocking_wait_rides_out_an_outage_until_its_deadline(acedata, emulator, monkeypatch):
    monkeypatch.setattr(polling, "OUTAGE_DELAY_CEILING", 0.1)
    job = acedata.submit(FOX)
    emulator.add_fault(Fault(vendor="acedata", endpoint="tasks", kind="server_error", times=None))

    with pytest.raises(NanoBananaTimeoutError, match="AceData has not answered for"):
        acedata.wait_for_job(job.job_id, poll_interval=0.05, timeout=1.0)

    emulator.clear_faults()
    assert acedata.wait_for_job(job.job_id, poll_interval=0.05, timeout=10).state is JobState.SUCCEEDED
