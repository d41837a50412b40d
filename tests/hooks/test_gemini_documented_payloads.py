"""Google's documented Gemini payloads, verbatim, and what the hook makes of them.

Each payload is copied from ``../shared/reference/gemini-api.md``, which quotes Google's pages:
[G-1] https://ai.google.dev/gemini-api/docs/nanobanana (response parts),
[G-3] the ``ImageConfig`` type docs (request body),
[G-5] https://ai.google.dev/gemini-api/docs/batch-api (the batch operation), and the reference's
section 3.2 for blocked answers and the 429 body (several independent clients).
"""

from __future__ import annotations

import io
import json

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaContentPolicyError, NanoBananaRateLimitError
from airflow_provider_nanobanana.hooks.gemini import build_request
from airflow_provider_nanobanana.hooks.gemini_responses import (
    error_class,
    error_of,
    parse_batch,
    parse_image_answer,
    retry_delay,
)
from airflow_provider_nanobanana.hooks.gemini_stream import InlineImageScanner
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState

# [G-3]: the request body callers send.
DOCUMENTED_REQUEST = json.loads("""
{
  "contents": [{"parts": [{"text": "A photorealistic ..."},
    {"inline_data": {"mime_type": "image/jpeg", "data": "<base64>"}}]}],
  "generationConfig": {
    "responseModalities": ["TEXT", "IMAGE"],
    "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"}
  }
}
""")


def test_the_hook_sends_the_documented_generation_config():
    model, body = build_request(
        ImageJobRequest(
            kind=JobKind.GENERATE, prompt="A photorealistic ...", aspect_ratio="16:9", resolution="2K"
        ),
        "gemini-3-pro-image-preview",
    )
    assert model == "gemini-3-pro-image-preview"
    assert body["generationConfig"] == DOCUMENTED_REQUEST["generationConfig"]
    assert body["contents"][0]["parts"][0] == DOCUMENTED_REQUEST["contents"][0]["parts"][0]


def test_the_documented_response_parts_become_an_image_and_a_text():
    # [G-1]: candidates[0].content.parts[] with {"inlineData": {"mimeType", "data"}} and {"text"}.
    documented = b"""{"candidates": [{"content": {"parts": [{"text": "Here is a banana."},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}}]}"""
    scanner = InlineImageScanner()
    ((skeleton, spools),) = scanner.feed(documented)
    result = parse_image_answer(skeleton, spools)
    assert result.state is JobState.SUCCEEDED
    assert result.images[0].spool.read() == b"\x89PNG\r\n\x1a\n"
    assert result.metadata["text"] == "Here is a banana."


@pytest.mark.parametrize(
    "documented",
    [
        {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}},
        {"candidates": [{"finishReason": "IMAGE_SAFETY"}]},
        {
            "candidates": [
                {"finishReason": "NO_IMAGE", "content": {"parts": [{"text": "I cannot draw that."}]}}
            ]
        },
        {"candidates": [{"finishReason": "IMAGE_PROHIBITED_CONTENT"}]},
        {"candidates": [{"finishReason": "IMAGE_RECITATION"}]},
        {"candidates": [{"finishReason": "SAFETY"}]},
    ],
)
def test_each_documented_blocked_answer_is_a_content_policy_error_with_its_reason(documented):
    reason = (
        documented.get("promptFeedback", {}).get("blockReason") or documented["candidates"][0]["finishReason"]
    )
    with pytest.raises(NanoBananaContentPolicyError, match=reason) as raised:
        parse_image_answer(documented, [])
    assert raised.value.code == reason


def test_the_documented_429_body_is_a_rate_limit_with_its_retry_delay():
    # Reference 3.2: {"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED","details":[…]}}
    documented = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}],
        }
    }
    status = error_of(documented)
    assert error_class(status, 429) is NanoBananaRateLimitError
    assert retry_delay(status) == 37.0
    assert retry_delay({"code": 429, "status": "RESOURCE_EXHAUSTED"}) is None, "retryDelay is optional"


@pytest.mark.parametrize("state", ["BATCH_STATE_SUCCEEDED", "JOB_STATE_SUCCEEDED"])
def test_the_documented_batch_operation_is_read_in_both_state_spellings(state):
    # [G-5]: GET batches/{id} -> .done, .metadata.state, .metadata.batchStats, .response.responsesFile
    documented = {
        "name": "batches/123",
        "done": True,
        "metadata": {"state": state, "batchStats": {"requestCount": "20", "failedRequestCount": "1"}},
        "response": {"responsesFile": "files/batch-123"},
    }
    result = parse_batch(documented)
    assert (result.job_id, result.state) == ("batches/123", JobState.SUCCEEDED)
    assert result.metadata["responses_file"] == "files/batch-123"
    assert (result.metadata["request_count"], result.metadata["failed_count"]) == (20, 1)


@pytest.mark.parametrize(
    ("state", "job_state"),
    [
        ("BATCH_STATE_PENDING", JobState.PENDING),
        ("JOB_STATE_RUNNING", JobState.PENDING),
        ("BATCH_STATE_FAILED", JobState.FAILED),
        ("JOB_STATE_CANCELLED", JobState.FAILED),
        ("BATCH_STATE_EXPIRED", JobState.FAILED),
        ("BATCH_STATE_UNSPECIFIED", JobState.PENDING),
    ],
)
def test_every_documented_batch_state_maps_onto_the_job_model(state, job_state):
    assert parse_batch({"name": "batches/1", "metadata": {"state": state}}).state is job_state


def test_a_results_line_keyed_as_documented_is_read_line_by_line():
    # Reference 3.2 step 5: JSONL, each line a GenerateContentResponse or an error, keyed by "key".
    lines = io.BytesIO(
        b'{"key": "a", "response": {"candidates": [{"content": {"parts": [{"inlineData": '
        b'{"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}}]}}\n'
        b'{"key": "b", "error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}\n'
    ).read()
    keys = [skeleton["key"] for skeleton, _ in InlineImageScanner().feed(lines)]
    assert keys == ["a", "b"]
