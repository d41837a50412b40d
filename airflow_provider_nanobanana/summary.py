"""The small JSON a Nano Banana task returns (its XCom), identical for both vendors.

XCom lives in the metadata DB, so the summary carries references, never image bytes: a URL, or
for inline base64 output a ``nanobanana+base64://<job_id>/<index>`` reference that the S3
transfer resolves by fetching the job again. No key, and the prompt only as a hash.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from airflow_provider_nanobanana.exceptions import NanoBananaJobFailedError
from airflow_provider_nanobanana.jobs import ImageJobResult
from airflow_provider_nanobanana.spend.prices import UNKNOWN, Price

INLINE_SCHEME = "nanobanana+base64://"


def image_reference(result: ImageJobResult, index: int) -> str:
    image = result.images[index]
    return f"{INLINE_SCHEME}{result.job_id}/{index}" if image.inline else str(image.url)


def summarize(
    result: ImageJobResult,
    *,
    conn_id: str,
    requested_count: int | None = None,
    submitted_at: float | None = None,
    prompt: str | None = None,
    price: Price | None = None,
) -> dict[str, Any]:
    """Describe a finished (or just submitted) job for XCom.

    ``requested_count`` defaults to what the vendor reports it was asked for, so a sensor that
    never saw the request still notices a partial delivery. ``prompt`` is kept only as its sha256,
    which the S3 transfer records in object metadata. ``price`` (of one image) gives ``cost_usd``
    and its basis: what the job cost, or for a job still running, what its images will cost.
    """
    metadata = result.metadata
    requested = requested_count or metadata.get("requested_count") or metadata.get("samples")
    now = time.time()
    images = len(result.images) if result.state.is_terminal else requested or 1
    cost, basis = price.cost(images, metadata.get("usage")) if price else (None, UNKNOWN)
    return {
        "vendor": result.vendor.value,
        "conn_id": conn_id,
        "job_id": result.job_id,
        "state": result.state.value,
        "images": [image_reference(result, index) for index in range(len(result.images))],
        "requested_count": requested or len(result.images),
        "delivered_count": len(result.images),
        "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest() if prompt else None,
        "seed": metadata.get("seed"),
        "width": metadata.get("width"),
        "height": metadata.get("height"),
        "submitted_at": submitted_at,
        "finished_at": now if result.state.is_terminal else None,
        "elapsed_seconds": round(now - submitted_at, 3)
        if submitted_at and result.state.is_terminal
        else None,
        "cost_usd": cost,
        "cost_basis": basis,
        # What the model wrote beside its image (Gemini), shortened by the hook.
        **({"text": metadata["text"]} if metadata.get("text") else {}),
    }


def check_delivery(summary: dict[str, Any], *, fail_on_partial: bool) -> None:
    """AceData bills and returns only the images that succeeded; say so loudly when some are missing."""
    missing = summary["requested_count"] - summary["delivered_count"]
    if missing > 0 and fail_on_partial:
        raise NanoBananaJobFailedError(
            f"{summary['vendor']} job {summary['job_id']} delivered {summary['delivered_count']} of "
            f"{summary['requested_count']} images ({missing} missing). Set fail_on_partial=False to "
            "accept partial results.",
            job_id=summary["job_id"],
            vendor=summary["vendor"],
            code="partial",
        )
