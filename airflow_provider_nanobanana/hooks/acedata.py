"""AceData Cloud: ``/nano-banana/images`` (generate, edit) and ``/nano-banana/tasks`` (retrieve, batch).

Submissions default to ``async: true``: in sync mode the HTTP request stays open for the whole
generation, and a read timeout there could not be retried without risking a second charge.
Pass ``options={"async": False}`` to get sync mode anyway; its read timeout is then
:data:`SYNC_READ_TIMEOUT`, since AceData documents generations of one to five minutes.

A submission whose answer was lost can be found again: task documents echo the request, and
``retrieve_batch`` takes a creation-time window (``created_at_min`` / ``created_at_max``, with
``limit`` / ``offset``, as AceData's own web app sends them; reference B.3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

import httpx

from airflow_provider_nanobanana import validation as check
from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.connection_forms import ACEDATA_FORM, ACEDATA_MODELS
from airflow_provider_nanobanana.exceptions import (
    NanoBananaInvalidRequestError,
    NanoBananaJobNotFoundError,
    NanoBananaPossiblyBilledError,
    NanoBananaRateLimitError,
    NanoBananaSubmissionUnknownError,
)
from airflow_provider_nanobanana.hooks.acedata_responses import (
    VENDOR,
    error_class,
    error_of,
    parse_images_reply,
    parse_task,
)
from airflow_provider_nanobanana.hooks.base import IN_FLIGHT_MARGIN, ApiCall, NanoBananaBaseHook
from airflow_provider_nanobanana.hooks.retry import retry_after_seconds
from airflow_provider_nanobanana.jobs import ImageJobRequest, ImageJobResult, JobKind, Vendor
from airflow_provider_nanobanana.spend.prices import BilledAs

IMAGES_PATH = "/nano-banana/images"
TASKS_PATH = "/nano-banana/tasks"
ASPECT_RATIOS = ("1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4")
RESOLUTIONS = ("1K", "2K", "4K")
ONE_K_ONLY_MODELS = ("nano-banana", "nano-banana-2-lite")
_RESOLUTIONS_BY_MODEL = {
    model: ("1K",) if model.split(":")[0] in ONE_K_ONLY_MODELS else RESOLUTIONS for model in ACEDATA_MODELS
}
DATA_URI_LIMIT = 10 * 1024 * 1024
# AceData documents no limit on ``ids`` per ``retrieve_batch``; 100 keeps each answer small
# (about 100 KB) and far from any size limit a proxy in between might have.
RETRIEVE_BATCH_LIMIT = 100
_MAX_COUNT = 4
_OPTIONS = ("async", "callback_url")
# Sync mode answers once the images exist: "1-5 minutes" in AceData's guidance, and its own CLI
# waits up to 30 minutes. A read timeout shorter than the generation would lose a paid answer.
SYNC_READ_TIMEOUT = 900.0
# How far around the recorded send time a lost submission's task is looked for: clocks differ.
_LOST_SUBMISSION_SLACK = 60.0
_SEARCH_PAGE = 100
# Pages a search reads at most (100,000 tasks) before it calls the lost submission unsettled.
_SEARCH_PAGES = 1000
# The request fields a lost submission is recognised by (input images by their number: presigned
# URLs differ each time they are made).
_MATCHED_FIELDS = ("action", "prompt", "model", "count", "aspect_ratio", "resolution")


def build_submission(request: ImageJobRequest, default_model: str) -> ApiCall:
    """Validate ``request`` against AceData's documented limits and build the call; sends nothing."""
    check.require_prompt(request.prompt)
    model = check.check_choice(
        "model", default_model if request.model is None else request.model, ACEDATA_MODELS
    )
    check.reject_unsupported(
        VENDOR,
        "nano-banana/images",
        {
            "width": request.width,
            "height": request.height,
            "seed": request.seed,
            "negative_prompt": request.negative_prompt,
        },
        hint=" (size images with aspect_ratio and resolution)",
    )
    body: dict[str, Any] = {
        "action": "generate" if request.kind is JobKind.GENERATE else "edit",
        "prompt": request.prompt,
        "model": model,
    }
    if request.kind is JobKind.GENERATE:
        check.reject_unsupported(VENDOR, "generate", {"images": request.images})
    elif not request.images:
        raise check.invalid("images", [], "at least one image URL or data URI to edit")
    elif request.kind is JobKind.IMG2IMG and len(request.images) != 1:
        raise check.invalid("images", list(request.images), "exactly one reference image for img2img")
    if request.images:
        body["image_urls"] = [
            check.check_url(f"images[{i}]", url, data_uri_limit=DATA_URI_LIMIT)
            for i, url in enumerate(request.images)
        ]
    if request.count is not None:
        body["count"] = check.check_int("count", request.count, 1, _MAX_COUNT)
    if request.aspect_ratio is not None:
        body["aspect_ratio"] = check.check_model_choice(
            "aspect_ratio", request.aspect_ratio, model, dict.fromkeys(ACEDATA_MODELS, ASPECT_RATIOS)
        )
    if request.resolution is not None:
        body["resolution"] = check.check_model_choice(
            "resolution", request.resolution, model, _RESOLUTIONS_BY_MODEL
        )
    check.reject_unknown_options(VENDOR, request.options, _OPTIONS)
    asynchronous = request.options.get("async", True)
    if not isinstance(asynchronous, bool):
        raise check.invalid("options.async", asynchronous, "True or False")
    body["async"] = asynchronous
    if request.options.get("callback_url") is not None:
        body["callback_url"] = check.check_url("options.callback_url", request.options["callback_url"])
    waits_for_images = not asynchronous and "callback_url" not in body
    return ApiCall(
        "images",
        IMAGES_PATH,
        body,
        is_submission=True,
        read_timeout=SYNC_READ_TIMEOUT if waits_for_images else None,
    )


def build_retrieve(job_id: str) -> ApiCall:
    if not str(job_id).strip():
        raise check.invalid("job_id", job_id, "the task_id returned when the job was submitted")
    return ApiCall("tasks", TASKS_PATH, {"id": str(job_id), "action": "retrieve"})


def build_retrieve_batch(job_ids: Sequence[str]) -> ApiCall:
    return ApiCall(
        "tasks", TASKS_PATH, {"ids": [str(job_id) for job_id in job_ids], "action": "retrieve_batch"}
    )


def _chunks(job_ids: Sequence[str]) -> list[Sequence[str]]:
    size = RETRIEVE_BATCH_LIMIT
    return [job_ids[start : start + size] for start in range(0, len(job_ids), size)]


def build_task_search(window: tuple[float, float], offset: int) -> ApiCall:
    """Tasks created within ``window`` (creation times), newest pages first: how a lost
    submission is found."""
    low, high = window
    return ApiCall(
        "tasks",
        TASKS_PATH,
        {
            "action": "retrieve_batch",
            "created_at_min": round(low, 3),
            "created_at_max": round(high, 3),
            "limit": _SEARCH_PAGE,
            "offset": offset,
        },
    )


def is_same_submission(task: Any, sent: Mapping[str, Any]) -> bool:
    """Whether a task document's echoed ``request`` is the submission ``sent``."""
    echoed = task.get("request") if isinstance(task, Mapping) else None
    if not isinstance(echoed, Mapping):
        return False
    if any(echoed.get(name) != sent.get(name) for name in _MATCHED_FIELDS if name in sent):
        return False
    return len(echoed.get("image_urls") or ()) == len(sent.get("image_urls") or ())


def _batch_results(body: dict[str, Any]) -> dict[str, ImageJobResult]:
    items = body.get("items") if isinstance(body.get("items"), list) else []
    return {result.job_id: result for result in map(parse_task, items) if result.job_id}


class AceDataHook(NanoBananaBaseHook):
    """Submit and poll Nano Banana jobs on AceData Cloud.

    :param conn_id: a ``nanobanana_acedata`` connection; the password is the bearer token.
    """

    conn_type = "nanobanana_acedata"
    default_conn_name = "nanobanana_acedata_default"
    hook_name = "Nano Banana (AceData Cloud)"
    vendor = Vendor.ACEDATA
    vendor_label = VENDOR
    default_base_url = "https://api.acedata.cloud"
    inline_image_limit = DATA_URI_LIMIT
    status_batch_size = RETRIEVE_BATCH_LIMIT
    can_find_lost_submissions = True
    default_max_in_flight = 10  # AceData documents no queue limit

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return ACEDATA_FORM.ui_field_behaviour()

    def _default_model(self, extras: dict[str, Any]) -> str:
        return self.extra(extras, "default_model") or ACEDATA_MODELS[0]

    def billed_as(self, request: ImageJobRequest, *, batch: bool = False) -> BilledAs:
        model = request.model or self._default_model(self.settings.extras)
        return BilledAs(VENDOR, model, request.resolution or RESOLUTIONS[0])

    def validate(self, request: ImageJobRequest) -> None:
        """Check ``request`` against AceData's limits without sending anything."""
        build_submission(request, self._default_model(self.settings.extras))

    def submit(self, request: ImageJobRequest) -> ImageJobResult:
        """Submit a job; ``pending`` with the task id in async mode, ``succeeded`` in sync mode."""
        call = build_submission(request, self._default_model(self.settings.extras))
        return self._submitted(call, self.call(call))

    async def asubmit(self, request: ImageJobRequest) -> ImageJobResult:
        call = build_submission(request, self._default_model((await self.asettings()).extras))
        return self._submitted(call, await self.acall(call))

    def get_job(self, job_id: str) -> ImageJobResult:
        return parse_task(self.call(build_retrieve(job_id)))

    async def aget_job(self, job_id: str) -> ImageJobResult:
        return parse_task(await self.acall(build_retrieve(job_id)))

    def find_lost_submission(self, request: ImageJobRequest, *, sent_at: float) -> ImageJobResult | None:
        """Search the tasks created around ``sent_at`` for one whose echoed request is ``request``.

        One match is the job. No match proves nothing was created only once the lost request
        can no longer be in flight (its read timeout, plus a margin, after ``sent_at``): a slow
        answer may still be creating the task, so until then the search is repeated. Several
        matches, or an answer that is not a task list, cannot settle it:
        ``NanoBananaPossiblyBilledError``.
        """
        call = build_submission(request, self._default_model(self.settings.extras))
        read_timeout = call.read_timeout or self.settings.timeout
        # The task can only have been created while the request could be in flight; the slack
        # on both sides is for the vendor's clock.
        window = (
            sent_at - _LOST_SUBMISSION_SLACK,
            sent_at + read_timeout + IN_FLIGHT_MARGIN + _LOST_SUBMISSION_SLACK,
        )
        matches = self._search_until_settled(
            lambda: self._tasks_sent_as(call.body, sent_at, window),
            sent_at=sent_at,
            read_timeout=read_timeout,
            what="task for the request",
        )
        if len(matches) > 1:
            raise NanoBananaPossiblyBilledError(
                f"AceData has {len(matches)} tasks with this request created around {wording.utc(sent_at)} "
                f"({', '.join(match.job_id for match in matches)}); which one the lost submission "
                "created cannot be told.",
                vendor=VENDOR,
            )
        self.log.info(
            "AceData search for the submission sent at %s: %s.",
            wording.utc(sent_at),
            f"task {matches[0].job_id}" if matches else "no such task, so none was created",
        )
        return matches[0] if matches else None

    def _tasks_sent_as(
        self, sent: Mapping[str, Any], sent_at: float, window: tuple[float, float]
    ) -> list[ImageJobResult]:
        """Every task in ``window`` whose echoed request is ``sent``, reading every page: a busy
        account creates thousands of tasks in a window, and a page not read is a task not found.
        Tasks created while it pages shift the newest-first pages, so a task read twice counts once."""
        matches: dict[str, ImageJobResult] = {}
        for page in range(_SEARCH_PAGES):
            items = self.call(build_task_search(window, page * _SEARCH_PAGE)).get("items")
            if not isinstance(items, list):
                raise NanoBananaPossiblyBilledError(
                    f"AceData tasks: the search for the task sent at {wording.utc(sent_at)} did not answer "
                    "with a task list, so whether that submission created a (billed) task is unknown.",
                    vendor=VENDOR,
                )
            for task in items:
                if is_same_submission(task, sent):
                    match = parse_task(task)
                    matches[match.job_id] = match
            if len(items) < _SEARCH_PAGE:
                return list(matches.values())
        raise NanoBananaPossiblyBilledError(
            f"AceData tasks: more than {_SEARCH_PAGES * _SEARCH_PAGE} tasks were created around "
            f"{wording.utc(sent_at)}, so the search could not tell whether the submission sent then "
            "created a (billed) task.",
            vendor=VENDOR,
        )

    def get_jobs(self, job_ids: Sequence[str]) -> dict[str, ImageJobResult]:
        """Retrieve many tasks, up to 100 per request; ids AceData does not know are absent."""
        found: dict[str, ImageJobResult] = {}
        for chunk in _chunks(job_ids):
            found.update(_batch_results(self.call(build_retrieve_batch(chunk))))
        return found

    async def aget_jobs(self, job_ids: Sequence[str]) -> dict[str, ImageJobResult]:
        calls = [build_retrieve_batch(chunk) for chunk in _chunks(job_ids)]
        bodies = await asyncio.gather(*(self.acall(call) for call in calls))
        return {job_id: result for body in bodies for job_id, result in _batch_results(body).items()}

    def _submitted(self, call: ApiCall, body: dict[str, Any]) -> ImageJobResult:
        result = parse_images_reply(body, requested=call.body.get("count", 1))
        if result is None:
            raise NanoBananaSubmissionUnknownError(
                "AceData images: the answer named no task_id, so whether a job was created is unknown; "
                "it was not re-sent.",
                vendor=VENDOR,
            )
        self.log.log(
            self.job_log_level,
            "AceData %s accepted task %s: %s.",
            call.body["action"],
            result.job_id,
            result.state.value,
        )
        return result

    def _authenticate(self, call: ApiCall, api_key: str) -> tuple[dict[str, Any], dict[str, str]]:
        return call.body, {"Authorization": f"Bearer {api_key}"}

    def _raise_for_error(self, call: ApiCall, response: httpx.Response, body: Any) -> None:
        is_tasks = call.endpoint == "tasks"
        if isinstance(body, dict):
            code, message = error_of(body)
            if call.is_submission and body.get("task_id") and message is None:
                return  # the task exists, whatever the HTTP status says
            if message is None and code is None and response.is_success:
                return
            retry_after = retry_after_seconds(response.headers)
        elif response.status_code in (401, 402, 403, 429) or (is_tasks and response.status_code == 404):
            code, message, retry_after = None, None, retry_after_seconds(response.headers)
        else:
            return  # unreadable: the caller decides what an unreadable answer means
        cls = error_class(response.status_code, code, is_tasks=is_tasks)
        text = f"AceData {call.endpoint}: {self.scrub(message or f'HTTP {response.status_code}')}"
        if code:
            text += f" ({code})"
        kwargs: dict[str, Any] = {"vendor": VENDOR, "code": code, "status_code": response.status_code}
        if cls is NanoBananaRateLimitError:
            raise cls(text, retry_after=retry_after, **kwargs)
        if cls is NanoBananaJobNotFoundError:
            raise cls(text, job_id=call.body.get("id"), **kwargs)
        raise cls(text, **kwargs)

    def _check_key(self) -> str:
        # Retrieving a task id that cannot exist is free; only an auth error means a bad token.
        with suppress(NanoBananaJobNotFoundError, NanoBananaInvalidRequestError):
            self.get_job("00000000-0000-0000-0000-000000000000")
        return f"AceData accepted the token ({self.settings.base_url})."
