"""ModelsLab's Nano Banana endpoints: enterprise ``nano_banana/*`` and v7 ``images/*``.

The shapes follow reference A.4/A.5 (success, processing, failed, error) and A.6 (webhooks). Two
real-world habits are switchable because clients must survive both: errors as HTTP 200 with
``status: "error"`` (default) or as the documented 4xx codes, and the legacy quirks (``messege``,
``output: ""``, ``id: ""``, ``proxy_links`` as an object, ``message`` as a field map) through the
``legacy`` fault, which sticks to the jobs it creates.
"""

from __future__ import annotations

import base64
import functools
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_nanobanana.emulator import modelslab_validation as rules
from airflow_provider_nanobanana.emulator.faults import FAILING_KINDS, JOB_KINDS, REQUEST_KINDS, common_reply
from airflow_provider_nanobanana.emulator.images import ImageSpec, render
from airflow_provider_nanobanana.emulator.runtime import Runtime
from airflow_provider_nanobanana.emulator.settings import MODELSLAB, EmulatorSettings, Fault
from airflow_provider_nanobanana.emulator.state import ImageFile, Job
from airflow_provider_nanobanana.emulator.wire import (
    DROP,
    Handler,
    InvalidRequest,
    Reply,
    Request,
    Route,
    json_reply,
    retry_after,
)

ENTERPRISE = "/api/v1/enterprise/nano_banana"
V7 = "/api/v7/images"
FAILED_MESSAGE = "Failed, Try Again"
TIP = "Your image is processing in background, you can get this image using fetch API"
MODERATION_MESSAGE = "Your prompt was flagged by our content moderation system (NSFW content detected)."
QUOTA_MESSAGE = "Insufficient credits. Please add more credits to continue."
SERVER_ERROR_MESSAGE = "Internal server error. Please try again."
QUEUE_RETRY_AFTER = 30


@dataclass(frozen=True, kw_only=True)
class ModelsLabJob(Job):
    """A ModelsLab job; ``links`` are the URLs announced as ``future_links`` and served as output."""

    number: int
    meta: dict[str, Any]
    links: tuple[str, ...]
    raw_base64: bool
    legacy: bool
    track_id: str | int | None
    webhook: str | None

    @property
    def generation_time(self) -> float:
        return round(self.ready_at - self.created_at, 2)

    def output(self) -> list[str]:
        """The success ``output``: the announced links, or the images themselves as raw base64."""
        if self.raw_base64:
            return [base64.b64encode(render(file.spec, file.image_format)).decode() for file in self.files]
        return list(self.links)


def _generation(endpoint: str, plan: Callable[[dict[str, Any]], rules.Plan], fetch_path: str) -> Handler:
    """Build the handler of one generation endpoint: faults, auth, rules, queue limit, then a job."""

    def handle(request: Request, runtime: Runtime) -> Reply:
        fault = runtime.faults.take(MODELSLAB, endpoint, REQUEST_KINDS)
        settings = runtime.settings
        if fault is not None and (reply := _request_fault_reply(fault)) is not None:
            return reply
        legacy = fault is not None and fault.kind == "legacy"
        body = request.json_object() or {}  # ModelsLab answers a body it cannot parse as a missing key
        key = body.get("key")
        if not isinstance(key, str) or key not in settings.modelslab_keys:
            return _error(settings, "Invalid Api Key", 401)
        try:
            accepted = plan(body)
        except InvalidRequest as problem:
            message = {problem.field: [problem.message]} if legacy else problem.message
            return _error(settings, message, problem.status)
        limit = settings.modelslab_queue_limit
        if limit is not None and runtime.store.unfinished(MODELSLAB, key) >= limit:
            return _rate_limited(limit, QUEUE_RETRY_AFTER)
        job_fault = runtime.faults.take(MODELSLAB, endpoint, JOB_KINDS)
        job_kind = job_fault.kind if job_fault else None
        if job_kind == "moderation":
            return _error(settings, MODERATION_MESSAGE, 400)
        if job_kind == "quota":
            return _error(settings, QUOTA_MESSAGE, 402)
        number = runtime.store.next_number()
        job = _new_job(settings, request.base_url, number, key, accepted, legacy, job_kind)
        runtime.store.accept(job)
        if job.webhook:
            runtime.deliveries.schedule(job.ready_at, job.webhook, lambda: _webhook_payload(job))
        if job_kind == "drop_after_accept":
            return DROP
        if job.finished():
            return json_reply(_outcome_body(job, legacy))
        fetch_url = f"{request.base_url}{fetch_path}/{job.number}"
        return json_reply(_processing_body(job, fetch_url, legacy, settings))

    return handle


def _fetch(endpoint: str) -> Handler:
    """Build a fetch handler; any ModelsLab job id can be fetched through either family's path."""

    def handle(request: Request, runtime: Runtime) -> Reply:
        fault = runtime.faults.take(MODELSLAB, endpoint, REQUEST_KINDS)
        settings = runtime.settings
        if fault is not None and (reply := _request_fault_reply(fault)) is not None:
            return reply
        key = (request.json_object() or {}).get("key")
        if not isinstance(key, str) or key not in settings.modelslab_keys:
            return _error(settings, "Invalid Api Key", 401)
        job = runtime.store.poll(MODELSLAB, request.params["id"])
        if not isinstance(job, ModelsLabJob):
            # Unknown ids are a 404 even when ModelsLab sends other errors as 200 (A.2.2).
            return json_reply({"status": "error", "message": "Request id not found"}, 404)
        legacy = job.legacy or (fault is not None and fault.kind == "legacy")
        if job.finished():
            return json_reply(_outcome_body(job, legacy))
        if legacy:
            return json_reply(
                {"status": "processing", "id": "", "messege": "Request processing", "output": ""}
            )
        return json_reply(
            {
                "status": "processing",
                "id": job.number,
                "eta": _eta(job, settings),
                "message": "Request processing",
                "output": [],
            }
        )

    return handle


def _new_job(
    settings: EmulatorSettings,
    base_url: str,
    number: int,
    key: str,
    plan: rules.Plan,
    legacy: bool,
    job_kind: str | None,
) -> ModelsLabJob:
    file_prefix = str(uuid.uuid4())
    seed = plan.seed or random.randint(1, 2**32 - 1)
    files = tuple(
        ImageFile(
            stem=f"/generations/{file_prefix}-{index}",
            spec=ImageSpec(MODELSLAB, plan.prompt, plan.width, plan.height, index, plan.samples, seed),
            image_format=settings.image_format,
        )
        for index in range(plan.samples)
    )
    wants_base64 = plan.flags["base64"] == "yes"
    # In the "url" shape the links point at .base64 text files; in the "raw" shape the links stay
    # image URLs (they are what was announced) and only the final output carries the base64 text.
    extension = "base64" if wants_base64 and settings.modelslab_base64_shape == "url" else None
    meta: dict[str, Any] = {
        "prompt": plan.prompt,
        "negative_prompt": plan.negative_prompt,
        "width": plan.width,
        "height": plan.height,
        "samples": plan.samples,
        "seed": seed,
        "base64": plan.flags["base64"],
        "temp": plan.flags["temp"],
        "watermark": plan.flags["watermark"],
        "file_prefix": file_prefix,
    }
    if plan.model_id is not None:
        meta["model_id"] = plan.model_id
    now = time.time()
    return ModelsLabJob(
        vendor=MODELSLAB,
        job_id=str(number),
        owner=key,
        created_at=now,
        ready_at=now + settings.draw_processing_seconds(),
        files=files,
        fails=job_kind in FAILING_KINDS,
        echoes_key=job_kind == "job_fails_echoing_key",
        number=number,
        meta=meta,
        links=tuple(file.url(base_url, extension) for file in files),
        raw_base64=wants_base64 and settings.modelslab_base64_shape == "raw",
        legacy=legacy,
        track_id=plan.track_id,
        webhook=plan.webhook,
    )


def _processing_body(
    job: ModelsLabJob, fetch_url: str, legacy: bool, settings: EmulatorSettings
) -> dict[str, Any]:
    return {
        "status": "processing",
        "tip": TIP,
        "eta": _eta(job, settings),
        "messege" if legacy else "message": "Try to fetch request after seconds estimated",
        "fetch_result": fetch_url,
        "id": job.number,
        "output": "" if legacy else [],
        "future_links": list(job.links),
        "meta": job.meta,
    }


def _outcome_body(job: ModelsLabJob, legacy: bool) -> dict[str, Any]:
    """The finished job as fetch (or an instant generation answer) reports it."""
    if job.fails:
        return {
            "status": "failed",
            "id": "" if legacy else job.number,
            "message": job.failure_text(FAILED_MESSAGE),
            "output": "" if legacy else [],
        }
    links = list(job.links)
    return {
        "status": "success",
        "generationTime": job.generation_time,
        "id": job.number,
        "output": job.output(),
        "proxy_links": {str(index): link for index, link in enumerate(links)} if legacy else links,
        "meta": job.meta,
        "nsfw_content_detected": False,
    }


def _webhook_payload(job: ModelsLabJob) -> dict[str, Any]:
    if job.fails:
        return {
            "status": "failed",
            "id": job.number,
            "message": job.failure_text(FAILED_MESSAGE),
            "track_id": job.track_id,
        }
    return {
        "status": "success",
        "id": job.number,
        "output": job.output(),
        "generationTime": job.generation_time,
        "track_id": job.track_id,
        "meta": job.meta,
    }


def _eta(job: ModelsLabJob, settings: EmulatorSettings) -> int:
    """Whole seconds, re-estimated on every answer, as ModelsLab's ``eta`` is."""
    return max(1, math.ceil(settings.estimate(job.remaining())))


def _request_fault_reply(fault: Fault) -> Reply | None:
    if fault.kind == "rate_limit":
        return _rate_limited(5, fault.retry_after)
    if fault.kind == "server_error":
        return json_reply({"status": "error", "message": SERVER_ERROR_MESSAGE}, fault.status or 500)
    return common_reply(fault)


def _rate_limited(limit: int, seconds: float) -> Reply:
    """429 with the documented body; ``retry_after`` keeps fractions (fast tests), the header rounds up."""
    return json_reply(
        {
            "status": "error",
            "message": f"Rate limit exceeded. Maximum {limit} queued requests allowed.",
            "retry_after": int(seconds) if float(seconds).is_integer() else seconds,
        },
        429,
        (retry_after(seconds),),
    )


def _error(settings: EmulatorSettings, message: str | dict[str, list[str]], status: int) -> Reply:
    """An error body, sent as HTTP 200 (widely seen in the wild) unless the 4xx switch is on."""
    return json_reply(
        {"status": "error", "message": message}, status if settings.modelslab_http_errors else 200
    )


# Enterprise server management, free calls (reference A.2.3): modelslab-py builds these for every
# enterprise API with the body {"key": ...}; the answers are the documented examples of sibling
# servers. That the nano_banana server has them is inferred, not shown.
MANAGEMENT_ANSWERS: dict[str, dict[str, object]] = {
    "system_details": {"model_count": 0, "queue_time": 0, "status": "ok"},
    "restart_server": {"status": "success", "message": "server restarting"},
    "update": {"message": "server updating", "status": "success"},
    "clear_cache": {"status": "success", "message": "Cache cleared successfully"},
    "clear_queue": {"status": "success", "message": "Queue cleared, server is restarting"},
}


def _management(endpoint: str) -> Handler:
    def handle(request: Request, runtime: Runtime) -> Reply:
        key = (request.json_object() or {}).get("key")
        if not isinstance(key, str) or key not in runtime.settings.modelslab_keys:
            return _error(runtime.settings, "Invalid Api Key", 401)
        return json_reply(MANAGEMENT_ANSWERS[endpoint])

    return handle


def _enterprise_route(endpoint: str) -> Route:
    plan = functools.partial(rules.enterprise_plan, endpoint=endpoint)
    handler = _generation(endpoint, plan, f"{ENTERPRISE}/fetch")
    return Route("POST", f"{ENTERPRISE}/{endpoint}", handler, MODELSLAB, endpoint)


ROUTES = (
    _enterprise_route("text2img"),
    _enterprise_route("img2img"),
    _enterprise_route("multi_ref"),
    Route("POST", f"{ENTERPRISE}/fetch/(?P<id>[^/]+)", _fetch("fetch"), MODELSLAB, "fetch"),
    *(
        Route("POST", f"{ENTERPRISE}/{name}", _management(name), MODELSLAB, name)
        for name in MANAGEMENT_ANSWERS
    ),
    Route(
        "POST",
        f"{V7}/text-to-image",
        _generation("v7_text_to_image", rules.v7_text_plan, f"{V7}/fetch"),
        MODELSLAB,
        "v7_text_to_image",
    ),
    Route(
        "POST",
        f"{V7}/image-to-image",
        _generation("v7_image_to_image", rules.v7_image_plan, f"{V7}/fetch"),
        MODELSLAB,
        "v7_image_to_image",
    ),
    Route("POST", f"{V7}/fetch/(?P<id>[^/]+)", _fetch("v7_fetch"), MODELSLAB, "v7_fetch"),
)
