"""Reading ModelsLab answers: every documented shape and every quirk seen in the wild.

ModelsLab reports most failures as HTTP 200 with ``status: "error"``, spells ``message`` as
``messege`` on legacy paths, sends ``output: ""`` and ``id: ""`` while processing, ``proxy_links``
as a list or an object, and ``message`` as an object of field errors. So the body decides,
never the HTTP status alone.
"""

from __future__ import annotations

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

VENDOR = "ModelsLab"
_SAFE_META_KEYS = ("seed", "width", "height", "samples", "model_id", "base64", "file_prefix")

# (words in the message, error class). Checked in order: the first match wins.
_MESSAGE_RULES: tuple[tuple[tuple[str, ...], type[NanoBananaError]], ...] = (
    (("api key", "apikey", "unauthorized", "premium subscription"), NanoBananaAuthenticationError),
    (("credit", "insufficient", "balance"), NanoBananaQuotaError),
    (("rate limit", "queued requests", "spam filter"), NanoBananaRateLimitError),
    (("nsfw", "moderation", "content policy", "safety"), NanoBananaContentPolicyError),
    (("internal server error", "temporarily unavailable", "try again later"), NanoBananaServerError),
)
_STATUS_CLASSES: dict[int, type[NanoBananaError]] = {
    401: NanoBananaAuthenticationError,
    402: NanoBananaQuotaError,
    403: NanoBananaAuthenticationError,
    429: NanoBananaRateLimitError,
}


def message_of(body: dict[str, Any]) -> str:
    """The human message, from ``message`` or the legacy ``messege``, flattened if it is field errors."""
    raw = body.get("message", body.get("messege"))
    if isinstance(raw, dict):
        return "; ".join(
            f"{field}: {' '.join(map(str, errors)) if isinstance(errors, list) else errors}"
            for field, errors in raw.items()
        )
    return "" if raw is None else str(raw)


def status_error_class(status_code: int, *, is_fetch: bool) -> type[NanoBananaError] | None:
    """The error an HTTP status alone proves, for answers whose body says nothing readable."""
    if is_fetch and status_code == 404:
        return NanoBananaJobNotFoundError
    return _STATUS_CLASSES.get(status_code)


def error_class(status_code: int, message: str, *, is_fetch: bool) -> type[NanoBananaError] | None:
    """Pick the error class for a ``status: error`` answer; ``None`` means the job itself failed."""
    lowered = message.lower()
    if is_fetch and "not found" in lowered:
        return NanoBananaJobNotFoundError
    for words, cls in _MESSAGE_RULES:
        if any(word in lowered for word in words):
            return cls
    if by_status := status_error_class(status_code, is_fetch=is_fetch):
        return by_status
    if status_code >= 500:
        return NanoBananaServerError
    return None if is_fetch else NanoBananaInvalidRequestError


def _outputs(value: Any) -> tuple[ImageOutput, ...]:
    """``output`` is a list of URLs, a list of raw base64 strings, or "" while processing."""
    if not isinstance(value, list):
        return ()
    return tuple(
        ImageOutput(url=item) if item.startswith(("http://", "https://")) else ImageOutput(base64_data=item)
        for item in value
        if isinstance(item, str) and item
    )


def _count_links(value: Any) -> int:
    """``future_links`` and ``proxy_links`` come as a list or as an object keyed "0", "1", ..."""
    return len(value) if isinstance(value, list | dict) else 0


def parse_job(body: dict[str, Any], *, job_id: str | None = None) -> ImageJobResult:
    """Turn a generation or fetch answer (``success`` / ``processing`` / ``failed``) into a job result.

    ``job_id`` is the id the caller already knows, used when a legacy fetch answers ``id: ""``.
    """
    raw_id = body.get("id")
    resolved_id = str(raw_id) if raw_id not in (None, "") else (job_id or "")
    status = str(body.get("status", "")).lower()
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    metadata = {key: meta[key] for key in _SAFE_META_KEYS if key in meta}
    if isinstance(body.get("generationTime"), int | float):
        metadata["generation_seconds"] = body["generationTime"]
    if "future_links" in body:
        metadata["announced_images"] = _count_links(body["future_links"])
    if status == "success":
        state = JobState.SUCCEEDED
    elif status in ("failed", "error"):
        state = JobState.FAILED
    else:
        state = JobState.PENDING
    eta = body.get("eta")
    return ImageJobResult(
        vendor=Vendor.MODELSLAB,
        job_id=resolved_id,
        state=state,
        images=_outputs(body.get("output")) if state is JobState.SUCCEEDED else (),
        eta_seconds=float(eta) if isinstance(eta, int | float) and state is JobState.PENDING else None,
        error_message=(message_of(body) or None) if state is JobState.FAILED else None,
        metadata=metadata,
    )
