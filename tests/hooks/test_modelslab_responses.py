"""ModelsLab answers in every documented and observed shape become one job result or one typed error."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaContentPolicyError,
    NanoBananaInvalidRequestError,
    NanoBananaJobNotFoundError,
    NanoBananaQuotaError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
)
from airflow_provider_nanobanana.hooks.modelslab_responses import error_class, message_of, parse_job
from airflow_provider_nanobanana.jobs import JobState


def test_documented_success_keeps_output_order_and_safe_meta():
    result = parse_job(
        {
            "status": "success",
            "generationTime": 2.45,
            "id": 12345678,
            "output": ["https://cdn.example/a.png", "https://cdn.example/b.png"],
            "proxy_links": {"0": "https://proxy.example/a.png"},
            "meta": {"prompt": "p", "seed": 12345, "width": 512, "height": 512, "key": "leak"},
        }
    )
    assert result.state is JobState.SUCCEEDED
    assert result.job_id == "12345678"
    assert [image.url for image in result.images] == [
        "https://cdn.example/a.png",
        "https://cdn.example/b.png",
    ]
    assert result.metadata == {"seed": 12345, "width": 512, "height": 512, "generation_seconds": 2.45}


def test_processing_reports_eta_and_announced_images():
    result = parse_job(
        {
            "status": "processing",
            "id": 65919758,
            "eta": 10,
            "output": [],
            "future_links": ["https://cdn.example/f-0.png", "https://cdn.example/f-1.png"],
        }
    )
    assert result.state is JobState.PENDING
    assert result.eta_seconds == 10.0
    assert result.images == ()
    assert result.metadata["announced_images"] == 2


def test_legacy_processing_with_empty_id_and_string_output_keeps_known_id():
    result = parse_job(
        {"status": "processing", "id": "", "messege": "Request processing", "output": ""}, job_id="42"
    )
    assert result.state is JobState.PENDING
    assert result.job_id == "42"


def test_legacy_failure_reads_message():
    result = parse_job(
        {"status": "failed", "id": "", "message": "Failed, Try Again", "output": ""}, job_id="7"
    )
    assert result.state is JobState.FAILED
    assert result.error_message == "Failed, Try Again"
    assert result.job_id == "7"


def test_base64_output_is_kept_as_payload_not_url():
    result = parse_job({"status": "success", "id": 1, "output": ["iVBORw0KGgo="]})
    assert result.images[0].base64_data == "iVBORw0KGgo="
    assert result.images[0].url is None


def test_message_typo_and_field_error_object_are_both_read():
    assert message_of({"messege": "Try to fetch request after seconds estimated"}).startswith("Try to fetch")
    assert message_of({"message": {"prompt": ["The prompt field is required."]}}) == (
        "prompt: The prompt field is required."
    )


@pytest.mark.parametrize(
    ("status_code", "message", "is_fetch", "expected"),
    [
        (200, "Invalid Api Key", False, NanoBananaAuthenticationError),
        (401, "Invalid API key", False, NanoBananaAuthenticationError),
        (402, "Insufficient credits. Please add more credits to continue.", False, NanoBananaQuotaError),
        (429, "Rate limit exceeded. Maximum 5 queued requests allowed.", False, NanoBananaRateLimitError),
        (200, "Rate limit exceeded", False, NanoBananaRateLimitError),
        (200, "Your prompt was flagged (NSFW content detected).", False, NanoBananaContentPolicyError),
        (500, "Internal server error. Please try again.", False, NanoBananaServerError),
        (503, "Service temporarily unavailable. Please try again later.", True, NanoBananaServerError),
        (200, "samples must be between 1 and 4", False, NanoBananaInvalidRequestError),
        (200, "Model not found: nano-banana-9", False, NanoBananaInvalidRequestError),
        (404, "Request id not found", True, NanoBananaJobNotFoundError),
        (200, "Something odd happened to this job", True, None),
    ],
)
def test_error_answers_map_to_the_class_a_user_reacts_to(status_code, message, is_fetch, expected):
    assert error_class(status_code, message, is_fetch=is_fetch) is expected
