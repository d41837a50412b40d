"""Google's own Gemini API (Developer API, API key): interactive ``generateContent`` and Batch.

Interactive: one ``models/{model}:generateContent`` request per job; the answer carries the image
bytes inline and nothing can fetch them again, so the answer is read as it streams
(:mod:`~airflow_provider_nanobanana.hooks.gemini_stream`) and the operators land it in S3 in the
same task. A lost answer cannot be looked up: like ModelsLab, the job may be billed.

Batch (half price, results within 24 h): the requests go as a JSONL file through the resumable
Files API, ``models/{model}:batchGenerateContent`` creates the batch, ``batches/{id}`` is polled
and its results file downloaded and read line by line. Creating a batch is *not* idempotent, so
a creation whose answer was lost is found again by its display name (:meth:`GeminiHook.find_bulk`).

The key always travels in the ``x-goog-api-key`` header, never in a URL.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import httpx

from airflow_provider_nanobanana import validation as check
from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.connection_forms import GEMINI_FORM, GEMINI_MODELS
from airflow_provider_nanobanana.exceptions import (
    NanoBananaError,
    NanoBananaInvalidRequestError,
    NanoBananaJobNotFoundError,
    NanoBananaPossiblyBilledError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
    NanoBananaSubmissionUnknownError,
)
from airflow_provider_nanobanana.hooks.base import ApiCall, NanoBananaBaseHook
from airflow_provider_nanobanana.hooks.gemini_responses import (
    BATCH_PREFIX,
    VENDOR,
    error_class,
    error_of,
    inlined_responses,
    line_key,
    line_outcome,
    parse_batch,
    parse_image_answer,
    retry_delay,
)
from airflow_provider_nanobanana.hooks.gemini_stream import (
    InlineImageScanner,
    UnreadableAnswerError,
    close_spools,
)
from airflow_provider_nanobanana.hooks.retry import retry_after_seconds
from airflow_provider_nanobanana.jobs import ImageJobRequest, ImageJobResult, JobKind, Vendor
from airflow_provider_nanobanana.spend.prices import BilledAs

API = "/v1beta"
TEN_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
FOURTEEN_RATIOS = (*TEN_RATIOS, "1:4", "4:1", "1:8", "8:1")
FIFTEEN_RATIOS = (*FOURTEEN_RATIOS, "9:21")
# Inline data counts against the 20 MB request limit, base64 included.
REQUEST_LIMIT = 20 * 1024 * 1024
IMAGE_LIMIT = REQUEST_LIMIT * 3 // 4
# A 4K image from the Pro model can take minutes; a read timeout would lose a paid answer.
INTERACTIVE_READ_TIMEOUT = 600.0
_CHUNK = 1024 * 1024
_PROGRESS_BYTES = 64 * 1024 * 1024
_LIST_PAGE = 100
# Pages a search for a lost batch reads at most (10,000 batches) before it calls it unsettled.
_LIST_PAGES = 100
_DATA_URI = re.compile(r"^data:(?P<mime>image/[\w.+-]+);base64,(?P<payload>.+)$", re.DOTALL)
# ImageConfig fields python-genai refuses in Gemini Developer API mode ("only supported in Gemini
# Enterprise Agent Platform mode"), refused here by name before any request.
VERTEX_ONLY_OPTIONS = (
    "person_generation",
    "prominent_people",
    "output_mime_type",
    "output_compression_quality",
    "image_output_options",
)
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class ModelRules:
    """What one model takes. An empty ``aspect_ratios`` or ``image_sizes`` means Google's pages
    do not list them for the model, so none is sent; likewise ``thinking_levels``."""

    aspect_ratios: tuple[str, ...]
    image_sizes: tuple[str, ...]
    max_images: int
    thinking_levels: tuple[str, ...] = ()
    always_thinks: bool = False


# Each row's source is in README's Gemini model table: Google's Nano Banana page, Google Cloud's
# model pages (3.1 Flash Image: 15 ratios, 512 to 4K; 3 Pro Image: 10 ratios), the 3.1 Flash Lite
# Image page of ai.google.dev (1K only; thinking minimal and high) and Firebase's Imagen
# migration guide (thinking levels MINIMAL and HIGH for 3.1 Flash Image and Nano Banana 2.1).
MODEL_RULES: dict[str, ModelRules] = {
    "gemini-2.5-flash-image": ModelRules(TEN_RATIOS, ("1K",), 3),
    "gemini-3-pro-image-preview": ModelRules(TEN_RATIOS, ("1K", "2K", "4K"), 14, always_thinks=True),
    "gemini-3-pro-image": ModelRules(TEN_RATIOS, ("1K", "2K", "4K"), 14, always_thinks=True),
    "gemini-3.1-flash-image-preview": ModelRules(FOURTEEN_RATIOS, ("512", "1K", "2K", "4K"), 14),
    "gemini-3.1-flash-image": ModelRules(FIFTEEN_RATIOS, ("512", "1K", "2K", "4K"), 14, ("MINIMAL", "HIGH")),
    "gemini-3.1-flash-lite-image": ModelRules(TEN_RATIOS, ("1K",), 14, ("MINIMAL", "HIGH")),
    "gemini-nano-banana-2.1": ModelRules((), (), 14, ("MINIMAL", "HIGH")),
}


def build_request(request: ImageJobRequest, default_model: str) -> tuple[str, dict[str, Any]]:
    """Validate ``request`` against the model's rules; return the model and the
    ``GenerateContentRequest`` body. Sends nothing."""
    check.require_prompt(request.prompt)
    model = check.check_choice("model", request.model or default_model, GEMINI_MODELS)
    rules = MODEL_RULES[model]
    check.reject_unsupported(
        VENDOR,
        "generateContent",
        {
            "width": request.width,
            "height": request.height,
            "seed": request.seed,
            "negative_prompt": request.negative_prompt,
        },
        hint=" (size images with aspect_ratio and resolution)",
    )
    for name in VERTEX_ONLY_OPTIONS:
        if name in request.options:
            raise check.invalid(
                f"options.{name}",
                request.options[name],
                "a Vertex AI (Agent Platform) setting: the Gemini Developer API does not take it "
                "(python-genai refuses it in Developer API mode)",
            )
    check.reject_unknown_options(VENDOR, request.options, ("thinking_level",))
    if request.count not in (None, 1):
        raise check.invalid(
            "count", request.count, "1: Gemini draws one image per request (use the batch operator for more)"
        )
    parts: list[dict[str, Any]] = [{"text": request.prompt}]
    if request.kind is JobKind.GENERATE:
        check.reject_unsupported(VENDOR, "generate", {"images": request.images})
    elif not request.images:
        raise check.invalid(
            "images", [], "at least one image (a data URI or a stored object such as s3://) to edit"
        )
    elif request.kind is JobKind.IMG2IMG and len(request.images) != 1:
        raise check.invalid("images", list(request.images), "exactly one reference image for img2img")
    if len(request.images) > rules.max_images:
        raise check.invalid(
            "images", f"{len(request.images)} images", f"at most {rules.max_images} for {model}"
        )
    inline_bytes = 0
    for index, image in enumerate(request.images):
        part, size = _inline_part(f"images[{index}]", image)
        inline_bytes += size
        if part is not None:
            parts.append(part)
    if inline_bytes > REQUEST_LIMIT:
        raise check.invalid(
            "images",
            f"{inline_bytes} bytes of inline images",
            f"at most {REQUEST_LIMIT} bytes in one request",
        )
    image_config: dict[str, str] = {}
    if request.aspect_ratio is not None:
        image_config["aspectRatio"] = _model_choice("aspect_ratio", request.aspect_ratio, model)
    if request.resolution is not None:
        size = _model_choice("resolution", request.resolution, model)
        if len(rules.image_sizes) > 1:
            image_config["imageSize"] = size  # a 1K-only model takes no imageSize at all
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if image_config:
        config["imageConfig"] = image_config
    if "thinking_level" in request.options:
        level = _model_choice("options.thinking_level", request.options["thinking_level"], model)
        config["thinkingConfig"] = {"thinkingLevel": level}
    return model, {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}


_RULE_OF = {
    "aspect_ratio": ("aspect ratios", lambda rules: rules.aspect_ratios),
    "resolution": ("image sizes", lambda rules: rules.image_sizes),
    "options.thinking_level": ("thinking levels", lambda rules: rules.thinking_levels),
}


def _model_choice(field: str, value: Any, model: str) -> str:
    """``value`` if ``model`` takes it; else an error naming the model, what it takes, and which
    models take ``value``."""
    what, choices_of = _RULE_OF[field]
    return check.check_model_choice(
        field,
        value,
        model,
        {name: choices_of(rules) for name, rules in MODEL_RULES.items()},
        none_reason=f"Google's pages list no {what} for {model}, so none can be set",
    )


def _inline_part(field: str, image: str) -> tuple[dict[str, Any] | None, int]:
    """A data URI as an ``inlineData`` part; a stored input (``s3://``, ``gs://``, ...) passes
    (the operator reads it later into a data URI). Gemini cannot fetch http(s) URLs."""
    if check.is_stored(image):
        return None, 0
    if isinstance(image, str) and image.startswith(("http://", "https://")):
        raise check.invalid(
            field,
            image,
            "a data URI or a stored object (s3://, gs://, ...): Gemini takes input images inline",
        )
    check.check_url(field, image, data_uri_limit=IMAGE_LIMIT)
    match = _DATA_URI.match(image)
    assert match is not None  # check_url accepted it as a data URI
    payload = match["payload"]
    return {"inlineData": {"mimeType": match["mime"], "data": payload}}, len(payload)


class GeminiHook(NanoBananaBaseHook):
    """Generate images with Google's Gemini API directly, interactively or in Batch.

    :param conn_id: a ``nanobanana_gemini`` connection; the password is the API key.
    """

    conn_type = "nanobanana_gemini"
    default_conn_name = "nanobanana_gemini_default"
    hook_name = "Nano Banana (Google Gemini API)"
    vendor = Vendor.GEMINI
    vendor_label = VENDOR
    default_base_url = "https://generativelanguage.googleapis.com"
    inline_image_limit = IMAGE_LIMIT
    answers_inline_once = True
    submits_in_bulk = True
    # Items per Gemini batch: a results file of a thousand 1K images is about 2 GB.
    default_max_in_flight = 1000

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return GEMINI_FORM.ui_field_behaviour()

    def _default_model(self, extras: dict[str, Any]) -> str:
        return self.extra(extras, "default_model") or GEMINI_MODELS[0]

    def billed_as(self, request: ImageJobRequest, *, batch: bool = False) -> BilledAs:
        """Billed by tokens: the image's size, whether the model thinks, and the input images."""
        model = request.model or self._default_model(self.settings.extras)
        rules = MODEL_RULES.get(model)
        thinks = rules is not None and rules.always_thinks
        return BilledAs(
            VENDOR,
            model,
            request.resolution or "1K",
            batch=batch,
            thinks=thinks or request.options.get("thinking_level") == "HIGH",
            input_images=len(request.images),
        )

    def validate(self, request: ImageJobRequest) -> None:
        build_request(request, self._default_model(self.settings.extras))

    def validate_batch(self, requests: Sequence[ImageJobRequest]) -> None:
        """A Gemini batch runs one model: every item must name the same."""
        default = self._default_model(self.settings.extras)
        models = [request.model or default for request in requests]
        for index, model in enumerate(models):
            if model != models[0]:
                raise check.invalid(
                    f"items[{index}].model", model, f"{models[0]}: one Gemini batch runs one model"
                )

    # -- interactive ---------------------------------------------------------------------------

    def submit(self, request: ImageJobRequest) -> ImageJobResult:
        """One ``generateContent`` request; ``succeeded`` with the images in spools, or raises
        ``NanoBananaContentPolicyError`` for a blocked or imageless answer."""
        model, body = build_request(request, self._default_model(self.settings.extras))
        call = ApiCall(
            "generateContent",
            f"{API}/models/{model}:generateContent",
            body,
            is_submission=True,
            read_timeout=INTERACTIVE_READ_TIMEOUT,
        )
        started = time.monotonic()
        result = self.call(call, consume=lambda response: self._image_answer(call, response))
        sizes = sum(_spool_size(image.spool) for image in result.images)
        said = f"; the model said: {result.metadata['text']!r}" if result.metadata.get("text") else ""
        drafts = result.metadata.get("drafts_skipped", 0)
        skipped = f" ({wording.plural(drafts, 'thought draft')} skipped)" if drafts else ""
        self.log.log(
            self.job_log_level,
            "Gemini %s answered %s: %s (%s)%s in %.1f s%s.",
            model,
            result.job_id,
            wording.plural(len(result.images), "image"),
            wording.size(sizes),
            skipped,
            time.monotonic() - started,
            said,
        )
        return result

    def _image_answer(self, call: ApiCall, response: httpx.Response) -> ImageJobResult:
        scanner = InlineImageScanner()
        values: list[tuple[Any, list[IO[bytes]]]] = []
        try:
            values = [value for chunk in response.iter_bytes(_CHUNK) for value in scanner.feed(chunk)]
            scanner.finish()
            if len(values) != 1 or not isinstance(values[0][0], Mapping):
                raise UnreadableAnswerError("the answer is not one JSON object")
            answer, spools = values[0]
            result = parse_image_answer(self._scrubbed(answer), spools)
            kept = {id(image.spool) for image in result.images}
            close_spools([spool for spool in spools if id(spool) not in kept])  # the thought drafts
            return result
        except UnreadableAnswerError as problem:
            scanner.close()
            for _, spools in values:
                close_spools(spools)
            raise NanoBananaSubmissionUnknownError(
                f"Gemini {call.endpoint}: HTTP {response.status_code} with an unreadable answer "
                f"({problem}); the request may be billed and was not re-sent.",
                vendor=VENDOR,
                status_code=response.status_code,
            ) from None
        except BaseException:
            scanner.close()
            for _, spools in values:
                close_spools(spools)
            raise

    # -- jobs: batches -------------------------------------------------------------------------

    def get_job(self, job_id: str) -> ImageJobResult:
        return parse_batch(self.call(_batch_get(job_id)))

    async def aget_job(self, job_id: str) -> ImageJobResult:
        return parse_batch(await self.acall(_batch_get(job_id)))

    def submit_bulk(self, items: Sequence[tuple[str, ImageJobRequest]], display_name: str) -> ImageJobResult:
        """Upload ``items`` (user key, request) as a JSONL file and create one batch from it.

        The creation is the paid, non-idempotent call: its answer lost, the caller finds the
        batch with :meth:`find_bulk` rather than creating another.
        """
        default = self._default_model(self.settings.extras)
        with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as lines:
            model = default
            for key, request in items:
                model, body = build_request(request, default)
                lines.write(json.dumps({"key": key, "request": body}).encode() + b"\n")
            size = lines.tell()
            file_name = self._upload(lines, size, display_name)
        self.log.info(
            "Gemini: uploaded %s of %s requests as %s.",
            wording.size(size),
            len(items),
            file_name,
        )
        created = self.call(
            ApiCall(
                "batchGenerateContent",
                f"{API}/models/{model}:batchGenerateContent",
                {"batch": {"display_name": display_name, "input_config": {"file_name": file_name}}},
                is_submission=True,
            )
        )
        batch = parse_batch(created)
        if not batch.job_id.startswith(BATCH_PREFIX):
            raise NanoBananaSubmissionUnknownError(
                "Gemini batchGenerateContent: the answer named no batch, so whether one was created "
                "is unknown; it was not re-sent.",
                vendor=VENDOR,
            )
        self.log.info("Gemini created %s (%s) for %d requests.", batch.job_id, display_name, len(items))
        return batch

    def _upload(self, content: IO[bytes], size: int, display_name: str) -> str:
        """The resumable Files API upload: a start request, then the bytes with ``finalize``."""
        start = ApiCall(
            "files",
            "/upload/v1beta/files",
            {"file": {"display_name": display_name}},
            headers={
                "X-Goog-Upload-Protocol": "resumable",
                "X-Goog-Upload-Command": "start",
                "X-Goog-Upload-Header-Content-Length": str(size),
                "X-Goog-Upload-Header-Content-Type": "application/jsonl",
            },
        )
        upload_url = self.call(start, consume=lambda response: response.headers.get("x-goog-upload-url"))
        if not upload_url:
            raise NanoBananaError("Gemini files: the upload start named no upload URL.", vendor=VENDOR)
        finish = ApiCall(
            "files",
            upload_url,
            {},
            headers={"X-Goog-Upload-Offset": "0", "X-Goog-Upload-Command": "upload, finalize"},
            content=content,
        )
        uploaded = self.call(finish)
        name = (uploaded.get("file") or {}).get("name")
        if not name:
            raise NanoBananaError("Gemini files: the finished upload named no file.", vendor=VENDOR)
        return str(name)

    def find_bulk(self, display_name: str, *, sent_at: float) -> ImageJobResult | None:
        """The batch a creation named ``display_name`` made, or None once none can still appear.

        Until the lost request's read timeout (plus a margin) has passed it may still be creating
        the batch, so an empty search is repeated until then. Two batches of that name cannot be
        told apart: ``NanoBananaPossiblyBilledError``.
        """
        matches = self._search_until_settled(
            lambda: [
                batch for batch in self._list_batches() if batch.metadata["display_name"] == display_name
            ],
            sent_at=sent_at,
            read_timeout=self.settings.timeout,
            what=f"batch named {display_name!r}",
        )
        if len(matches) > 1:
            raise NanoBananaPossiblyBilledError(
                f"Gemini has {len(matches)} batches named {display_name!r} "
                f"({', '.join(match.job_id for match in matches)}); which one to wait for cannot be told.",
                vendor=VENDOR,
            )
        self.log.info(
            "Gemini search for the batch %r: %s.",
            display_name,
            matches[0].job_id if matches else "none, so none was created",
        )
        return matches[0] if matches else None

    def _list_batches(self) -> Iterator[ImageJobResult]:
        token = ""
        for _ in range(_LIST_PAGES):
            page = f"{API}/batches?pageSize={_LIST_PAGE}" + (f"&pageToken={token}" if token else "")
            body = self.call(ApiCall("batches", page, {}, method="GET"))
            operations = body.get("operations", body.get("batches"))
            if not isinstance(operations, list):
                raise NanoBananaPossiblyBilledError(
                    "Gemini batches.list did not answer with a list of batches, so whether a lost "
                    "creation made one is unknown.",
                    vendor=VENDOR,
                )
            yield from (parse_batch(operation) for operation in operations if isinstance(operation, Mapping))
            token = body.get("nextPageToken") or ""
            if not token:
                return
        raise NanoBananaPossiblyBilledError(
            f"Gemini batches.list has more than {_LIST_PAGES * _LIST_PAGE} batches, so the search could "
            "not tell whether a lost creation made one.",
            vendor=VENDOR,
        )

    def bulk_item_id(self, bulk_id: str, key: str) -> str:
        return f"{bulk_id.removeprefix(BATCH_PREFIX)}-{key}"

    def read_bulk_results(
        self,
        batch: ImageJobResult,
        keys: Sequence[str],
        on_item: Callable[[str, ImageJobResult | NanoBananaError], None],
    ) -> int:
        """Stream the results of an ended batch, calling ``on_item`` for each request's answer as it
        arrives (its images in spools ``on_item`` may keep until it returns); answers without a key
        answer the request in the same position. The results are the batch's results file, or,
        for a batch of inline requests, the answers the batch itself holds. Returns how many."""
        results = _Results(self, batch, keys, on_item)
        if batch.metadata.get("responses_file"):
            path = f"/download{API}/{batch.metadata['responses_file']}:download?alt=media"
            return self.call(ApiCall("files", path, {}, method="GET"), consume=results.read_lines)
        return self.call(_batch_get(batch.job_id), consume=results.read_inlined)

    # -- transport -----------------------------------------------------------------------------

    def _authenticate(self, call: ApiCall, api_key: str) -> tuple[dict[str, Any], dict[str, str]]:
        return call.body, {"x-goog-api-key": api_key}

    def _raise_for_error(self, call: ApiCall, response: httpx.Response, body: Any) -> None:
        # Google errors always come with an error status; a 200 operation's ``error`` is the
        # failure of the batch it describes, read by ``parse_batch``.
        status = error_of(body)
        if response.is_success or (status is None and body is None):
            return  # a result, or unreadable: the caller decides what that means
        cls = error_class(status, response.status_code)
        status = status or {}
        message = self.scrub(str(status.get("message") or f"HTTP {response.status_code}"))
        text = f"Gemini {call.endpoint}: {message}" + (
            f" ({status['status']})" if status.get("status") else ""
        )
        kwargs: dict[str, Any] = {
            "vendor": VENDOR,
            "code": status.get("status"),
            "status_code": response.status_code,
        }
        if cls is NanoBananaRateLimitError:
            wait = retry_delay(status) or retry_after_seconds(response.headers)
            raise cls(text, retry_after=wait, **kwargs)
        if cls is NanoBananaJobNotFoundError:
            if not call.path.startswith(f"{API}/{BATCH_PREFIX}"):
                raise NanoBananaInvalidRequestError(text, field="model", **kwargs)  # an unknown model
            raise cls(text, job_id=call.path.removeprefix(f"{API}/"), **kwargs)
        raise cls(text, **kwargs)

    def _check_key(self) -> str:
        model = self._default_model(self.settings.extras)
        body = self.call(ApiCall("models", f"{API}/models/{model}", {}, method="GET"))
        return f"Gemini accepted the key; model {body.get('name', model)} ({self.settings.base_url})."


class _Results:
    """Hands each answer of one batch to ``on_item`` as it is read: the lines of its results file,
    or the inlined responses of its operation."""

    def __init__(
        self,
        hook: GeminiHook,
        batch: ImageJobResult,
        keys: Sequence[str],
        on_item: Callable[[str, ImageJobResult | NanoBananaError], None],
    ) -> None:
        self.hook, self.batch, self.keys, self.on_item = hook, batch, keys, on_item
        self.delivered = 0
        self.drafts = 0

    def read_lines(self, response: httpx.Response) -> int:
        scanner, next_report = InlineImageScanner(), _PROGRESS_BYTES
        try:
            for chunk in self._chunks(response):
                completed = scanner.feed(chunk)
                for position, (line, spools) in enumerate(completed):
                    try:
                        self._deliver(line, spools)
                    except BaseException:
                        for _, later in completed[position + 1 :]:
                            close_spools(later)
                        raise
                if response.num_bytes_downloaded >= next_report:
                    self.hook.log.info(
                        "Gemini %s results: %s read, %d lines.",
                        self.batch.job_id,
                        wording.size(response.num_bytes_downloaded),
                        self.delivered,
                    )
                    next_report += _PROGRESS_BYTES
            scanner.finish()
        except UnreadableAnswerError as problem:
            raise NanoBananaError(
                f"Gemini {self.batch.job_id} results file is unreadable after {self.delivered} lines "
                f"({problem}).",
                vendor=VENDOR,
            ) from None
        finally:
            scanner.close()
        return self._done()

    def read_inlined(self, response: httpx.Response) -> int:
        scanner = InlineImageScanner()
        values: list[tuple[Any, list[IO[bytes]]]] = []
        try:
            values = [value for chunk in self._chunks(response) for value in scanner.feed(chunk)]
            scanner.finish()
            ((operation, spools),) = values
            for entry in inlined_responses(operation if isinstance(operation, Mapping) else {}) or ():
                self._deliver(entry, spools, close=False)
        except (UnreadableAnswerError, ValueError) as problem:
            raise NanoBananaError(
                f"Gemini {self.batch.job_id}: its inlined responses are unreadable after "
                f"{self.delivered} ({problem}).",
                vendor=VENDOR,
            ) from None
        finally:
            scanner.close()
            for _, spools in values:
                close_spools(spools)
        return self._done()

    def _chunks(self, response: httpx.Response) -> Iterator[bytes]:
        """The body, or a typed error saying where it was cut: the vendor was reached."""
        try:
            yield from response.iter_bytes(_CHUNK)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout) as cut:
            raise NanoBananaServerError(
                f"Gemini {self.batch.job_id}: the results were cut short after "
                f"{wording.size(response.num_bytes_downloaded)} ({self.delivered} answers read, "
                f"{type(cut).__name__}). What was read is landed; the task fails and its retry "
                "reads the results again from the start, landing every item (the ones already "
                "landed are written again under the same keys, unpaid).",
                vendor=VENDOR,
            ) from None

    def _deliver(self, answer: Any, spools: list[IO[bytes]], *, close: bool = True) -> None:
        answer = self.hook._scrubbed(answer) if isinstance(answer, Mapping) else {}
        position = self.delivered
        key = line_key(answer) or (self.keys[position] if position < len(self.keys) else str(position))
        try:
            outcome = line_outcome(answer, spools, self.hook.bulk_item_id(self.batch.job_id, key))
            if isinstance(outcome, ImageJobResult):
                self.drafts += outcome.metadata.get("drafts_skipped", 0)
            self.on_item(key, outcome)
        finally:
            if close:
                close_spools(spools)
        self.delivered += 1

    def _done(self) -> int:
        if self.drafts:
            self.hook.log.info(
                "Gemini %s: skipped %s (interim images of a thinking model, not results).",
                self.batch.job_id,
                wording.plural(self.drafts, "thought draft"),
            )
        return self.delivered


def _batch_get(job_id: str) -> ApiCall:
    if not str(job_id).startswith(BATCH_PREFIX):
        raise NanoBananaJobNotFoundError(
            f"Gemini job {job_id} was an interactive generateContent answer: its images came once, "
            "inside the answer, and cannot be fetched again (only batches/... jobs can be polled).",
            job_id=str(job_id),
            vendor=VENDOR,
        )
    return ApiCall("batches", f"{API}/{job_id}", {}, method="GET")


def _spool_size(spool: IO[bytes] | None) -> int:
    if spool is None:
        return 0
    position = spool.seek(0, 2)
    spool.seek(0)
    return position
