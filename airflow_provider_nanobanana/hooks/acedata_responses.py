"""Reading AceData Cloud answers: errors, submission replies and task documents.

AceData's task document has no status field: a task is pending while ``response`` is absent or
carries no verdict, failed when ``response.success`` is false or an error is present, succeeded
when ``response.data`` holds image URLs. ``error`` may be an object, a bare string or null, and a
5xx may still carry a ``task_id`` for a task that was created. This module reads all of them the
way AceData's own SDK does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaContentPolicyError,
    NanoBananaError,
    NanoBananaInvalidRequestError,
    NanoBananaJobNotFoundError,
    NanoBananaQuotaError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
)
from airflow_provider_nanobanana.jobs import ImageJobResult, ImageOutput, JobState, Vendor

VENDOR = "AceData"

_CODE_CLASSES: dict[str, type[NanoBananaError]] = {
    "no_token": NanoBananaAuthenticationError,
    "invalid_token": NanoBananaAuthenticationError,
    "token_expired": NanoBananaAuthenticationError,
    "token_mismatched": NanoBananaAuthenticationError,
    "disabled": NanoBananaAuthenticationError,
    "used_up": NanoBananaQuotaError,
    "forbidden": NanoBananaContentPolicyError,
    "too_many_requests": NanoBananaRateLimitError,
    "bad_request": NanoBananaInvalidRequestError,
    "request_too_large": NanoBananaInvalidRequestError,
    "api_not_implemented": NanoBananaInvalidRequestError,
    "no_api": NanoBananaInvalidRequestError,
    "not_found": NanoBananaJobNotFoundError,
    "api_error": NanoBananaServerError,
}
_STATUS_CLASSES: dict[int, type[NanoBananaError]] = {
    400: NanoBananaInvalidRequestError,
    401: NanoBananaAuthenticationError,
    402: NanoBananaQuotaError,
    # AceData's SDK: a 403 whose code it does not know is a moderation refusal.
    403: NanoBananaContentPolicyError,
    413: NanoBananaInvalidRequestError,
    429: NanoBananaRateLimitError,
}
_FAILED_WORDS = ("fail", "error", "cancel")
_SUCCEEDED_WORDS = ("succeed", "success", "complete", "done", "finish")


def error_of(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(code, message)`` of an ``error`` that may be an object, a bare string or null."""
    error = body.get("error")
    if isinstance(error, Mapping):
        return error.get("code"), error.get("message")
    if isinstance(error, str) and error:
        return None, error
    return None, None


def error_class(status_code: int, code: str | None, *, is_tasks: bool) -> type[NanoBananaError]:
    if code in _CODE_CLASSES:
        return _CODE_CLASSES[code]
    if is_tasks and status_code == 404:
        return NanoBananaJobNotFoundError
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code]
    return NanoBananaServerError if status_code >= 500 or status_code < 400 else NanoBananaInvalidRequestError


def _images(response: Mapping[str, Any]) -> tuple[ImageOutput, ...]:
    data = response.get("data")
    if not isinstance(data, list):
        return ()
    return tuple(
        ImageOutput(url=item["image_url"])
        for item in data
        if isinstance(item, Mapping) and isinstance(item.get("image_url"), str)
    )


def parse_images_reply(body: Mapping[str, Any], *, requested: int) -> ImageJobResult | None:
    """Read a ``/nano-banana/images`` answer; ``None`` when it names no task at all.

    Sync mode answers with the finished images; async and callback modes answer ``{"task_id"}``
    (the SDK also accepts ``data.task_id`` or ``id``).
    """
    data = body.get("data")
    task_id = body.get("task_id") or (data.get("task_id") if isinstance(data, Mapping) else None)
    task_id = task_id or body.get("id")
    if isinstance(data, list):
        return _result(str(task_id or ""), JobState.SUCCEEDED, body, requested=requested)
    if not task_id:
        return None
    return _result(str(task_id), JobState.PENDING, body, requested=requested)


def parse_task(task: Mapping[str, Any]) -> ImageJobResult:
    """Read one task document from ``/nano-banana/tasks`` the way AceData's SDK decides completion."""
    task_id = str(task.get("id") or task.get("task_id") or "")
    request = task.get("request") if isinstance(task.get("request"), Mapping) else {}
    requested = request.get("count") if isinstance(request.get("count"), int) else 1
    response = task.get("response") if isinstance(task.get("response"), Mapping) else {}
    word = str(task.get("status") or task.get("state") or "").lower()
    code, message = error_of(response)
    if any(w in word for w in _FAILED_WORDS) or response.get("success") is False or message:
        state = JobState.FAILED
    elif word and not any(w in word for w in _SUCCEEDED_WORDS):
        state = JobState.PENDING
    elif _images(response):
        state = JobState.SUCCEEDED
    elif response.get("success") is True and task.get("finished_at"):
        state, message = JobState.FAILED, "the task finished without any image"
    else:
        state = JobState.PENDING
    result = _result(task_id, state, response, requested=requested)
    if state is not JobState.FAILED:
        return result
    return replace(result, error_code=code, error_message=message or "the task failed")


def _result(task_id: str, state: JobState, response: Mapping[str, Any], *, requested: int) -> ImageJobResult:
    images = _images(response) if state is JobState.SUCCEEDED else ()
    metadata: dict[str, Any] = {"requested_count": requested}
    if state is JobState.SUCCEEDED:
        metadata["delivered_count"] = len(images)
    if response.get("trace_id"):
        metadata["trace_id"] = response["trace_id"]
    return ImageJobResult(
        vendor=Vendor.ACEDATA, job_id=task_id, state=state, images=images, metadata=metadata
    )
