"""AceData task documents and replies, including the undocumented shapes its own clients handle."""

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
from airflow_provider_nanobanana.hooks.acedata_responses import (
    error_class,
    error_of,
    parse_images_reply,
    parse_task,
)
from airflow_provider_nanobanana.jobs import JobState

DONE_TASK = {
    "id": "4d320ead",
    "created_at": 1757183036.787,
    "finished_at": 1757183048.147,
    "elapsed": 11.3,
    "request": {"action": "generate", "prompt": "a white siamese cat", "count": 2},
    "response": {
        "success": True,
        "task_id": "4d320ead",
        "trace_id": "7ba1f1e8",
        "data": [
            {"prompt": "a white siamese cat", "image_url": "https://cdn.example/1.png"},
            {"prompt": "a white siamese cat", "image_url": "https://cdn.example/2.png"},
        ],
    },
}


def test_finished_task_lists_images_in_order_with_counts():
    result = parse_task(DONE_TASK)
    assert result.state is JobState.SUCCEEDED
    assert [image.url for image in result.images] == [
        "https://cdn.example/1.png",
        "https://cdn.example/2.png",
    ]
    assert result.metadata == {"requested_count": 2, "delivered_count": 2, "trace_id": "7ba1f1e8"}


def test_partial_delivery_is_visible_in_counts():
    task = {**DONE_TASK, "request": {**DONE_TASK["request"], "count": 4}}
    assert parse_task(task).metadata["delivered_count"] == 2
    assert parse_task(task).metadata["requested_count"] == 4


@pytest.mark.parametrize(
    "task",
    [
        {"id": "t1", "created_at": 1.0, "request": {}},
        {"id": "t1", "response": {"task_id": "t1"}},
        {"id": "t1", "state": "", "response": None},
        {"id": "t1", "state": "running"},
    ],
)
def test_pending_shapes_without_a_status_field_are_pending(task):
    assert parse_task(task).state is JobState.PENDING


@pytest.mark.parametrize(
    "task",
    [
        {
            "id": "t1",
            "response": {"success": False, "task_id": "t1", "error": {"message": "generation failed"}},
        },
        {
            "id": "t1",
            "response": {"task_id": "t1", "error": {"code": "api_error", "message": "generation failed"}},
        },
        {"id": "t1", "response": {"success": False, "error": "generation failed"}},
    ],
)
def test_failure_shapes_carry_the_vendor_message(task):
    result = parse_task(task)
    assert result.state is JobState.FAILED
    assert result.error_message == "generation failed"


def test_failed_state_word_wins_even_without_response():
    assert parse_task({"id": "t1", "state": "cancelled"}).state is JobState.FAILED


def test_null_error_is_no_error():
    assert error_of({"error": None}) == (None, None)
    assert error_of({"error": "boom"}) == (None, "boom")
    assert error_of({"error": {"code": "used_up", "message": "m"}}) == ("used_up", "m")


def test_async_reply_with_only_task_id_is_pending():
    result = parse_images_reply({"task_id": "6a97bf49"}, requested=1)
    assert result is not None
    assert result.state is JobState.PENDING
    assert result.job_id == "6a97bf49"


def test_sync_reply_is_succeeded():
    result = parse_images_reply(DONE_TASK["response"], requested=2)
    assert result is not None
    assert result.state is JobState.SUCCEEDED
    assert len(result.images) == 2


def test_reply_without_any_task_id_is_unknown():
    assert parse_images_reply({"trace_id": "x"}, requested=1) is None


@pytest.mark.parametrize(
    ("status_code", "code", "is_tasks", "expected"),
    [
        (401, "invalid_token", False, NanoBananaAuthenticationError),
        (400, "no_token", False, NanoBananaAuthenticationError),
        (403, "used_up", False, NanoBananaQuotaError),
        (403, "forbidden", False, NanoBananaContentPolicyError),
        (403, "something_new", False, NanoBananaContentPolicyError),
        (429, "too_many_requests", False, NanoBananaRateLimitError),
        (400, "bad_request", False, NanoBananaInvalidRequestError),
        (413, "request_too_large", False, NanoBananaInvalidRequestError),
        (500, "api_error", False, NanoBananaServerError),
        (502, None, False, NanoBananaServerError),
        (404, None, True, NanoBananaJobNotFoundError),
    ],
)
def test_error_codes_map_to_the_class_a_user_reacts_to(status_code, code, is_tasks, expected):
    assert error_class(status_code, code, is_tasks=is_tasks) is expected
