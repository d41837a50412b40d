"""Retries over real HTTP: polls retry freely, paid submissions are re-sent only when provably unaccepted."""

from __future__ import annotations

import json
import time

import pytest

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaRateLimitError,
    NanoBananaServerError,
    NanoBananaSubmissionUnknownError,
)
from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState

from .conftest import ACEDATA_KEY, MODELSLAB_KEY

MODELSLAB_JOB = ImageJobRequest(kind=JobKind.GENERATE, prompt="a fox", width=1024, height=1024)
ACEDATA_JOB = ImageJobRequest(kind=JobKind.GENERATE, prompt="a fox")
SUBMIT = {"modelslab": ("text2img", MODELSLAB_JOB), "acedata": ("images", ACEDATA_JOB)}


@pytest.fixture(params=["modelslab", "acedata"])
def vendor(request, emulator):
    hook = ModelsLabHook(retry_delay=0.05) if request.param == "modelslab" else AceDataHook(retry_delay=0.05)
    yield request.param, hook
    hook.close()


def submit_with_fault(emulator, vendor, kind, **fault):
    name, hook = vendor
    endpoint, job = SUBMIT[name]
    emulator.add_fault(Fault(vendor=name, endpoint=endpoint, kind=kind, **fault))
    return hook.submit(job)


def counts(emulator, vendor):
    name = vendor[0]
    counters = emulator.counters()
    return counters["accepted"][name], counters["requests"].get(f"{name}:{SUBMIT[name][0]}", 0)


def test_429_is_retried_after_the_vendor_retry_after(emulator, vendor):
    started = time.monotonic()
    result = submit_with_fault(emulator, vendor, "rate_limit", times=1, retry_after=1.0)
    assert time.monotonic() - started >= 1.0, "the hook must wait out Retry-After"
    assert result.job_id
    assert counts(emulator, vendor) == (1, 2)


def test_persistent_429_surfaces_with_retry_after_once_the_budget_is_spent(emulator, vendor):
    vendor[1]._max_retries_override = 1
    with pytest.raises(NanoBananaRateLimitError) as error:
        submit_with_fault(emulator, vendor, "rate_limit", times=None, retry_after=0.1)
    assert error.value.retry_after is not None
    assert counts(emulator, vendor) == (0, 2)


def test_explicit_5xx_answer_is_resent(emulator, vendor):
    assert submit_with_fault(emulator, vendor, "server_error", status=503).job_id
    assert counts(emulator, vendor) == (1, 2)


@pytest.mark.parametrize("kind", ["drop", "drop_after_accept", "malformed"])
def test_unknown_outcome_is_never_resent(emulator, vendor, kind):
    """A dropped connection after sending looks the same whether or not the vendor created the job."""
    with pytest.raises(NanoBananaSubmissionUnknownError, match="not re-sent") as error:
        submit_with_fault(emulator, vendor, kind)
    assert counts(emulator, vendor)[1] == 1, "exactly one generation request reached the vendor"
    assert MODELSLAB_KEY not in str(error.value)
    assert ACEDATA_KEY not in str(error.value)


def test_read_timeout_on_submission_is_never_resent(emulator, vendor):
    vendor[1]._timeout_override = 0.3
    with pytest.raises(NanoBananaSubmissionUnknownError, match="ReadTimeout"):
        submit_with_fault(emulator, vendor, "slow", delay=1.0)
    assert counts(emulator, vendor)[1] == 1


def test_acedata_5xx_carrying_a_task_id_is_an_accepted_job(emulator):
    with AceDataHook(retry_delay=0.05) as hook:
        emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="server_error_with_task"))
        result = hook.submit(ACEDATA_JOB)
        assert result.state is JobState.PENDING
        assert hook.wait_for_job(result.job_id, poll_interval=0.1, timeout=10).state is JobState.SUCCEEDED
    assert emulator.counters()["accepted"]["acedata"] == 1
    assert emulator.counters()["requests"]["acedata:images"] == 1


@pytest.mark.parametrize("kind", ["server_error", "drop", "malformed", "rate_limit"])
def test_polls_retry_through_transient_failures(emulator, kind):
    with ModelsLabHook(retry_delay=0.05) as hook:
        job_id = hook.submit(MODELSLAB_JOB).job_id
        emulator.add_fault(Fault(vendor="modelslab", endpoint="fetch", kind=kind, times=2, retry_after=0.1))
        assert hook.get_job(job_id).job_id == job_id
    assert emulator.counters()["requests"]["modelslab:fetch"] == 3


def test_polls_give_up_after_the_budget_with_a_server_error(emulator):
    with AceDataHook(retry_delay=0.05, max_retries=2) as hook:
        job_id = hook.submit(ACEDATA_JOB).job_id
        emulator.add_fault(Fault(vendor="acedata", endpoint="tasks", kind="server_error", times=None))
        with pytest.raises(NanoBananaServerError):
            hook.get_job(job_id)
    assert emulator.counters()["requests"]["acedata:tasks"] == 3


def test_refused_connection_is_retried_then_a_server_error_naming_no_secret(monkeypatch, task_log):
    closed_port = "http://127.0.0.1:9"
    connection = {"conn_type": "nanobanana_modelslab", "host": closed_port, "password": MODELSLAB_KEY}
    monkeypatch.setenv("AIRFLOW_CONN_NANOBANANA_MODELSLAB_DEFAULT", json.dumps(connection))
    with (
        pytest.raises(NanoBananaServerError, match="could not reach") as error,
        ModelsLabHook(retry_delay=0.01, max_retries=1) as hook,
    ):
        hook.submit(MODELSLAB_JOB)
    assert MODELSLAB_KEY not in str(error.value)
    assert task_log().count("retrying in") == 1, "a request that never connected may be re-sent"
