"""ModelsLab's request rules (reference A.2.1 and A.3), turning a valid body into a :class:`Plan`.

Every broken rule raises :class:`InvalidRequest` naming the field, so the handler can answer in the
modern shape (``message`` is a sentence) or the legacy one (``message`` maps field to sentences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_nanobanana.emulator.wire import InvalidRequest, is_http_url, is_whole_number

YES_NO_FIELDS = ("watermark", "temp", "base64", "keep_original_aspect")
NOISE_RANGES = {"noise_scale_start": 30, "noise_scale_end": 30, "noise_clip_std": 10}  # each from 0
MAX_SEED = 4_294_967_295
V7_TEXT_MODELS = ("nano-banana-t2i", "nano-banana-pro")
V7_IMAGE_MODELS = ("nano-banana", "nano-banana-pro")
V7_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
V7_LONG_SIDE = 1024
PRO_MAX_IMAGES = 14


@dataclass(frozen=True)
class Plan:
    """A validated generation request: what to draw and how to answer. ``seed`` 0 means random."""

    prompt: str
    negative_prompt: str
    width: int
    height: int
    samples: int
    seed: int
    flags: dict[str, str]
    model_id: str | None
    track_id: str | int | None
    webhook: str | None


def enterprise_plan(body: dict[str, Any], endpoint: str) -> Plan:
    """Rules of ``text2img``, ``img2img`` and ``multi_ref``."""
    prompt = _prompt(body)
    if endpoint != "text2img":
        _ref_image(body, list_only=endpoint == "multi_ref")
    # img2img documents "defaults to reference image size"; the emulator never downloads the
    # reference, so it falls back to the smallest allowed square instead.
    default_size = 1024 if endpoint == "img2img" else 2048
    width = _dimension(body, "width", default_size)
    height = _dimension(body, "height", default_size)
    samples = body.get("samples", 1)
    if not is_whole_number(samples) or not 1 <= samples <= 4:
        raise InvalidRequest("samples", "samples must be between 1 and 4")
    for name, highest in NOISE_RANGES.items():
        if body.get(name) is not None and not (_is_number(body[name]) and 0 <= body[name] <= highest):
            raise InvalidRequest(name, f"{name} must be a number from 0 to {highest}")
    return Plan(
        prompt=prompt,
        negative_prompt=_negative_prompt(body),
        width=width,
        height=height,
        samples=int(samples),
        seed=_seed(body),
        flags=_flags(body),
        model_id=None,
        track_id=_track_id(body),
        webhook=_webhook(body),
    )


def v7_text_plan(body: dict[str, Any]) -> Plan:
    """Rules of ``/api/v7/images/text-to-image``."""
    model_id = _model_id(body, V7_TEXT_MODELS)
    return _v7_plan(body, model_id)


def v7_image_plan(body: dict[str, Any]) -> Plan:
    """Rules of ``/api/v7/images/image-to-image``: ``nano-banana`` takes exactly two images,
    ``nano-banana-pro`` one URL or a list of up to 14."""
    model_id = _model_id(body, V7_IMAGE_MODELS)
    init_image = body.get("init_image")
    if model_id == "nano-banana":
        for name in ("init_image", "init_image_2"):
            if not is_http_url(body.get(name)):
                raise InvalidRequest(name, f"{name} is required and must be an image URL")
    elif not (
        is_http_url(init_image)
        or (
            isinstance(init_image, list)
            and 1 <= len(init_image) <= PRO_MAX_IMAGES
            and all(is_http_url(url) for url in init_image)
        )
    ):
        raise InvalidRequest(
            "init_image", f"init_image must be an image URL or a list of 1 to {PRO_MAX_IMAGES} image URLs"
        )
    return _v7_plan(body, model_id)


def _v7_plan(body: dict[str, Any], model_id: str) -> Plan:
    prompt = _prompt(body)
    aspect_ratio = body.get("aspect_ratio", "1:1")
    if aspect_ratio not in V7_ASPECT_RATIOS:
        raise InvalidRequest("aspect_ratio", f"aspect_ratio must be one of {', '.join(V7_ASPECT_RATIOS)}")
    across, down = (int(part) for part in aspect_ratio.split(":"))
    scale = V7_LONG_SIDE / max(across, down)
    return Plan(
        prompt=prompt,
        negative_prompt=_negative_prompt(body),
        width=round(across * scale),
        height=round(down * scale),
        samples=1,
        seed=_seed(body),
        flags=_flags(body),
        model_id=model_id,
        track_id=_track_id(body),
        webhook=_webhook(body),
    )


def _prompt(body: dict[str, Any]) -> str:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("prompt", "prompt is required")
    return prompt


def _model_id(body: dict[str, Any], allowed: tuple[str, ...]) -> str:
    model_id = body.get("model_id")
    if model_id is None:
        raise InvalidRequest("model_id", "model_id is required")
    if model_id not in allowed:
        raise InvalidRequest("model_id", f"Model not found: {model_id}")
    return model_id


def _ref_image(body: dict[str, Any], *, list_only: bool) -> None:
    ref_image = body.get("ref_image")
    if ref_image is None or ref_image == [] or ref_image == "":
        raise InvalidRequest("ref_image", "ref_image is required")
    is_list = isinstance(ref_image, list) and all(is_http_url(url) for url in ref_image)
    if list_only and not is_list:
        raise InvalidRequest("ref_image", "ref_image must be a list of image URLs")
    if not (is_list or is_http_url(ref_image)):
        raise InvalidRequest("ref_image", "ref_image must be an image URL or a list of image URLs")


def _dimension(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if not is_whole_number(value) or not 1024 <= value <= 2048 or value % 32:
        raise InvalidRequest(name, f"{name} must be between 1024 and 2048 and divisible by 32")
    return int(value)


def _seed(body: dict[str, Any]) -> int:
    seed = body.get("seed")
    if seed is None:
        return 0
    if not is_whole_number(seed) or not 0 <= seed <= MAX_SEED:
        raise InvalidRequest("seed", f"seed must be an integer from 0 to {MAX_SEED}")
    return int(seed)


def _negative_prompt(body: dict[str, Any]) -> str:
    negative_prompt = body.get("negative_prompt") or ""
    if not isinstance(negative_prompt, str):
        raise InvalidRequest("negative_prompt", "negative_prompt must be a string")
    return negative_prompt


def _flags(body: dict[str, Any]) -> dict[str, str]:
    """The yes/no switches; ModelsLab takes the strings "yes"/"no", never JSON booleans."""
    flags = {}
    for name in YES_NO_FIELDS:
        value = body.get(name, "no")
        if value not in ("yes", "no"):
            raise InvalidRequest(name, f'{name} must be "yes" or "no"')
        flags[name] = value
    return flags


def _track_id(body: dict[str, Any]) -> str | int | None:
    track_id = body.get("track_id")
    if track_id is not None and (isinstance(track_id, bool) or not isinstance(track_id, str | int)):
        raise InvalidRequest("track_id", "track_id must be a string")
    return track_id


def _webhook(body: dict[str, Any]) -> str | None:
    webhook = body.get("webhook")
    if webhook is not None and not is_http_url(webhook):
        raise InvalidRequest("webhook", "webhook must be a URL")
    return webhook


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
