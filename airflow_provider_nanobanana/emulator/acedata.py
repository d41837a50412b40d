"""AceData Cloud's Nano Banana endpoints: ``POST /nano-banana/images`` and ``/nano-banana/tasks``.

Every request, sync or not, creates a task that ``/tasks`` can retrieve (reference B.3): while it
runs the document has no ``finished_at``, ``elapsed`` or ``response``; once done, ``response`` is
exactly the body the sync call returned (or the failure object). Errors always use the B.5 shape
``{"success": false, "error": {"code", "message"}, "trace_id"}``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from airflow_provider_nanobanana.emulator import acedata_validation as rules
from airflow_provider_nanobanana.emulator.faults import FAILING_KINDS, JOB_KINDS, REQUEST_KINDS, common_reply
from airflow_provider_nanobanana.emulator.images import ImageSpec
from airflow_provider_nanobanana.emulator.runtime import Runtime
from airflow_provider_nanobanana.emulator.settings import ACEDATA, EmulatorSettings, Fault
from airflow_provider_nanobanana.emulator.state import ImageFile, Job
from airflow_provider_nanobanana.emulator.wire import (
    DROP,
    InvalidRequest,
    Reply,
    Request,
    Route,
    json_reply,
    retry_after,
)

API_ID = "9d8a117e-31ca-4322-a0fd-1771296ec610"  # the nano-banana images API id in AceData's spec
MODERATION_MESSAGE = "The provider's native safety policy refused the request or its results."
QUOTA_MESSAGE = "Your balance is not sufficient for current request, please buy more in Ace Data Cloud."
_CODES_BY_STATUS = {400: "bad_request", 413: "request_too_large"}
# Real tasks start a few tens of milliseconds after they are created (B.3 example: 60 ms).
_START_DELAY = 0.06


@dataclass(frozen=True, kw_only=True)
class AceDataJob(Job):
    """An AceData task: the original request, its trace id and where to call back."""

    request: dict[str, Any]
    trace_id: str
    record_id: str
    started_at: float
    callback_url: str | None
    data: tuple[dict[str, str], ...]

    def response(self) -> dict[str, Any]:
        """The finished task's answer: the sync body, or the failure object."""
        if self.fails:
            return {
                "success": False,
                "task_id": self.job_id,
                "trace_id": self.trace_id,
                "error": {"code": "api_error", "message": self.failure_text("generation failed")},
            }
        return {"success": True, "task_id": self.job_id, "trace_id": self.trace_id, "data": list(self.data)}

    def document(self) -> dict[str, Any]:
        """The task as ``/tasks`` returns it, keys in the order of the documented example."""
        document: dict[str, Any] = {
            "_id": self.record_id,
            "id": self.job_id,
            "api_id": API_ID,
            "application_id": _account_id("application", self.owner),
            "created_at": round(self.created_at, 3),
            "started_at": round(self.started_at, 3),
        }
        finished = self.finished()
        if finished:
            document["finished_at"] = round(self.ready_at, 3)
            document["elapsed"] = round(self.ready_at - self.started_at, 3)
        document.update(
            credential_id=_account_id("credential", self.owner),
            request=self.request,
            trace_id=self.trace_id,
            type="images",
            user_id=_account_id("user", self.owner),
        )
        if finished:
            document["response"] = self.response()
        return document


def _admit(request: Request, runtime: Runtime, endpoint: str) -> tuple[str, dict[str, Any]] | Reply:
    """What every AceData endpoint does first: request faults, the bearer token, a JSON object body."""
    fault = runtime.faults.take(ACEDATA, endpoint, REQUEST_KINDS)
    if fault is not None and (reply := _request_fault_reply(fault)) is not None:
        return reply
    token, refusal = _authenticate(request, runtime.settings)
    if refusal is not None:
        return refusal
    body = request.json_object()
    if body is None:
        return _error(400, "bad_request", "The request body must be a JSON object.")
    return token, body


def _images(request: Request, runtime: Runtime) -> Reply:
    admitted = _admit(request, runtime, "images")
    if isinstance(admitted, Reply):
        return admitted
    token, body = admitted
    settings = runtime.settings
    try:
        plan = rules.images_plan(body)
    except InvalidRequest as problem:
        return _error(problem.status, _CODES_BY_STATUS[problem.status], problem.message)
    job_fault = runtime.faults.take(ACEDATA, "images", JOB_KINDS)
    job_kind = job_fault.kind if job_fault else None
    if job_kind == "moderation":
        return _error(403, "forbidden", MODERATION_MESSAGE)
    if job_kind == "quota":
        return _error(403, "used_up", QUOTA_MESSAGE)
    count = max(1, plan.count - 1) if job_kind == "partial" else plan.count
    job = _new_job(settings, request.base_url, token, body, plan, count, job_kind)
    runtime.store.accept(job)
    if job.callback_url:
        runtime.deliveries.schedule(job.ready_at, job.callback_url, job.response)
    if job_kind == "drop_after_accept":
        return DROP
    if job_kind == "server_error_with_task":
        # Seen in the wild: a 5xx although the task exists; careful clients poll the task_id.
        return json_reply({"task_id": job.job_id, "trace_id": job.trace_id}, 500)
    if plan.answer_at_once:
        return json_reply({"task_id": job.job_id})
    time.sleep(job.remaining())
    return json_reply(job.response(), 500 if job.fails else 200)


def _tasks(request: Request, runtime: Runtime) -> Reply:
    admitted = _admit(request, runtime, "tasks")
    if isinstance(admitted, Reply):
        return admitted
    token, body = admitted
    action = body.get("action", "retrieve")
    if action == "retrieve":
        task_id = body.get("id")
        if not isinstance(task_id, str) or not task_id:
            return _error(400, "bad_request", "id is required.")
        job = runtime.store.poll(ACEDATA, task_id)
        if not isinstance(job, AceDataJob):
            # Undocumented upstream (reference B.3 "[?]"): the emulator answers 404 not_found.
            return _error(404, "not_found", "Task not found.")
        return json_reply(job.document())
    if action == "retrieve_batch":
        if "ids" not in body:
            return _search(body, runtime, token)
        ids = body.get("ids")
        if not isinstance(ids, list) or not all(isinstance(task_id, str) for task_id in ids):
            return _error(400, "bad_request", "ids must be a list of task ids.")
        jobs = [runtime.store.poll(ACEDATA, task_id) for task_id in ids]
        items = [job.document() for job in jobs if isinstance(job, AceDataJob)]
        return json_reply({"items": items, "count": len(items)})
    return _error(400, "bad_request", "action is invalid, it must be one of: retrieve, retrieve_batch.")


def _search(body: dict[str, Any], runtime: Runtime, token: str) -> Reply:
    """``retrieve_batch`` without ids: the caller's tasks by creation time, newest first, paged by
    ``limit``/``offset`` (the filters AceData's web app sends; reference B.3)."""
    low, high = body.get("created_at_min", 0), body.get("created_at_max", time.time() + 3600)
    limit, offset = body.get("limit", 20), body.get("offset", 0)
    numbers = (low, high, limit, offset)
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in numbers):
        return _error(400, "bad_request", "created_at_min, created_at_max, limit and offset must be numbers.")
    jobs = runtime.store.created_between(ACEDATA, token, float(low), float(high))
    page = jobs[int(offset) : int(offset) + max(0, int(limit))]
    items = [job.document() for job in page if isinstance(job, AceDataJob)]
    return json_reply({"items": items, "count": len(jobs)})


def _no_api(request: Request, runtime: Runtime) -> Reply:
    return _error(404, "no_api", "API does not exist, please make sure url is correct.")


def _new_job(
    settings: EmulatorSettings,
    base_url: str,
    token: str,
    body: dict[str, Any],
    plan: rules.Plan,
    count: int,
    job_kind: str | None,
) -> AceDataJob:
    now = time.time()
    seed = secrets.randbelow(2**32)  # AceData takes no seed; vary the pictures between jobs anyway
    files = tuple(
        ImageFile(
            stem=f"/nanobanana/{uuid.uuid4()}",
            spec=ImageSpec(ACEDATA, plan.prompt, plan.width, plan.height, index, count, seed),
            image_format=settings.image_format,
        )
        for index in range(count)
    )
    duration = settings.draw_processing_seconds()
    return AceDataJob(
        vendor=ACEDATA,
        job_id=str(uuid.uuid4()),
        owner=token,
        created_at=now,
        ready_at=now + duration,
        files=files,
        fails=job_kind in FAILING_KINDS,
        echoes_key=job_kind == "job_fails_echoing_key",
        request=body,
        trace_id=str(uuid.uuid4()),
        record_id=f"{int(now):08x}{secrets.token_hex(8)}",  # shaped like a MongoDB ObjectId
        started_at=now + min(_START_DELAY, duration),
        callback_url=plan.callback_url,
        data=tuple({"prompt": plan.prompt, "image_url": file.url(base_url)} for file in files),
    )


def _authenticate(request: Request, settings: EmulatorSettings) -> tuple[str, Reply | None]:
    """Read ``Authorization: Bearer <token>``; return the token, or the refusal to send."""
    header = request.headers.get("authorization", "").strip()
    scheme, _, rest = header.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else header
    if not token:
        return "", _error(400, "no_token", "No token specified for the request.")
    if token not in settings.acedata_tokens:
        return "", _error(401, "invalid_token", "The specified token is invalid or wrong.")
    return token, None


def _request_fault_reply(fault: Fault) -> Reply | None:
    if fault.kind == "rate_limit":
        return _error(
            429, "too_many_requests", "You have exceeded the rate limit.", (retry_after(fault.retry_after),)
        )
    if fault.kind == "server_error":
        return _error(fault.status or 500, "api_error", "Internal server error.")
    return common_reply(fault)


def _error(status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    body = {"success": False, "error": {"code": code, "message": message}, "trace_id": str(uuid.uuid4())}
    return json_reply(body, status, headers)


def _account_id(kind: str, token: str) -> str:
    """Stable per-token application/credential/user ids, so one token always looks like one account."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nanobanana-emulator:{kind}:{token}"))


ROUTES = (
    Route("POST", "/nano-banana/images", _images, ACEDATA, "images"),
    Route("POST", "/nano-banana/tasks", _tasks, ACEDATA, "tasks"),
    Route(None, "/nano-banana/.*", _no_api),
)
