"""ModelsLab: the enterprise ``nano_banana`` server and the shared v7 image endpoints.

The connection's ``api_family`` extra picks the family. Job kinds map onto endpoints one to one:
generate → ``text2img`` / ``text-to-image``, img2img → ``img2img`` / ``image-to-image``,
edit → ``multi_ref`` / ``image-to-image``. ModelsLab takes the key in the JSON body, so the body is
never logged and the key is scrubbed from anything the vendor says back.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import httpx

from airflow_provider_nanobanana import validation as check
from airflow_provider_nanobanana.connection_forms import MODELSLAB_FORM
from airflow_provider_nanobanana.exceptions import (
    NanoBananaJobNotFoundError,
    NanoBananaRateLimitError,
    NanoBananaSubmissionUnknownError,
)
from airflow_provider_nanobanana.hooks.base import ApiCall, ConnectionSettings, NanoBananaBaseHook
from airflow_provider_nanobanana.hooks.modelslab_responses import (
    VENDOR,
    error_class,
    message_of,
    parse_job,
    status_error_class,
)
from airflow_provider_nanobanana.hooks.retry import retry_after_seconds
from airflow_provider_nanobanana.jobs import ImageJobRequest, ImageJobResult, JobKind, JobState, Vendor
from airflow_provider_nanobanana.spend.prices import BilledAs

ENTERPRISE = "enterprise"
V7 = "v7"
API_FAMILIES = (ENTERPRISE, V7)

_ENTERPRISE_PATH = "/api/v1/enterprise/nano_banana"
_V7_PATH = "/api/v7/images"
_ENTERPRISE_ENDPOINTS = {JobKind.GENERATE: "text2img", JobKind.IMG2IMG: "img2img", JobKind.EDIT: "multi_ref"}
# Ranges as ModelsLab's enterprise parameter docs give them (issue 15; our reference copy lists
# only the defaults 7.5, 7.5 and 2.5), and the largest seed: a 32-bit unsigned integer.
_NUMBER_OPTIONS = {"noise_scale_start": (0, 30), "noise_scale_end": (0, 30), "noise_clip_std": (0, 10)}
MAX_SEED = 4_294_967_295
_FLAG_OPTIONS = ("watermark", "temp", "base64")
_TEXT_OPTIONS = ("track_id", "webhook")
_SIZE_RULE = {"low": 1024, "high": 2048, "multiple_of": 32}
_MAX_SAMPLES = 4

V7_TEXT_TO_IMAGE_MODELS = ("nano-banana-t2i", "nano-banana-pro")
V7_IMAGE_TO_IMAGE_MODELS = ("nano-banana", "nano-banana-pro")
# ModelsLab does not list its aspect ratios; these are the ones the Gemini image models accept.
V7_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_V7_PRO_MAX_IMAGES = 14


def build_submission(request: ImageJobRequest, api_family: str) -> ApiCall:
    """Validate ``request`` against ModelsLab's documented limits and build the call; sends nothing."""
    check.require_prompt(request.prompt)
    check.check_choice("api_family", api_family, API_FAMILIES)
    if api_family == V7:
        return _v7_call(request)
    return _enterprise_call(request)


def _enterprise_call(request: ImageJobRequest) -> ApiCall:
    endpoint = _ENTERPRISE_ENDPOINTS[request.kind]
    check.reject_unsupported(
        VENDOR,
        f"enterprise {endpoint}",
        {"model": request.model, "aspect_ratio": request.aspect_ratio, "resolution": request.resolution},
        hint=" (the enterprise server runs one model; size images with width and height)",
    )
    body: dict[str, Any] = {"prompt": request.prompt}
    if request.kind is JobKind.GENERATE:
        check.reject_unsupported(VENDOR, "text2img", {"images": request.images})
    else:
        if not request.images:
            raise check.invalid("images", [], f"at least one reference image URL for {endpoint}")
        refs = [check.check_url(f"images[{i}]", url) for i, url in enumerate(request.images)]
        body["ref_image"] = refs[0] if request.kind is JobKind.IMG2IMG and len(refs) == 1 else refs
    for field in ("width", "height"):
        if getattr(request, field) is not None:
            body[field] = check.check_int(field, getattr(request, field), **_SIZE_RULE)
    if request.count is not None:
        body["samples"] = check.check_int("count", request.count, 1, _MAX_SAMPLES)
    if request.seed is not None:
        body["seed"] = check.check_seed(request.seed, MAX_SEED)
    if request.negative_prompt is not None:
        body["negative_prompt"] = check.check_text("negative_prompt", request.negative_prompt)
    flags = (*_FLAG_OPTIONS, "keep_original_aspect") if request.kind is JobKind.IMG2IMG else _FLAG_OPTIONS
    check.reject_unknown_options(VENDOR, request.options, (*_NUMBER_OPTIONS, *flags, *_TEXT_OPTIONS))
    for name, value in request.options.items():
        if name in _NUMBER_OPTIONS:
            body[name] = check.check_number(f"options.{name}", value, *_NUMBER_OPTIONS[name])
        elif name in flags:
            body[name] = check.yes_no(f"options.{name}", value)
        elif value is not None:
            body[name] = check.check_text(f"options.{name}", value)
    return ApiCall(endpoint, f"{_ENTERPRISE_PATH}/{endpoint}", body, is_submission=True)


def _v7_call(request: ImageJobRequest) -> ApiCall:
    generate = request.kind is JobKind.GENERATE
    endpoint = "v7_text_to_image" if generate else "v7_image_to_image"
    check.reject_unsupported(
        VENDOR,
        "v7",
        {
            "width": request.width,
            "height": request.height,
            "count": request.count,
            "seed": request.seed,
            "negative_prompt": request.negative_prompt,
            "resolution": request.resolution,
        },
        hint=" (v7 takes a prompt, a model, an aspect ratio and input images)",
    )
    models = V7_TEXT_TO_IMAGE_MODELS if generate else V7_IMAGE_TO_IMAGE_MODELS
    model = check.check_choice("model", _v7_model(request), models)
    body: dict[str, Any] = {"prompt": request.prompt, "model_id": model}
    if request.aspect_ratio is not None:
        body["aspect_ratio"] = check.check_model_choice(
            "aspect_ratio", request.aspect_ratio, model, dict.fromkeys(models, V7_ASPECT_RATIOS)
        )
    refs = [check.check_url(f"images[{i}]", url) for i, url in enumerate(request.images)]
    if generate:
        check.reject_unsupported(VENDOR, "v7 text-to-image", {"images": request.images})
    elif model == "nano-banana":
        if len(refs) != 2:
            raise check.invalid("images", list(request.images), "exactly 2 image URLs for model nano-banana")
        body["init_image"], body["init_image_2"] = refs
    else:
        if not 1 <= len(refs) <= _V7_PRO_MAX_IMAGES:
            raise check.invalid("images", list(request.images), f"1 to {_V7_PRO_MAX_IMAGES} image URLs")
        body["init_image"] = refs
    check.reject_unknown_options(VENDOR, request.options, _TEXT_OPTIONS)
    body.update({k: check.check_text(f"options.{k}", v) for k, v in request.options.items() if v is not None})
    path = "/text-to-image" if generate else "/image-to-image"
    return ApiCall(endpoint, _V7_PATH + path, body, is_submission=True)


def _v7_model(request: ImageJobRequest) -> str:
    """The v7 model a request runs on: its own, or the endpoint's first (the vendor's default)."""
    models = V7_TEXT_TO_IMAGE_MODELS if request.kind is JobKind.GENERATE else V7_IMAGE_TO_IMAGE_MODELS
    return models[0] if request.model is None else request.model


def build_fetch(job_id: str, api_family: str) -> ApiCall:
    if not str(job_id).strip():
        raise check.invalid("job_id", job_id, "the id returned when the job was submitted")
    if api_family == V7:
        return ApiCall("v7_fetch", f"{_V7_PATH}/fetch/{job_id}", {})
    return ApiCall("fetch", f"{_ENTERPRISE_PATH}/fetch/{job_id}", {})


class ModelsLabHook(NanoBananaBaseHook):
    """Submit and poll Nano Banana jobs on ModelsLab.

    :param conn_id: a ``nanobanana_modelslab`` connection; the password is the API key
        (the enterprise server's key for the enterprise family).
    :param api_family: ``"enterprise"`` or ``"v7"``; overrides the connection's ``api_family`` extra.
    """

    conn_type = "nanobanana_modelslab"
    default_conn_name = "nanobanana_modelslab_default"
    hook_name = "Nano Banana (ModelsLab)"
    vendor = Vendor.MODELSLAB
    vendor_label = VENDOR
    default_base_url = "https://modelslab.com"

    def __init__(self, conn_id: str | None = None, *, api_family: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self._api_family = api_family

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return MODELSLAB_FORM.ui_field_behaviour()

    def api_family(self, settings: ConnectionSettings) -> str:
        family = self._api_family or self.extra(settings.extras, "api_family") or ENTERPRISE
        return check.check_choice("api_family", family, API_FAMILIES)

    def billed_as(self, request: ImageJobRequest, *, batch: bool = False) -> BilledAs:
        """A v7 model, or ``enterprise`` (the dedicated server's subscription) for that family."""
        if self.api_family(self.settings) == V7:
            return BilledAs(VENDOR, _v7_model(request))
        return BilledAs(VENDOR, ENTERPRISE)

    def validate(self, request: ImageJobRequest) -> None:
        """Check ``request`` against ModelsLab's limits without sending anything."""
        build_submission(request, self.api_family(self.settings))

    def submit(self, request: ImageJobRequest) -> ImageJobResult:
        """Submit a job and return its first state; ``succeeded`` when the server answered at once."""
        call = build_submission(request, self.api_family(self.settings))
        return self._submitted(call, parse_job(self.call(call)))

    async def asubmit(self, request: ImageJobRequest) -> ImageJobResult:
        call = build_submission(request, self.api_family(await self.asettings()))
        return self._submitted(call, parse_job(await self.acall(call)))

    def get_job(self, job_id: str) -> ImageJobResult:
        """Fetch a job's current state; polls are free, so they retry on every transient failure."""
        return parse_job(self.call(build_fetch(job_id, self.api_family(self.settings))), job_id=str(job_id))

    async def aget_job(self, job_id: str) -> ImageJobResult:
        call = build_fetch(job_id, self.api_family(await self.asettings()))
        return parse_job(await self.acall(call), job_id=str(job_id))

    def _submitted(self, call: ApiCall, result: ImageJobResult) -> ImageJobResult:
        if not result.job_id and result.state is not JobState.SUCCEEDED:
            # A job may exist, but without its id it can never be fetched or reattached to.
            raise NanoBananaSubmissionUnknownError(
                f"ModelsLab {call.endpoint}: the answer says {result.state.value} but names no job id, "
                "so the job cannot be followed; it was not re-sent.",
                vendor=VENDOR,
            )
        self.log.log(
            self.job_log_level,
            "ModelsLab %s accepted job %s: %s%s.",
            call.endpoint,
            result.job_id,
            result.state.value,
            f", eta {result.eta_seconds:.0f}s" if result.eta_seconds is not None else "",
        )
        return result

    def _authenticate(self, call: ApiCall, api_key: str) -> tuple[dict[str, Any], dict[str, str]]:
        return {**call.body, "key": api_key}, {}

    def _raise_for_error(self, call: ApiCall, response: httpx.Response, body: Any) -> None:
        is_fetch = not call.is_submission
        if not isinstance(body, dict):
            # No readable body: only the HTTP status can speak. Anything else is left to the
            # caller, which treats an unreadable answer to a submission as an unknown outcome.
            cls = status_error_class(response.status_code, is_fetch=is_fetch)
            message, retry_after = f"HTTP {response.status_code}", retry_after_seconds(response.headers)
        elif str(body.get("status", "")).lower() in ("success", "processing", "failed"):
            return
        else:
            message = self.scrub(message_of(body)) or f"HTTP {response.status_code}"
            cls = error_class(response.status_code, message, is_fetch=is_fetch)
            retry_after = retry_after_seconds(response.headers, body.get("retry_after"))
        if cls is None:
            return
        text = f"ModelsLab {call.endpoint}: {message}"
        kwargs: dict[str, Any] = {"vendor": VENDOR, "status_code": response.status_code}
        if cls is NanoBananaRateLimitError:
            raise cls(text, retry_after=retry_after, **kwargs)
        if cls is NanoBananaJobNotFoundError:
            raise cls(text, job_id=call.path.rsplit("/", 1)[-1], **kwargs)
        raise cls(text, **kwargs)

    def _check_key(self) -> str:
        # A fetch of an id that cannot exist is free, and fetch is documented for this server;
        # system_details would be free too, but that nano_banana serves it is only inferred.
        with suppress(NanoBananaJobNotFoundError):
            self.get_job("0")
        settings = self.settings
        return f"ModelsLab accepted the API key ({self.api_family(settings)} API at {settings.base_url})."
