"""AceData's ``/nano-banana/images`` request rules (reference B.2), turning a body into a :class:`Plan`.

Rules follow the newest live spec, a superset of the older docs: ``count``, ``async``,
``nano-banana-2-lite`` and the ``:official`` models are accepted. Broken rules raise
:class:`InvalidRequest` with the HTTP status AceData would use (400, or 413 for big images).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_nanobanana.emulator.wire import InvalidRequest, is_http_url

ACTIONS = ("generate", "edit")
_BASE_MODELS = ("nano-banana", "nano-banana-2-lite", "nano-banana-2", "nano-banana-pro")
MODELS = (*_BASE_MODELS, *(f"{model}:official" for model in _BASE_MODELS))
ONE_K_ONLY_MODELS = (
    "nano-banana",
    "nano-banana-2-lite",
    "nano-banana:official",
    "nano-banana-2-lite:official",
)
# Pixel sizes at 1K; 2K and 4K multiply both sides by 2 and 4.
SIZES_1K = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
}
ASPECT_RATIOS = ("1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4")
RESOLUTION_SCALES = {"1K": 1, "2K": 2, "4K": 4}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_DATA_URI = re.compile(r"data:image/[\w.+-]+;base64,(?P<payload>.*)", re.DOTALL)


@dataclass(frozen=True)
class Plan:
    """A validated images request: what to draw, how many, and whether to answer at once."""

    prompt: str
    model: str
    count: int
    width: int
    height: int
    answer_at_once: bool
    callback_url: str | None


def images_plan(body: dict[str, Any]) -> Plan:
    action = body.get("action")
    if action not in ACTIONS:
        raise InvalidRequest("action", "action is invalid, it must be one of: generate, edit.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("prompt", "prompt is required.")
    model = body.get("model", "nano-banana")
    if model not in MODELS:
        raise InvalidRequest("model", "model is invalid.")
    _image_urls(body.get("image_urls"), required=action == "edit")
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 4:
        raise InvalidRequest("count", "count must be an integer between 1 and 4.")
    # For edit, AceData takes the aspect ratio of the first image when none is given; the emulator
    # never downloads images, so it uses 1:1 there, as for generate.
    aspect_ratio = body.get("aspect_ratio", "1:1")
    if aspect_ratio not in SIZES_1K:
        raise InvalidRequest(
            "aspect_ratio", f"aspect_ratio is invalid, it must be one of: {', '.join(ASPECT_RATIOS)}."
        )
    resolution = body.get("resolution", "1K")
    if resolution not in RESOLUTION_SCALES:
        raise InvalidRequest("resolution", "resolution is invalid, it must be one of: 1K, 2K, 4K.")
    if resolution != "1K" and model in ONE_K_ONLY_MODELS:
        raise InvalidRequest(
            "resolution",
            f"resolution {resolution} is not supported by model {model}, which supports only 1K.",
        )
    asynchronous = body.get("async", False)
    if not isinstance(asynchronous, bool):
        raise InvalidRequest("async", "async must be a boolean.")
    callback_url = body.get("callback_url")
    if callback_url is not None and not isinstance(callback_url, str):
        raise InvalidRequest("callback_url", "callback_url must be a string.")
    width, height = SIZES_1K[aspect_ratio]
    scale = RESOLUTION_SCALES[resolution]
    return Plan(
        prompt=prompt,
        model=model,
        count=count,
        width=width * scale,
        height=height * scale,
        answer_at_once=asynchronous or bool(callback_url),
        callback_url=callback_url or None,
    )


def _image_urls(image_urls: object, *, required: bool) -> None:
    if image_urls is None or image_urls == []:
        if required:
            raise InvalidRequest("image_urls", "image_urls is required when action is edit.")
        return
    if not isinstance(image_urls, list):
        raise InvalidRequest("image_urls", "image_urls must be a list of image URLs.")
    for position, url in enumerate(image_urls):
        if is_http_url(url):
            continue
        match = _DATA_URI.fullmatch(url) if isinstance(url, str) else None
        if match is None:
            raise InvalidRequest(
                "image_urls",
                f"image_urls[{position}] must be an http(s) URL or a data:image/...;base64, URI.",
            )
        _check_inline_image(match["payload"], position)


def _check_inline_image(payload: str, position: int) -> None:
    """Reject inline images over 10 MB (decoded) with 413, and payloads that are not base64."""
    compact = "".join(payload.split())
    if len(compact) * 3 // 4 - compact[-2:].count("=") > MAX_IMAGE_BYTES:
        raise InvalidRequest("image_urls", "Request body is too large.", status=413)
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidRequest("image_urls", f"image_urls[{position}] is not valid base64 data.") from error
