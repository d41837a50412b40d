"""AceDataHook against the emulator: generate and edit, sync and async modes, tasks and batches."""

from __future__ import annotations

import base64

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaContentPolicyError,
    NanoBananaInvalidRequestError,
    NanoBananaJobFailedError,
    NanoBananaJobNotFoundError,
    NanoBananaQuotaError,
)
from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.base import ApiCall
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState

GENERATE = ImageJobRequest(kind=JobKind.GENERATE, prompt="a white siamese cat", count=2, aspect_ratio="16:9")
SMALL_PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()


def test_async_generate_is_pending_then_succeeds_through_retrieve(acedata, emulator):
    submitted = acedata.submit(GENERATE)
    assert submitted.state is JobState.PENDING
    done = acedata.wait_for_job(submitted.job_id, poll_interval=0.1, timeout=10)
    assert done.state is JobState.SUCCEEDED
    assert done.metadata["requested_count"] == done.metadata["delivered_count"] == 2
    sizes = {httpx.get(image.url).content[16:24] for image in done.images}
    assert sizes == {(1344).to_bytes(4, "big") + (768).to_bytes(4, "big")}, "16:9 at 1K is 1344x768"


def test_sync_mode_answers_with_the_finished_images(acedata):
    result = acedata.submit(
        ImageJobRequest(kind=JobKind.EDIT, prompt="add a hat", images=(SMALL_PNG,), options={"async": False})
    )
    assert result.state is JobState.SUCCEEDED
    assert len(result.images) == 1


def test_callback_mode_still_answers_with_a_task_id(acedata):
    result = acedata.submit(
        ImageJobRequest(kind=JobKind.GENERATE, prompt="p", options={"callback_url": "http://127.0.0.1:9/cb"})
    )
    assert result.state is JobState.PENDING
    assert result.job_id


def test_batch_retrieve_answers_for_many_tasks_in_one_request(acedata, emulator):
    ids = [acedata.submit(GENERATE).job_id for _ in range(3)]
    before = emulator.counters()["requests"].get("acedata:tasks", 0)
    results = acedata.get_jobs([*ids, "not-a-task"])
    assert emulator.counters()["requests"]["acedata:tasks"] == before + 1
    assert sorted(results) == sorted(ids), "unknown ids are simply absent"


async def test_async_methods_cover_submit_retrieve_and_batch(emulator):
    async with AceDataHook(retry_delay=0.05) as hook:
        submitted = await hook.asubmit(GENERATE)
        single = await hook.aget_job(submitted.job_id)
        batch = await hook.aget_jobs([submitted.job_id])
    assert single.job_id == submitted.job_id
    assert batch[submitted.job_id].state in (JobState.PENDING, JobState.SUCCEEDED)


def test_partial_delivery_is_reported_not_hidden(acedata, emulator):
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="partial"))
    done = acedata.wait_for_job(acedata.submit(GENERATE).job_id, poll_interval=0.1, timeout=10)
    assert done.metadata["requested_count"] == 2
    assert done.metadata["delivered_count"] == len(done.images) == 1


def test_failed_task_raises_job_failed(acedata, emulator):
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="job_fails"))
    submitted = acedata.submit(GENERATE)
    with pytest.raises(NanoBananaJobFailedError, match="generation failed"):
        acedata.wait_for_job(submitted.job_id, poll_interval=0.1, timeout=10)


@pytest.mark.parametrize(
    ("kind", "error_class", "code"),
    [("quota", NanoBananaQuotaError, "used_up"), ("moderation", NanoBananaContentPolicyError, "forbidden")],
)
def test_403_refusals_are_told_apart_by_code(acedata, emulator, kind, error_class, code):
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind=kind))
    with pytest.raises(error_class) as error:
        acedata.submit(GENERATE)
    assert error.value.code == code
    assert error.value.status_code == 403


def test_vendor_side_validation_error_is_invalid_request(acedata):
    call = ApiCall("images", "/nano-banana/images", {"action": "generate", "prompt": "p", "model": "x"}, True)
    with pytest.raises(NanoBananaInvalidRequestError, match="model is invalid"):
        acedata.call(call)


def test_unknown_task_is_job_not_found(acedata):
    with pytest.raises(NanoBananaJobNotFoundError):
        acedata.get_job("6a97bf49-0000-0000-0000-000000000000")


def test_bad_token_fails_auth_and_test_connection_without_echoing_it(emulator, monkeypatch):
    assert AceDataHook().test_connection()[0]
    monkeypatch.setenv(
        "AIRFLOW_CONN_NANOBANANA_ACEDATA_DEFAULT",
        f'{{"conn_type": "nanobanana_acedata", "host": "{emulator.url}", "password": "bad-token-789"}}',
    )
    with pytest.raises(NanoBananaAuthenticationError) as error, AceDataHook() as hook:
        hook.submit(GENERATE)
    assert "bad-token-789" not in str(error.value)
    ok, message = AceDataHook().test_connection()
    assert not ok
    assert "bad-token-789" not in message
    assert emulator.counters()["accepted"]["acedata"] == 0


def test_connection_extras_pick_the_default_model(emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_NANOBANANA_ACEDATA_DEFAULT",
        f'{{"conn_type": "nanobanana_acedata", "host": "{emulator.url}", "password": "acedata-test-key",'
        ' "extra": {"default_model": "nano-banana-pro", "timeout": 5, "max_retries": 1}}',
    )
    with AceDataHook() as hook:
        result = hook.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="p", resolution="4K"))
        assert hook.settings.timeout == 5.0
        assert hook.settings.max_retries == 1
    assert result.state is JobState.PENDING, "4K is only accepted because the default model is pro"


def test_uri_form_connection_with_encoded_base_url(emulator, monkeypatch):
    from urllib.parse import quote

    monkeypatch.setenv(
        "AIRFLOW_CONN_NANOBANANA_ACEDATA_DEFAULT",
        f"nanobanana-acedata://:acedata-test-key@{quote(emulator.url, safe='')}?default_model=nano-banana-2",
    )
    with AceDataHook() as hook:
        assert hook.settings.base_url == emulator.url
        assert hook.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="p", resolution="2K")).job_id
