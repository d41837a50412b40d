"""Google's Gemini API for Nano Banana: ``generateContent``, the Files API and Batch.

- ``POST /v1beta/models/{model}:generateContent`` answers once the image exists, the image inline
  as base64 beside a text part. A thinking model (Gemini 3 Pro Image always, the others at
  ``thinkingLevel: HIGH``) first answers two interim *thought* images, parts marked
  ``"thought": true``, as Google's image-generation page shows, and its final image part carries
  a ``thoughtSignature``. A blocked request is HTTP 200 too: ``promptFeedback.blockReason``
  (fault ``moderation``) or a candidate with ``finishReason: IMAGE_SAFETY`` and no image
  (``no_image``). Every answered request counts as accepted (billed).
- ``GET /v1beta/models/{model}``: the model, free (what ``test_connection`` calls).
- ``POST /upload/v1beta/files``: the resumable upload; ``start`` hands out an
  ``x-goog-upload-url``, ``upload, finalize`` to it stores the bytes as ``files/{id}``.
- ``POST /v1beta/models/{model}:batchGenerateContent``: a batch from an uploaded JSONL file of
  ``{"key", "request"}`` lines (one accepted job, however many lines). ``GET /v1beta/batches/{id}``
  is the operation: ``PENDING``, ``RUNNING``, then ``SUCCEEDED`` with ``response.responsesFile``,
  ``PARTIALLY_SUCCEEDED`` when some lines failed, or ``FAILED`` (``job_fails``) / ``EXPIRED``
  (``expired``), spelled ``BATCH_STATE_*`` or ``JOB_STATE_*`` (setting ``gemini_state_prefix``).
  ``GET /v1beta/batches`` lists them, paged.
- ``GET /download/v1beta/files/{id}:download?alt=media``: the results JSONL, one line per request
  in input order, each ``{"key", "response"}`` or ``{"key", "status"}``: a ``google.rpc.Status``
  whose ``code`` is a gRPC code (``line_error`` faults: the last lines fail, one a hit, in the order
  the faults were added, each with the code its ``status`` gives, default 13 ``INTERNAL``;
  ``partial``: the last line, 13; blocked: ``moderation``).

Errors are ``google.rpc.Status`` bodies. No key: 403 ``PERMISSION_DENIED``; a wrong key: 400
``INVALID_ARGUMENT`` with ``ErrorInfo`` reason ``API_KEY_INVALID``, as Google answers; 429
``RESOURCE_EXHAUSTED`` carries ``RetryInfo.retryDelay``, and fault ``quota`` a per-day
``QuotaFailure`` that no retry helps.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from airflow_provider_nanobanana.emulator.faults import JOB_KINDS, REQUEST_KINDS, common_reply
from airflow_provider_nanobanana.emulator.images import ImageSpec, pad, render
from airflow_provider_nanobanana.emulator.runtime import Runtime
from airflow_provider_nanobanana.emulator.settings import GEMINI, Fault
from airflow_provider_nanobanana.emulator.state import Job
from airflow_provider_nanobanana.emulator.wire import DROP, Reply, Request, Route, json_reply

TEN_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
FOURTEEN_RATIOS = (*TEN_RATIOS, "1:4", "4:1", "1:8", "8:1")
FIFTEEN_RATIOS = (*FOURTEEN_RATIOS, "9:21")
LEVELS = ("MINIMAL", "HIGH")


@dataclass(frozen=True)
class _Model:
    """What a model takes (``sizes`` empty: no imageSize), the image tokens an answer bills by
    size, and whether it always thinks."""

    ratios: tuple[str, ...]
    sizes: tuple[str, ...]
    image_tokens: dict[str, int]
    thinking_levels: tuple[str, ...] = ()
    always_thinks: bool = False


# Image output tokens per image as Google's pricing page and the Vertex model card give them.
_FLASH_TOKENS = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
_PRO_TOKENS = {"1K": 1120, "2K": 1120, "4K": 2000}
_PRO_SIZES = ("1K", "2K", "4K")
MODELS: dict[str, _Model] = {
    "gemini-2.5-flash-image": _Model(TEN_RATIOS, (), {"1K": 1290}),
    "gemini-3-pro-image-preview": _Model(TEN_RATIOS, _PRO_SIZES, _PRO_TOKENS, always_thinks=True),
    "gemini-3-pro-image": _Model(TEN_RATIOS, _PRO_SIZES, _PRO_TOKENS, always_thinks=True),
    "gemini-3.1-flash-image-preview": _Model(FOURTEEN_RATIOS, ("512", "1K", "2K", "4K"), _FLASH_TOKENS),
    "gemini-3.1-flash-image": _Model(FIFTEEN_RATIOS, ("512", "1K", "2K", "4K"), _FLASH_TOKENS, LEVELS),
    "gemini-3.1-flash-lite-image": _Model(TEN_RATIOS, ("1K",), _FLASH_TOKENS, LEVELS),
    "gemini-nano-banana-2.1": _Model(FOURTEEN_RATIOS, ("1K", "2K", "4K"), _FLASH_TOKENS, LEVELS),
}
# What else an answer bills: its caption, a thinking model's thoughts, each input image.
_CAPTION_TOKENS = 12
_THOUGHT_TOKENS = 800
_INPUT_IMAGE_TOKENS = 560
_INLINE_KEYS = {"inlineData", "inline_data"}
_DRAFTS = 2  # interim images a thinking model shows before its final one
_SCALES = {"512": 0.5, "1K": 1.0, "2K": 2.0, "4K": 4.0}
_ANSWERED = ("SUCCEEDED", "PARTIALLY_SUCCEEDED")
_PAGE = 50
_FILE_KINDS = frozenset({"expired", "truncated", "not_image"})
_BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
_OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"


class _Refusal(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__("refused")
        self.reply = reply


@dataclass(frozen=True)
class _Plan:
    """What one request draws, and whether the model thinks aloud first (thought drafts)."""

    spec: ImageSpec
    thinks: bool
    usage: dict[str, Any]


@dataclass(frozen=True)
class _Line:
    """One request of a batch: what it draws, or the status it fails with."""

    key: str
    plan: _Plan | None
    status: dict[str, Any] | None = None
    blocked: bool = False


@dataclass(frozen=True, kw_only=True)
class GeminiBatch(Job):
    """A batch: its lines, display name and model, and how it ends."""

    display_name: str
    model: str
    input_file: str
    lines: tuple[_Line, ...]
    ending: str  # SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED or EXPIRED
    pending_until: float

    def state(self, now: float) -> str:
        if now < self.pending_until:
            return "PENDING"
        return "RUNNING" if now < self.ready_at else self.ending

    @property
    def answered(self) -> bool:
        """Its results file exists (some lines may be errors)."""
        return self.ending in _ANSWERED

    def operation(self, prefix: str, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        state = self.state(now)
        done = state in (*_ANSWERED, "FAILED", "EXPIRED")
        succeeded = sum(1 for line in self.lines if line.plan is not None and not line.blocked)
        stats = {"requestCount": str(len(self.lines))}
        if done and state in _ANSWERED:
            stats["successfulRequestCount"] = str(succeeded)
            stats["failedRequestCount"] = str(len(self.lines) - succeeded)
        else:
            stats["pendingRequestCount"] = str(len(self.lines))
        batch: dict[str, Any] = {
            "@type": _BATCH_TYPE,
            "model": f"models/{self.model}",
            "displayName": self.display_name,
            "inputConfig": {"fileName": self.input_file},
            "createTime": _rfc3339(self.created_at),
            "updateTime": _rfc3339(min(now, self.ready_at)),
            "batchStats": stats,
            "state": f"{prefix}{state}",
            "name": self.job_id,
        }
        operation: dict[str, Any] = {"name": self.job_id, "metadata": batch, "done": done}
        if done:
            batch["endTime"] = _rfc3339(self.ready_at)
        if state in _ANSWERED:
            operation["response"] = {"@type": _OUTPUT_TYPE, "responsesFile": self.results_file}
        elif state == "FAILED":
            operation["error"] = {"code": 13, "message": self.failure_text("The batch failed.")}
        return operation

    @property
    def results_file(self) -> str:
        return f"files/batch-{self.job_id.removeprefix('batches/')}"


# -- shared steps --------------------------------------------------------------------------------


def _status(code: int, status: str, message: str, *details: dict[str, Any]) -> Reply:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return json_reply({"error": error}, code)


def _request_fault(runtime: Runtime, endpoint: str) -> Reply | None:
    """The reply a request fault queued for ``endpoint`` makes (the file faults are the download's)."""
    fault = runtime.faults.take(GEMINI, endpoint, REQUEST_KINDS - _FILE_KINDS)
    return None if fault is None else _request_fault_reply(fault)


def _admit(request: Request, runtime: Runtime, endpoint: str) -> str:
    """Request faults, then the key (header, or ``?key=``); returns the key or raises the refusal."""
    if (reply := _request_fault(runtime, endpoint)) is not None:
        raise _Refusal(reply)
    key = request.headers.get("x-goog-api-key") or request.query.get("key", "")
    if not key:
        raise _Refusal(
            _status(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        )
    if key not in runtime.settings.gemini_keys:
        raise _Refusal(
            _status(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
            )
        )
    return key


def _request_fault_reply(fault: Fault) -> Reply | None:
    if fault.kind == "rate_limit":
        return _rate_limited(fault.retry_after)
    if fault.kind == "server_error":
        status = fault.status or 500
        name = {503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}.get(status, "INTERNAL")
        return _status(status, name, "An internal error has occurred. Please retry or report it.")
    return common_reply(fault)


def _rate_limited(retry_after: float, *, per_day: bool = False) -> Reply:
    quota = (
        "GenerateRequestsPerDayPerProjectPerModel"
        if per_day
        else "GenerateRequestsPerMinutePerProjectPerModel"
    )
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {"quotaMetric": "generativelanguage.googleapis.com/generate_requests", "quotaId": quota}
            ],
        }
    ]
    if not per_day:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{math.ceil(retry_after)}s"}
        )
    return _status(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        *details,
    )


def _handled(handler: Any) -> Any:
    def handle(request: Request, runtime: Runtime) -> Reply:
        try:
            return handler(request, runtime)
        except _Refusal as refusal:
            return refusal.reply

    return handle


def _invalid(message: str) -> _Refusal:
    return _Refusal(_status(400, "INVALID_ARGUMENT", message))


# -- requests ------------------------------------------------------------------------------------


def _plan(model: str, body: Any, index: int, seed: int) -> _Plan:
    """Check one ``GenerateContentRequest`` for ``model``; return what it draws."""
    rules = MODELS[model]
    ratios, sizes = rules.ratios, rules.sizes
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list) or not body["contents"]:
        raise _invalid("* GenerateContentRequest.contents: contents is not specified")
    parts = [
        part
        for content in body["contents"]
        if isinstance(content, dict)
        for part in content.get("parts") or ()
    ]
    texts = [part["text"] for part in parts if isinstance(part, dict) and isinstance(part.get("text"), str)]
    for part in parts:
        inline = part.get("inlineData", part.get("inline_data")) if isinstance(part, dict) else None
        if inline is not None:
            data = inline.get("data") if isinstance(inline, dict) else None
            try:
                base64.b64decode(data or "", validate=True)
            except ValueError:
                raise _invalid(
                    "Invalid value at 'contents[0].parts[1].inline_data.data' (TYPE_BYTES)"
                ) from None
    if not texts:
        raise _invalid("* GenerateContentRequest.contents[0].parts: a text part is required")
    config = body.get("generationConfig", body.get("generation_config")) or {}
    modalities = config.get("responseModalities", config.get("response_modalities")) or ["TEXT"]
    if "IMAGE" not in modalities:
        raise _invalid("This model only supports responseModalities that include IMAGE.")
    image_config = config.get("imageConfig", config.get("image_config")) or {}
    ratio = image_config.get("aspectRatio", image_config.get("aspect_ratio", "1:1"))
    if ratio not in ratios:
        raise _invalid(f"Unsupported aspect ratio: {ratio}. Supported: {', '.join(ratios)}.")
    size = image_config.get("imageSize", image_config.get("image_size"))
    if size is not None and size not in sizes:
        raise _invalid(f"Unsupported image size {size!r} for {model}.")
    thinking = config.get("thinkingConfig", config.get("thinking_config")) or {}
    level = thinking.get("thinkingLevel", thinking.get("thinking_level"))
    if level is not None and level not in rules.thinking_levels:
        raise _invalid(f"Thinking level {level!r} is not supported for {model}.")
    width, height = _pixels(ratio, _SCALES[size or "1K"])
    spec = ImageSpec(GEMINI, " ".join(texts), width, height, index, 1, seed)
    thinks = rules.always_thinks or level == "HIGH"
    inputs = sum(isinstance(part, dict) and bool(_INLINE_KEYS & part.keys()) for part in parts)
    prompt_tokens = len(spec.prompt) // 4 + 1 + inputs * _INPUT_IMAGE_TOKENS
    usage = _usage(prompt_tokens, rules.image_tokens[size or "1K"], thinks)
    return _Plan(spec, thinks=thinks, usage=usage)


def _usage(prompt: int, image: int, thinks: bool) -> dict[str, Any]:
    """``usageMetadata`` as Google writes it: output tokens by modality, thoughts apart."""
    thoughts = _THOUGHT_TOKENS if thinks else 0
    output = image + _CAPTION_TOKENS
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output + thoughts,
        "candidatesTokensDetails": [
            {"modality": "IMAGE", "tokenCount": image},
            {"modality": "TEXT", "tokenCount": _CAPTION_TOKENS},
        ],
        **({"thoughtsTokenCount": thoughts} if thoughts else {}),
    }


# Google's 1K sizes (nanobanana docs); the four extra ratios of 3.1 Flash are computed.
_SIZES_1K = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}


def _pixels(ratio: str, scale: float) -> tuple[int, int]:
    if ratio in _SIZES_1K:
        width, height = _SIZES_1K[ratio]
        return round(width * scale), round(height * scale)
    across, down = (int(side) for side in ratio.split(":"))
    width = 1024 * scale * math.sqrt(across / down)
    height = 1024 * scale * math.sqrt(down / across)
    return max(16, round(width / 16) * 16), max(16, round(height / 16) * 16)


def _model(request: Request) -> str:
    model = request.params["model"]
    if model not in MODELS:
        raise _Refusal(
            _status(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not supported for "
                "generateContent. Call ListModels to see the list of available models.",
            )
        )
    return model


def _answer(plan: _Plan, runtime: Runtime, model: str) -> dict[str, Any]:
    """A ``GenerateContentResponse`` with the image inline, as Google writes it: a thinking model's
    thought drafts first (``"thought": true``), then the final image with its signature."""
    spec = plan.spec
    image = pad(render(spec, "png"), "png", runtime.settings.image_padding_bytes)
    parts: list[dict[str, Any]] = []
    if plan.thinks:
        parts.append({"text": "**Composing the scene**\nTrying two layouts first.", "thought": True})
        for draft in range(_DRAFTS):
            sketch = render(replace(spec, seed=spec.seed + 1 + draft), "png")
            parts.append({"inlineData": _inline(sketch), "thought": True})
    final: dict[str, Any] = {"inlineData": _inline(image)}
    if plan.thinks:
        final["thoughtSignature"] = base64.b64encode(secrets.token_bytes(_SIGNATURE_BYTES)).decode()
    parts += [{"text": f"Here is your image: {spec.prompt[:60]}"}, final]
    return {
        "candidates": [
            {
                "content": {
                    "parts": parts,
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": plan.usage,
        "modelVersion": model,
        "responseId": secrets.token_urlsafe(16),
    }


def _inline(image: bytes) -> dict[str, str]:
    return {"mimeType": "image/png", "data": base64.b64encode(image).decode()}


# A thought signature is opaque and can run to megabytes; this one is big enough to notice.
_SIGNATURE_BYTES = 256 * 1024
_BLOCKED_PROMPT = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": ""}
_NO_IMAGE = {"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]}


# -- handlers ------------------------------------------------------------------------------------


@_handled
def _generate(request: Request, runtime: Runtime) -> Reply:
    key = _admit(request, runtime, "generate")
    model = _model(request)
    plan = _plan(model, request.json_object(), 0, secrets.randbelow(2**32))
    fault = runtime.faults.take(GEMINI, "generate", JOB_KINDS | {"no_image"})
    kind = fault.kind if fault else None
    if kind == "quota":
        return _rate_limited(0, per_day=True)
    now = time.time()
    duration = runtime.settings.draw_processing_seconds()
    runtime.store.accept(
        Job(
            vendor=GEMINI,
            job_id=f"answer-{uuid.uuid4()}",
            owner=key,
            created_at=now,
            ready_at=now + duration,
            files=(),
        )
    )
    time.sleep(duration)
    if kind == "drop_after_accept":
        return DROP
    if kind == "moderation":
        return json_reply({**_BLOCKED_PROMPT, "modelVersion": model})
    if kind == "no_image":
        return json_reply({**_NO_IMAGE, "modelVersion": model})
    return json_reply(_answer(plan, runtime, model))


@_handled
def _get_model(request: Request, runtime: Runtime) -> Reply:
    _admit(request, runtime, "models")
    model = _model(request)
    return json_reply(
        {
            "name": f"models/{model}",
            "displayName": f"Nano Banana ({model})",
            "supportedGenerationMethods": ["generateContent", "countTokens", "batchGenerateContent"],
        }
    )


@_handled
def _upload(request: Request, runtime: Runtime) -> Reply:
    command = request.headers.get("x-goog-upload-command", "")
    if command == "start":
        _admit(request, runtime, "upload")
        body = request.json_object() or {}
        display = (body.get("file") or {}).get("display_name") or (body.get("file") or {}).get("displayName")
        session = secrets.token_urlsafe(12)
        runtime.store.put_blob(f"session/{session}", json.dumps({"display_name": display}).encode())
        url = f"{request.base_url}/upload/v1beta/files?upload_id={session}&upload_protocol=resumable"
        return Reply(200, b"", headers=(("x-goog-upload-url", url), ("x-goog-upload-status", "active")))
    if "upload" in command and "finalize" in command:
        if (reply := _request_fault(runtime, "upload")) is not None:
            return reply
        session = request.query.get("upload_id", "")
        meta = runtime.store.blob(f"session/{session}")
        if meta is None:
            return _status(404, "NOT_FOUND", "Upload session not found.")
        name = f"files/{secrets.token_hex(6)}"
        runtime.store.put_blob(name, request.body)
        document = {
            "name": name,
            "displayName": json.loads(meta)["display_name"],
            "mimeType": "application/jsonl",
            "sizeBytes": str(len(request.body)),
            "createTime": _rfc3339(time.time()),
            "state": "ACTIVE",
            "uri": f"{request.base_url}/v1beta/{name}",
        }
        return json_reply({"file": document}, headers=(("x-goog-upload-status", "final"),))
    return _invalid("X-Goog-Upload-Command must be 'start' or 'upload, finalize'.").reply


@_handled
def _create_batch(request: Request, runtime: Runtime) -> Reply:
    key = _admit(request, runtime, "batches")
    model = _model(request)
    batch = (request.json_object() or {}).get("batch") or {}
    display = batch.get("display_name", batch.get("displayName"))
    source = batch.get("input_config", batch.get("inputConfig")) or {}
    file_name = source.get("file_name", source.get("fileName"))
    if not isinstance(display, str) or not display:
        raise _invalid("* batch.display_name: display_name is required")
    data = runtime.store.blob(str(file_name)) if isinstance(file_name, str) else None
    if data is None:
        raise _invalid(f"Input file {file_name!r} was not found.")
    fault = runtime.faults.take(GEMINI, "batches", (JOB_KINDS | {"expired"}) - {"line_error"})
    kind = fault.kind if fault else None
    if kind == "quota":
        return _rate_limited(0, per_day=True)
    lines = _lines(model, data, kind, runtime)
    now = time.time()
    duration = runtime.settings.draw_processing_seconds()
    job = GeminiBatch(
        vendor=GEMINI,
        job_id=f"batches/{secrets.token_hex(8)}",
        owner=key,
        created_at=now,
        ready_at=now + duration,
        files=(),
        fails=kind in ("job_fails", "job_fails_echoing_key"),
        echoes_key=kind == "job_fails_echoing_key",
        display_name=display,
        model=model,
        input_file=file_name,
        lines=lines,
        ending={"job_fails": "FAILED", "job_fails_echoing_key": "FAILED", "expired": "EXPIRED"}.get(
            kind or "", "PARTIALLY_SUCCEEDED" if any(line.status for line in lines) else "SUCCEEDED"
        ),
        pending_until=now + min(0.5, duration / 5),
    )
    runtime.store.accept(job)
    if kind == "drop_after_accept":
        return DROP
    return json_reply(job.operation(runtime.settings.gemini_state_prefix, now))


def _line_errors(runtime: Runtime, lines: int) -> list[int]:
    """The gRPC codes armed ``line_error`` faults give to the last lines of a batch, one a hit."""
    codes: list[int] = []
    while len(codes) < lines and (fault := runtime.faults.take(GEMINI, "batches", frozenset({"line_error"}))):
        codes.append(fault.status or 13)
    return codes


def _grpc_status(code: int) -> dict[str, Any]:
    """A results line's ``google.rpc.Status``: a gRPC code and a message, as Google writes them."""
    return {"code": code, "message": f"Request failed (gRPC code {code})."}


def _lines(model: str, data: bytes, kind: str | None, runtime: Runtime) -> tuple[_Line, ...]:
    seed = secrets.randbelow(2**32)
    lines = []
    for index, text in enumerate(raw for raw in data.decode().splitlines() if raw.strip()):
        try:
            entry = json.loads(text)
        except ValueError:
            raise _invalid(f"Line {index + 1} of the input file is not JSON.") from None
        key = str(entry.get("key", index))
        try:
            lines.append(_Line(key, _plan(model, entry.get("request"), index, seed)))
        except _Refusal as refusal:
            status = json.loads(refusal.reply.body)["error"]
            lines.append(_Line(key, None, status=status))
    if kind == "moderation" and lines:
        lines[0] = _Line(lines[0].key, lines[0].plan, blocked=True)
    error_codes = [13] if kind == "partial" else []
    error_codes += _line_errors(runtime, len(lines) - len(error_codes))
    first = max(0, len(lines) - len(error_codes))
    for position, code in zip(range(first, len(lines)), error_codes, strict=False):
        lines[position] = _Line(lines[position].key, None, status=_grpc_status(code))
    return tuple(lines)


@_handled
def _get_batch(request: Request, runtime: Runtime) -> Reply:
    _admit(request, runtime, "batches")
    job = runtime.store.poll(GEMINI, f"batches/{request.params['id']}")
    if not isinstance(job, GeminiBatch):
        return _status(404, "NOT_FOUND", f"Batch batches/{request.params['id']} not found.")
    return json_reply(job.operation(runtime.settings.gemini_state_prefix))


@_handled
def _list_batches(request: Request, runtime: Runtime) -> Reply:
    key = _admit(request, runtime, "batches")
    batches = [job for job in runtime.store.jobs_of(GEMINI, key) if isinstance(job, GeminiBatch)]
    size = int(request.query.get("pageSize") or _PAGE)
    start = int(request.query.get("pageToken") or 0)
    page = batches[start : start + size]
    body: dict[str, Any] = {
        "operations": [job.operation(runtime.settings.gemini_state_prefix) for job in page]
    }
    if start + size < len(batches):
        body["nextPageToken"] = str(start + size)
    return json_reply(body)


@_handled
def _download(request: Request, runtime: Runtime) -> Reply:
    _admit(request, runtime, "download")
    truncated = runtime.faults.take(GEMINI, "download", frozenset({"truncated"})) is not None
    file_id = request.params["id"]
    batch_id = file_id.removeprefix("batch-")
    job = runtime.store.poll(GEMINI, f"batches/{batch_id}") if file_id.startswith("batch-") else None
    if not isinstance(job, GeminiBatch) or job.state(time.time()) not in _ANSWERED:
        blob = runtime.store.blob(f"files/{file_id}")
        if blob is None:
            return _status(404, "NOT_FOUND", f"File files/{file_id} not found.")
        return Reply(200, blob, "application/jsonl")
    out = []
    for line in job.lines:
        if line.status is not None:
            out.append({"key": line.key, "status": line.status})
        elif line.blocked:
            out.append({"key": line.key, "response": _NO_IMAGE})
        else:
            assert line.plan is not None
            out.append({"key": line.key, "response": _answer(line.plan, runtime, job.model)})
    body = b"".join(json.dumps(entry).encode() + b"\n" for entry in out)
    return Reply(200, body, "application/jsonl", action="truncate" if truncated else "send")


def _rfc3339(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, tz=timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


ROUTES = (
    Route("POST", r"/v1beta/models/(?P<model>[^/:]+):generateContent", _generate, GEMINI, "generate"),
    Route("POST", r"/v1beta/models/(?P<model>[^/:]+):batchGenerateContent", _create_batch, GEMINI, "batches"),
    Route("GET", r"/v1beta/models/(?P<model>[^/:]+)", _get_model, GEMINI, "models"),
    Route("POST", r"/upload/v1beta/files", _upload, GEMINI, "upload"),
    Route("GET", r"/v1beta/batches", _list_batches, GEMINI, "batches"),
    Route("GET", r"/v1beta/batches/(?P<id>[^/:]+)", _get_batch, GEMINI, "batches"),
    Route("GET", r"/download/v1beta/files/(?P<id>[^/:]+):download", _download, GEMINI, "download"),
)
