"""ModelsLabHook against the emulator: every endpoint, sync and async, and every error class."""

from __future__ import annotations

import base64

import pytest

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaContentPolicyError,
    NanoBananaInvalidRequestError,
    NanoBananaJobFailedError,
    NanoBananaJobNotFoundError,
    NanoBananaQuotaError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.hooks.base import ApiCall
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState

from .conftest import MODELSLAB_KEY

IMAGE = "https://assets.example/ref.png"
ENTERPRISE_JOBS = [
    ImageJobRequest(kind=JobKind.GENERATE, prompt="a red fox", width=1024, height=1024, count=2, seed=42),
    ImageJobRequest(
        kind=JobKind.IMG2IMG, prompt="watercolor", images=(IMAGE,), options={"keep_original_aspect": "no"}
    ),
    ImageJobRequest(
        kind=JobKind.EDIT, prompt="both together", images=(IMAGE, IMAGE + "?b"), width=1024, height=1024
    ),
]
V7_JOBS = [
    ImageJobRequest(kind=JobKind.GENERATE, prompt="a dragon", model="nano-banana-pro", aspect_ratio="16:9"),
    ImageJobRequest(kind=JobKind.EDIT, prompt="girl and dog", images=(IMAGE, IMAGE + "?b")),
]


@pytest.mark.parametrize("request_", ENTERPRISE_JOBS, ids=lambda r: r.kind.value)
def test_enterprise_job_goes_from_processing_to_the_announced_images(modelslab, emulator, request_):
    submitted = modelslab.submit(request_)
    assert submitted.state is JobState.PENDING
    assert submitted.eta_seconds is not None
    done = modelslab.wait_for_job(submitted.job_id, poll_interval=0.1, timeout=10)
    assert done.state is JobState.SUCCEEDED
    assert len(done.images) == (request_.count or 1) == submitted.metadata["announced_images"]
    assert all(image.url.startswith(emulator.url) for image in done.images)
    assert emulator.counters()["accepted"]["modelslab"] == 1


@pytest.mark.parametrize("request_", V7_JOBS, ids=lambda r: r.kind.value)
def test_v7_job_is_fetched_from_the_v7_fetch_endpoint(modelslab_v7, emulator, request_):
    submitted = modelslab_v7.submit(request_)
    done = modelslab_v7.wait_for_job(submitted.job_id, poll_interval=0.1, timeout=10)
    assert done.state is JobState.SUCCEEDED
    assert emulator.counters()["requests"].get("modelslab:v7_fetch", 0) >= 1


async def test_async_submit_and_fetch_share_the_sync_parsing(emulator):
    async with ModelsLabHook(retry_delay=0.05) as hook:
        submitted = await hook.asubmit(ENTERPRISE_JOBS[0])
        assert submitted.state is JobState.PENDING
        emulator.configure(processing_seconds=0)
        polled = await hook.aget_job(submitted.job_id)
    assert polled.job_id == submitted.job_id
    assert polled.state in (JobState.PENDING, JobState.SUCCEEDED)


def test_samples_are_distinct_images(modelslab, emulator):
    import httpx

    done = modelslab.wait_for_job(modelslab.submit(ENTERPRISE_JOBS[0]).job_id, poll_interval=0.1, timeout=10)
    bodies = [httpx.get(image.url).content for image in done.images]
    assert len(set(bodies)) == len(bodies) == 2
    assert all(body.startswith(b"\x89PNG") for body in bodies)


def test_instant_success_when_the_server_is_idle(modelslab, emulator):
    emulator.configure(processing_seconds=0)
    result = modelslab.submit(ENTERPRISE_JOBS[0])
    assert result.state is JobState.SUCCEEDED
    assert len(result.images) == 2


def test_base64_output_arrives_as_decodable_png(modelslab, emulator):
    emulator.configure(processing_seconds=0)
    result = modelslab.submit(
        ImageJobRequest(kind=JobKind.GENERATE, prompt="p", width=1024, height=1024, options={"base64": True})
    )
    assert base64.b64decode(result.images[0].base64_data).startswith(b"\x89PNG")


def test_legacy_quirk_shapes_parse_the_same(modelslab, emulator):
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="legacy"))
    submitted = modelslab.submit(ENTERPRISE_JOBS[0])
    emulator.add_fault(Fault(vendor="modelslab", endpoint="fetch", kind="legacy", times=None))
    pending = modelslab.get_job(submitted.job_id)
    assert pending.job_id == submitted.job_id
    done = modelslab.wait_for_job(submitted.job_id, poll_interval=0.1, timeout=10)
    assert done.state is JobState.SUCCEEDED
    assert len(done.images) == 2


def test_wrong_key_is_an_authentication_error_without_the_key(emulator, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_NANOBANANA_MODELSLAB_DEFAULT",
        f'{{"conn_type": "nanobanana_modelslab", "host": "{emulator.url}", "password": "wrong-key-123"}}',
    )
    with pytest.raises(NanoBananaAuthenticationError) as error, ModelsLabHook() as hook:
        hook.submit(ENTERPRISE_JOBS[0])
    assert "wrong-key-123" not in str(error.value)
    assert emulator.counters()["accepted"]["modelslab"] == 0


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [("quota", NanoBananaQuotaError), ("moderation", NanoBananaContentPolicyError)],
)
@pytest.mark.parametrize("http_errors", [False, True], ids=["http-200", "http-4xx"])
def test_refusals_raise_their_own_class_whatever_the_http_status(
    modelslab, emulator, kind, error_class, http_errors
):
    emulator.configure(modelslab_http_errors=http_errors)
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind=kind))
    with pytest.raises(error_class):
        modelslab.submit(ENTERPRISE_JOBS[0])
    assert emulator.counters()["requests"]["modelslab:text2img"] == 1, "refusals are not retried"


def test_vendor_side_validation_error_is_invalid_request(modelslab):
    call = ApiCall("text2img", "/api/v1/enterprise/nano_banana/text2img", {"prompt": "p", "samples": 9}, True)
    with pytest.raises(NanoBananaInvalidRequestError, match="samples"):
        modelslab.call(call)


def test_failed_job_raises_job_failed_with_the_vendor_reason(modelslab, emulator):
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="job_fails"))
    submitted = modelslab.submit(ENTERPRISE_JOBS[0])
    with pytest.raises(NanoBananaJobFailedError, match="Failed, Try Again") as error:
        modelslab.wait_for_job(submitted.job_id, poll_interval=0.1, timeout=10)
    assert error.value.job_id == submitted.job_id


def test_unknown_job_is_job_not_found(modelslab):
    with pytest.raises(NanoBananaJobNotFoundError) as error:
        modelslab.get_job("123")
    assert error.value.job_id == "123"


def test_wait_gives_up_at_its_timeout(modelslab, emulator):
    emulator.configure(processing_seconds=30)
    submitted = modelslab.submit(ENTERPRISE_JOBS[0])
    with pytest.raises(NanoBananaTimeoutError, match="still pending"):
        modelslab.wait_for_job(submitted.job_id, poll_interval=0.1, timeout=0.3)


def test_test_connection_accepts_the_key_and_names_a_bad_one(emulator, monkeypatch):
    ok, message = ModelsLabHook().test_connection()
    assert ok, message
    assert emulator.counters()["accepted"]["modelslab"] == 0, "checking the key must not generate"
    monkeypatch.setenv(
        "AIRFLOW_CONN_NANOBANANA_MODELSLAB_DEFAULT",
        f'{{"conn_type": "nanobanana_modelslab", "host": "{emulator.url}", "password": "nope-456"}}',
    )
    ok, message = ModelsLabHook().test_connection()
    assert not ok
    assert "Authentication" in message
    assert "nope-456" not in message


def test_key_travels_in_the_body_but_never_in_reprs(modelslab):
    settings = modelslab.settings
    assert MODELSLAB_KEY not in repr(settings)
    assert MODELSLAB_KEY not in repr(modelslab)
    assert settings.api_key.reveal() == MODELSLAB_KEY


def test_the_key_leak_check_sees_hook_log_lines(modelslab, task_log):
    modelslab.log.info("marker-7f3a from the hook logger")
    assert "marker-7f3a" in task_log()
