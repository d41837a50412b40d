"""Reading Google Gemini API answers: errors, image answers (blocked ones too) and batch resources.

Google's errors are ``google.rpc.Status`` objects: ``{"error": {"code", "message", "status",
"details"}}``; an invalid key is a 400 ``INVALID_ARGUMENT`` whose ``ErrorInfo`` reason is
``API_KEY_INVALID``, and a 429 may carry a ``RetryInfo.retryDelay`` such as ``"37s"``. In an HTTP
answer ``code`` is the HTTP status; in a batch's results line it is the gRPC code (13 is
``INTERNAL``, not a 4xx). A blocked generation is *not* an error: it is HTTP 200 with
``promptFeedback.blockReason``, or a candidate whose ``finishReason`` says why no image came
(``IMAGE_SAFETY``, ``NO_IMAGE``, ``IMAGE_RECITATION``, ``IMAGE_OTHER``, ...). Thinking models
(Gemini 3 Pro Image and later) also answer with interim *thought* images, parts marked
``"thought": true`` before the final ones: those are drafts, never results. A batch is a
long-running operation whose ``metadata`` is the batch (``state`` spelled ``BATCH_STATE_*`` in
REST, ``JOB_STATE_*`` in the docs and SDKs) and whose ``response`` names the results file, or
holds the answers themselves for a batch of inline requests.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import IO, Any

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

VENDOR = "Gemini"
BATCH_PREFIX = "batches/"
# Text the model writes beside its image is kept for the summary up to this many characters.
TEXT_KEPT = 500

_STATUS_CLASSES: dict[str, type[NanoBananaError]] = {
    "INVALID_ARGUMENT": NanoBananaInvalidRequestError,
    "FAILED_PRECONDITION": NanoBananaInvalidRequestError,
    "OUT_OF_RANGE": NanoBananaInvalidRequestError,
    "UNAUTHENTICATED": NanoBananaAuthenticationError,
    "PERMISSION_DENIED": NanoBananaAuthenticationError,
    "NOT_FOUND": NanoBananaJobNotFoundError,
    "RESOURCE_EXHAUSTED": NanoBananaRateLimitError,
    "INTERNAL": NanoBananaServerError,
    "UNAVAILABLE": NanoBananaServerError,
    "DEADLINE_EXCEEDED": NanoBananaServerError,
}
_HTTP_CLASSES: dict[int, type[NanoBananaError]] = {
    400: NanoBananaInvalidRequestError,
    401: NanoBananaAuthenticationError,
    403: NanoBananaAuthenticationError,
    404: NanoBananaJobNotFoundError,
    429: NanoBananaRateLimitError,
}
_KEY_REASONS = ("API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED")

# The gRPC codes of ``google.rpc.Status`` (what a results line's error carries as ``code``).
_GRPC_STATUS = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
# A results line failed for one of these: the same request may well succeed in another batch.
_TRANSIENT_LINE_STATUSES = {
    "UNKNOWN",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "ABORTED",
    "INTERNAL",
    "UNAVAILABLE",
}

# Every batch state of python-genai's ``JobState`` (and REST's ``BATCH_STATE_*``), as the job
# model's; a state not listed here is logged once and waited on.
_BATCH_STATES = {
    "UNSPECIFIED": JobState.PENDING,
    "QUEUED": JobState.PENDING,
    "PENDING": JobState.PENDING,
    "RUNNING": JobState.PENDING,
    "CANCELLING": JobState.PENDING,  # it may still end SUCCEEDED
    "PAUSED": JobState.PENDING,
    "UPDATING": JobState.PENDING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "PARTIALLY_SUCCEEDED": JobState.SUCCEEDED,  # its results file has a line per request, some errors
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.FAILED,
    "EXPIRED": JobState.FAILED,
}
_unknown_states_seen: set[str] = set()
log = logging.getLogger(__name__)
_BATCH_FAILURES = {
    "FAILED": "the batch failed",
    "CANCELLED": "the batch was cancelled",
    "EXPIRED": "the batch expired: it was pending or running for more than 48 hours, with no results",
}


def batch_state(raw: Any) -> str:
    """``BATCH_STATE_RUNNING`` and ``JOB_STATE_RUNNING`` are both ``RUNNING``."""
    text = str(raw or "UNSPECIFIED")
    for prefix in ("BATCH_STATE_", "JOB_STATE_"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def error_of(body: Any) -> Mapping[str, Any] | None:
    """The ``google.rpc.Status`` of an error answer (also when a list wraps it), or None."""
    if isinstance(body, list) and body:
        body = body[0]
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else None


def retry_delay(status: Mapping[str, Any]) -> float | None:
    """``RetryInfo.retryDelay`` (``"37s"`` or ``"1.5s"``) in seconds, when Google sent one."""
    for detail in _details(status):
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def error_class(status: Mapping[str, Any] | None, http_status: int) -> type[NanoBananaError]:
    status = status or {}
    reasons = {detail.get("reason") for detail in _details(status)}
    if reasons & set(_KEY_REASONS):
        return NanoBananaAuthenticationError
    name = status.get("status")
    if name == "RESOURCE_EXHAUSTED" and _is_daily_quota(status):
        return NanoBananaQuotaError  # "sticky" until midnight Pacific: no retry helps today
    if isinstance(name, str) and name in _STATUS_CLASSES:
        return _STATUS_CLASSES[name]
    if http_status >= 500:
        return NanoBananaServerError
    return _HTTP_CLASSES.get(http_status, NanoBananaInvalidRequestError)


def _is_daily_quota(status: Mapping[str, Any]) -> bool:
    for detail in _details(status):
        for violation in detail.get("violations") or ():
            if isinstance(violation, Mapping) and "PerDay" in str(violation.get("quotaId", "")):
                return True
    return False


def _details(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    details = status.get("details")
    return [detail for detail in details if isinstance(detail, Mapping)] if isinstance(details, list) else []


# -- image answers ------------------------------------------------------------------------------


def parse_image_answer(
    answer: Mapping[str, Any], spools: Sequence[IO[bytes]], *, job_id: str | None = None
) -> ImageJobResult:
    """The succeeded job a ``generateContent`` answer (its skeleton) stands for: its final images,
    never its thought drafts (counted in ``metadata["drafts_skipped"]``).

    Raises ``NanoBananaContentPolicyError`` (code: the block or finish reason) when it carries no
    final image: blocked prompt, blocked or empty candidate. ``job_id`` defaults to ``responseId``.
    """
    feedback = answer.get("promptFeedback") if isinstance(answer.get("promptFeedback"), Mapping) else {}
    if reason := feedback.get("blockReason"):
        message = feedback.get("blockReasonMessage") or "the prompt was blocked"
        raise _blocked(str(reason), f"{message} (blockReason {reason})")
    candidates = answer.get("candidates") if isinstance(answer.get("candidates"), list) else []
    candidate = candidates[0] if candidates and isinstance(candidates[0], Mapping) else {}
    finish = str(candidate.get("finishReason") or "NO_CANDIDATE")
    content = candidate.get("content") if isinstance(candidate.get("content"), Mapping) else {}
    parts = [part for part in content.get("parts") or () if isinstance(part, Mapping)]
    images, texts, drafts = [], [], 0
    for part in parts:
        inline = part.get("inlineData", part.get("inline_data"))
        is_image = isinstance(inline, Mapping) and isinstance(inline.get("data"), int)
        if part.get("thought") is True:
            drafts += is_image
        elif is_image:
            images.append(ImageOutput(spool=spools[inline["data"]]))
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    text = " ".join(texts).strip()
    if not images:
        said = f"; the model said: {text[:200]!r}" if text else ""
        raise _blocked(finish, f"no image in the answer (finishReason {finish}){said}")
    metadata: dict[str, Any] = {"finish_reason": finish, "model": answer.get("modelVersion")}
    if drafts:
        metadata["drafts_skipped"] = drafts
    if text:
        metadata["text"] = text[:TEXT_KEPT]
    if isinstance(usage := answer.get("usageMetadata"), Mapping):
        metadata["usage"] = billed_tokens(usage)
    return ImageJobResult(
        vendor=Vendor.GEMINI,
        job_id=job_id or str(answer.get("responseId") or f"gemini-{uuid.uuid4()}"),
        state=JobState.SUCCEEDED,
        images=tuple(images),
        metadata=metadata,
    )


def billed_tokens(usage: Mapping[str, Any]) -> dict[str, int]:
    """``usageMetadata`` as Google bills it: prompt tokens, image output tokens, and text output
    tokens (thoughts included). Without a per-modality breakdown every output token is counted as
    an image token, the dearer rate, so a reported cost never comes out low."""
    output = _count(usage.get("candidatesTokenCount")) or 0
    details = usage.get("candidatesTokensDetails")
    image = output
    if isinstance(details, list):
        image = sum(
            _count(detail.get("tokenCount")) or 0
            for detail in details
            if isinstance(detail, Mapping) and detail.get("modality") == "IMAGE"
        )
    thoughts = _count(usage.get("thoughtsTokenCount")) or 0
    return {
        "prompt": _count(usage.get("promptTokenCount")) or 0,
        "image": image,
        "text": max(0, output - image) + thoughts,
    }


def _blocked(reason: str, message: str) -> NanoBananaContentPolicyError:
    return NanoBananaContentPolicyError(f"Gemini: {message}", vendor=VENDOR, code=reason)


def line_outcome(
    line: Mapping[str, Any], spools: Sequence[IO[bytes]], job_id: str
) -> ImageJobResult | NanoBananaError:
    """One line of a batch results file (or one inlined response): the item's job, or the error
    that refused or failed it (a server-side one a later batch may get past:
    ``NanoBananaServerError``)."""
    if status := error_of(line) or (line.get("status") if isinstance(line.get("status"), Mapping) else None):
        name = status.get("status") or _GRPC_STATUS.get(_count(status.get("code")) or 0, "UNKNOWN")
        cls = NanoBananaServerError if name in _TRANSIENT_LINE_STATUSES else _STATUS_CLASSES.get(name)
        message = status.get("message") or name
        return (cls or NanoBananaInvalidRequestError)(f"Gemini: {message} ({name})", vendor=VENDOR, code=name)
    answer = line.get("response") if isinstance(line.get("response"), Mapping) else line
    try:
        return parse_image_answer(answer, spools, job_id=job_id)
    except NanoBananaContentPolicyError as refusal:
        return refusal


def line_key(line: Mapping[str, Any]) -> str | None:
    """The user key a results line answers: ``key``, or ``metadata.key`` for inlined requests."""
    key = line.get("key")
    if key is None and isinstance(line.get("metadata"), Mapping):
        key = line["metadata"].get("key")
    return None if key is None else str(key)


# -- batches ------------------------------------------------------------------------------------


def parse_batch(operation: Mapping[str, Any]) -> ImageJobResult:
    """A ``batches/{id}`` answer (an operation wrapping the batch, or the bare batch) as a job.

    Its results are named in ``metadata["responses_file"]`` (found at any place Google's pages
    and SDK read it), or ``metadata["inlined"]`` counts the answers the batch holds itself.
    """
    batch = operation.get("metadata") if isinstance(operation.get("metadata"), Mapping) else operation
    name = str(operation.get("name") or batch.get("name") or "")
    state = batch_state(batch.get("state"))
    job_state = _BATCH_STATES.get(state)
    if job_state is None:
        job_state = JobState.PENDING
        if state not in _unknown_states_seen:
            _unknown_states_seen.add(state)
            log.warning(
                "Gemini batch %s is in state %s, which this provider does not know; waiting on.", name, state
            )
    stats = batch.get("batchStats") if isinstance(batch.get("batchStats"), Mapping) else {}
    inlined = inlined_responses(operation)
    metadata: dict[str, Any] = {
        "batch_state": state,
        "display_name": batch.get("displayName"),
        "responses_file": _first(operation, _RESULTS_FILE_PATHS),
        "inlined": len(inlined) if inlined is not None else None,
        "request_count": _count(stats.get("requestCount")),
        "succeeded_count": _count(stats.get("successfulRequestCount")),
        "failed_count": _count(stats.get("failedRequestCount")),
        "pending_count": _count(stats.get("pendingRequestCount")),
        "create_time": batch.get("createTime"),
    }
    error_message = None
    if job_state is JobState.FAILED:
        detail = error_of(operation)
        error_message = _BATCH_FAILURES.get(state, "the batch failed") + (
            f": {detail.get('message')}" if detail and detail.get("message") else ""
        )
    elif job_state is JobState.SUCCEEDED and not metadata["responses_file"] and inlined is None:
        job_state, error_message = JobState.FAILED, "the batch ended but names no results"
    return ImageJobResult(
        vendor=Vendor.GEMINI,
        job_id=name,
        state=job_state,
        error_code=state if job_state is JobState.FAILED else None,
        error_message=error_message,
        metadata=metadata,
    )


# Where a batch names its results file: the operation's ``response`` (Google's batch page and
# API reference), the batch's ``output`` (what python-genai reads), and ``dest.fileName`` (the
# image-generation page's REST example, in the SDK's own naming).
_RESULTS_FILE_PATHS = (
    ("response", "responsesFile"),
    ("metadata", "output", "responsesFile"),
    ("output", "responsesFile"),
    ("dest", "fileName"),
    ("metadata", "dest", "fileName"),
)
# Where a batch of inline requests holds its answers (``{"inlinedResponses": [...]}`` inside).
_INLINED_PATHS = (
    ("response", "inlinedResponses"),
    ("metadata", "output", "inlinedResponses"),
    ("output", "inlinedResponses"),
    ("dest", "inlinedResponses"),
)


def inlined_responses(operation: Mapping[str, Any]) -> list[Any] | None:
    """The answers a batch of inline requests holds (each ``{"response" | "error", "metadata"}``),
    or None when it has none there."""
    found = _first(operation, _INLINED_PATHS)
    if isinstance(found, Mapping):
        found = found.get("inlinedResponses")
    return found if isinstance(found, list) else None


def _first(value: Mapping[str, Any], paths: Sequence[Sequence[str]]) -> Any:
    for path in paths:
        found: Any = value
        for name in path:
            found = found.get(name) if isinstance(found, Mapping) else None
        if found:
            return found
    return None


def _count(value: Any) -> int | None:
    """Batch counters are int64, which JSON carries as strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
