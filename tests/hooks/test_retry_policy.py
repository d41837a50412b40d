"""Which failures are retried, and for how long, for paid submissions versus free polls."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
    NanoBananaSubmissionUnknownError,
    NanoBananaTimeoutError,
)
from airflow_provider_nanobanana.hooks.retry import RetryPolicy, retry_after_seconds

POLICY = RetryPolicy(max_retries=3, base_delay=0.5, max_wait=10.0)


def delay(error, *, attempt=0, is_submission):
    return POLICY.delay_before_retry(
        error, attempt=attempt, is_submission=is_submission, vendor="V", endpoint="e"
    )


@pytest.mark.parametrize("is_submission", [True, False])
@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")])
def test_errors_before_sending_are_retried_for_everyone(error, is_submission):
    assert 0.25 <= delay(error, is_submission=is_submission) <= 0.5


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout("late"), httpx.RemoteProtocolError("dropped"), httpx.WriteError("cut")]
)
def test_submission_with_unknown_outcome_is_never_resent(error):
    with pytest.raises(NanoBananaSubmissionUnknownError, match="not re-sent"):
        delay(error, is_submission=True)


def test_poll_read_timeout_is_retried_then_surfaces_as_timeout():
    assert delay(httpx.ReadTimeout("late"), is_submission=False) > 0
    with pytest.raises(NanoBananaTimeoutError):
        delay(httpx.ReadTimeout("late"), attempt=3, is_submission=False)


def test_explicit_server_error_answer_is_retried_even_for_submissions():
    assert delay(NanoBananaServerError("500 internal"), is_submission=True) > 0


def test_rate_limit_waits_at_least_the_vendor_retry_after():
    assert delay(NanoBananaRateLimitError("slow down", retry_after=3.0), is_submission=True) >= 3.0


def test_rate_limit_longer_than_max_wait_is_raised_for_airflow_to_retry():
    with pytest.raises(NanoBananaRateLimitError) as error:
        delay(NanoBananaRateLimitError("slow down", retry_after=600.0), is_submission=False)
    assert error.value.retry_after == 600.0


def test_non_transient_errors_are_raised_at_once():
    with pytest.raises(NanoBananaAuthenticationError):
        delay(NanoBananaAuthenticationError("bad key"), is_submission=False)


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(max_retries=10, base_delay=1.0, max_wait=4.0)
    assert [policy.backoff(n) <= min(4.0, 2**n) for n in range(6)] == [True] * 6
    assert policy.backoff(5) >= 2.0


def test_retry_after_sources():
    assert retry_after_seconds(httpx.Headers({"Retry-After": "7"})) == 7.0
    http_date = formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(httpx.Headers({"Retry-After": http_date})) <= 31
    assert retry_after_seconds(httpx.Headers(), 30) == 30.0
    reset = str(int(time.time()) + 12)
    assert 10 <= retry_after_seconds(httpx.Headers({"X-RateLimit-Reset": reset})) <= 13
    assert retry_after_seconds(httpx.Headers()) is None
