"""Land every image of one or more finished jobs in their destination (S3, GCS, Azure or local
files), or fail saying exactly which are missing.

The job summaries (the XCom of a generate/edit/img2img task or sensor) list URL or inline
references. Each image streams from the vendor into the store as it is verified
(:mod:`~airflow_provider_nanobanana.images.download` into the upload a
:mod:`~airflow_provider_nanobanana.stores.writers` writer opens), a few images at a time. Keys
are rendered from the task instance and the job, so a retry rewrites the same objects. Each
object carries its vendor, job id, image index, seed and the prompt's sha256 as metadata, and its
sha256 when the store takes metadata last (Azure, or a body sent in one call to S3 or GCS;
:mod:`~airflow_provider_nanobanana.s3.upload` says why not otherwise).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError, NanoBananaImageTransferError
from airflow_provider_nanobanana.hooks.base import USER_AGENT
from airflow_provider_nanobanana.hooks.retry import RetryPolicy
from airflow_provider_nanobanana.images.download import ImageRef, fetch_image
from airflow_provider_nanobanana.images.formats import ImageFormat
from airflow_provider_nanobanana.jobs import ImageJobResult, JobState
from airflow_provider_nanobanana.request_logging import quiet_request_lines
from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.keys import render_key
from airflow_provider_nanobanana.stores.writers import ObjectUploadLike, StoreWriter, open_writer
from airflow_provider_nanobanana.summary import INLINE_SCHEME
from airflow_provider_nanobanana.task_instance import TaskInstanceKey
from airflow_provider_nanobanana.validation import invalid

T = TypeVar("T")

# S3 allows 2 KB of user metadata in all (GCS and Azure more); leave room for the fixed entries.
_MAX_PROMPT_METADATA = 1500
# How long each vendor keeps a finished job's images, for the message of a landing that failed.
_RETENTION = {
    "modelslab": "ModelsLab deletes them 24 hours after generation unless the account has vendor-side S3",
    "acedata": "AceData does not document how long its CDN keeps them",
}


def as_job_list(jobs: Any) -> list[Mapping[str, Any]]:
    """One summary, a list of them (a mapped task's output), or a list mixing both, as one list.

    ``[wait.output, restyle.output]`` renders to a dict and a mapped task's list side by side, so
    one level of nesting is flattened. A ``None`` (an output that does not exist) is left out:
    the transfer reports the upstream task instances that did not succeed.
    """
    items = [jobs] if isinstance(jobs, Mapping) else jobs
    if isinstance(items, str) or not isinstance(items, Iterable):
        items = [items]
    summaries: list[Any] = []
    for item in _whole(items):
        if isinstance(item, Iterable) and not isinstance(item, Mapping | str):
            summaries.extend(_whole(item))
        elif item is not None:
            summaries.append(item)
    summaries = [item for item in summaries if item is not None]
    if not all(isinstance(item, Mapping) and "job_id" in item for item in summaries):
        raise invalid(
            "jobs",
            jobs,
            "the XCom of Nano Banana tasks or sensors: a dict with job_id, or a list of them (pass "
            "task.output, or a list of outputs; a Jinja string renders to text, not to the XCom)",
        )
    return summaries


def _whole(items: Iterable[Any]) -> Iterable[Any]:
    """A mapped task's output read in one request (a slice): iterating it reads item by item and
    the read past its end logs an "XCom not found" error on Airflow 3."""
    return items[:] if isinstance(items, Sequence) else items


def land_jobs(
    jobs: Sequence[Mapping[str, Any]],
    destination: Destination,
    run: TaskInstanceKey,
    *,
    prompt: str | None,
    log: logging.Logger,
    in_hand: Sequence[ImageJobResult] = (),
) -> list[dict[str, Any]]:
    """Land all images of ``jobs`` in one go; see :meth:`Landing.land`."""
    with Landing(destination, run, log) as landing:
        return landing.land(jobs, prompt=prompt, in_hand=in_hand)


class Landing:
    """One destination's landings within a task step, sharing one store client and one HTTP client.

    A batch lands a Gemini results file line by line, each line's image while it is in hand;
    building a boto3 client and an HTTP pool for each line would cost more than its upload.
    """

    def __init__(
        self, destination: Destination, run: TaskInstanceKey, log: logging.Logger, *, quiet: bool = False
    ) -> None:
        self.destination = destination.checked()
        self.run = run
        self.log = log
        # A batch lands a few images at every step and logs its own progress: its landings say
        # what they did at DEBUG.
        self._level = logging.DEBUG if quiet else logging.INFO
        self._uploader: _Uploader | None = None  # opened by the first landing with images
        quiet_request_lines()
        self._http = httpx.Client(
            verify=_tls_context(),
            timeout=httpx.Timeout(60.0, connect=10.0),
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )
        self._retry = RetryPolicy(max_retries=3, base_delay=1.0, max_wait=30.0)

    def __enter__(self) -> Landing:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def land(
        self,
        jobs: Sequence[Mapping[str, Any]],
        *,
        prompt: str | None,
        in_hand: Sequence[ImageJobResult] = (),
    ) -> list[dict[str, Any]]:
        """Land all images of ``jobs``; return one record per object, in job and image order.

        ``in_hand``: results whose inline images this process holds (a Gemini answer it just read);
        other inline images are fetched from their job again.
        """
        destination, run, log = self.destination, self.run, self.log
        prompt_metadata = _prompt_metadata(prompt, destination.include_prompt)
        for job in jobs:
            _check_job(job)
            for index in range(len(job["images"])):  # fail on a bad key before the first download
                render_key(destination.key_template, destination.prefix, _key_values(run, job, index, "png"))
        held = {result.job_id: result for result in in_hand}
        refs = [(job, ref) for job in jobs for ref in _image_refs(job, held.get(job["job_id"]))]
        if not refs:
            log.info("Nothing to land: the jobs delivered no images.")
            return []
        if self._uploader is None:
            self._uploader = _Uploader(destination, run, log, self._level)
        uploader = self._uploader

        def land(item: tuple[Mapping[str, Any], ImageRef]) -> dict[str, Any]:
            job, ref = item
            metadata = {**_summary_prompt_metadata(job), **prompt_metadata}
            return fetch_image(
                ref, self._http, lambda: uploader.open(job, ref, metadata), retry=self._retry, log=log
            )

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(destination.max_concurrency, len(refs))) as pool:
            futures = [pool.submit(land, item) for item in refs]
            outcomes = [
                (ref, future.exception(), future) for (_, ref), future in zip(refs, futures, strict=True)
            ]
        landed = [future.result() for _, error, future in outcomes if error is None]
        failures = [(ref, error) for ref, error, _ in outcomes if error is not None]
        if failures:
            raise _missing_images_error(
                failures, landed, len(refs), uploader.refusal, destination.location.uri, log
            )
        total = sum(item["size"] for item in landed)
        log.log(
            self._level,
            "Landed %s (%s) in %s in %.1f s.",
            wording.plural(len(landed), "image"),
            wording.size(total),
            destination.location.uri,
            time.monotonic() - started,
        )
        return landed


class _Uploader:
    """Opens one :class:`_ImageObject` per download attempt.

    Building a store's client (boto3's takes about as long as downloading 10 MiB) happens on a
    thread of its own while the first downloads start; the first body to prove an image waits for it.
    """

    def __init__(
        self, destination: Destination, run: TaskInstanceKey, log: logging.Logger, level: int
    ) -> None:
        from airflow.providers.common.compat.sdk import get_hook_lineage_collector

        self.destination = destination
        self.run = run
        self.log = log
        self.level = level  # of the line each landed object logs
        self.lineage = get_hook_lineage_collector()
        opener = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanobanana-store-client")
        self._writer = opener.submit(open_writer, destination, log)
        opener.shutdown(wait=False)  # its one thread ends once the client is built

    @property
    def writer(self) -> StoreWriter:
        return self._writer.result()

    def open(self, job: Mapping[str, Any], ref: ImageRef, prompt_metadata: dict[str, str]) -> _ImageObject:
        return _ImageObject(self, job, ref, prompt_metadata)

    def refusal(self, error: BaseException) -> NanoBananaDestinationError | None:
        """The destination's typed error for a store's answer no retry changes, or None."""
        cause = error.__cause__ or error
        return self.writer.refusal(cause) if self._writer.exception() is None else None

    def record_lineage(self, uri: str) -> None:
        hook = self.writer.hook
        if hook is None:  # a local directory: OpenLineage still names every file
            return
        if hasattr(self.lineage, "add_output_asset"):
            self.lineage.add_output_asset(context=hook, uri=uri)
        else:  # Airflow 2 says "dataset"
            self.lineage.add_output_dataset(context=hook, uri=uri)


class _ImageObject:
    """The object one image becomes: its key and arguments are fixed once the body's first bytes
    tell its format; the body goes to the store's upload as it arrives."""

    def __init__(
        self, uploader: _Uploader, job: Mapping[str, Any], ref: ImageRef, prompt_metadata: dict[str, str]
    ) -> None:
        self.uploader, self.job, self.ref, self.prompt_metadata = uploader, job, ref, prompt_metadata
        self.upload: ObjectUploadLike | None = None
        self.key = ""
        self.started = time.monotonic()

    @property
    def uri(self) -> str:
        return self.uploader.destination.object_uri(self.key)

    def begin(self, image_format: ImageFormat) -> None:
        uploader, destination, ref = self.uploader, self.uploader.destination, self.ref
        self.format = image_format
        self.key = render_key(
            destination.key_template,
            destination.prefix,
            _key_values(uploader.run, self.job, ref.index, image_format.extension),
        )
        metadata = {
            "vendor": ref.vendor,
            "job-id": ref.job_id,
            "image-index": str(ref.index),
            **({"seed": str(self.job["seed"])} if self.job.get("seed") is not None else {}),
            **self.prompt_metadata,
        }
        self.upload = self._store(uploader.writer.upload, self.key, image_format.content_type, metadata)

    def write(self, data: bytes) -> None:
        assert self.upload is not None
        self._store(self.upload.write, data)

    def complete(self, size: int, sha256: str) -> dict[str, Any]:
        assert self.upload is not None
        self._store(self.upload.complete, {"sha256": sha256})
        uri = self.uri
        self.uploader.record_lineage(uri)
        self.uploader.log.log(
            self.uploader.level,
            "%s: %s %s -> %s (sha256 %s%s) in %.2f s",
            self.ref,
            wording.size(size),
            self.format.name,
            uri,
            sha256[:16],
            ", multipart" if self.upload.multipart else "",
            time.monotonic() - self.started,
        )
        ref = self.ref
        return {
            "uri": uri,
            "bucket": self.uploader.destination.bucket,
            "key": self.key,
            "link": self.uploader.writer.link(self.key),
            "size": size,
            "sha256": sha256,
            "content_type": self.format.content_type,
            "vendor": ref.vendor,
            "job_id": ref.job_id,
            "index": ref.index,
        }

    def abort(self) -> None:
        if self.upload is not None:
            self.upload.abort()

    def _store(self, action: Callable[..., T], *arguments: Any) -> T:
        """Run an upload step; a failure of the store becomes the image's transfer error."""
        writer = self.uploader.writer
        try:
            return action(*arguments)
        except writer.failures as error:
            where = self.uri if self.key else self.uploader.destination.location.uri
            raise self.ref.error(
                NanoBananaImageTransferError, f"could not be written to {where}: {error}"
            ) from error


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process: loading the CA bundle takes longer
    than a small image's download."""
    return httpx.create_ssl_context()


def planned_keys(destination: Destination, run: TaskInstanceKey, vendor: str, image_count: int) -> list[str]:
    """The keys a job's images will land under before its id is known (``<job_id>``): what a dry
    run shows, rendered by the same checks, so a bad template or run id fails there too."""
    job = {"vendor": vendor, "job_id": PLANNED_JOB_ID}
    return [
        render_key(destination.key_template, destination.prefix, _key_values(run, job, index, "png"))
        for index in range(image_count)
    ]


def _check_job(job: Mapping[str, Any]) -> None:
    if job.get("state") != JobState.SUCCEEDED.value:
        raise invalid(
            "jobs",
            {"job_id": job.get("job_id"), "state": job.get("state")},
            "a succeeded job; wait for it first (wait_for_completion=True or NanoBananaJobSensor)",
        )


PLANNED_JOB_ID = "<job_id>"


def _key_values(run: TaskInstanceKey, job: Mapping[str, Any], index: int, ext: str) -> dict[str, Any]:
    return {
        "vendor": job["vendor"],
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": run.task_id,
        "map_index": run.map_index,
        "job_id": job["job_id"],
        "index": index,
        "ext": ext,
    }


def _image_refs(job: Mapping[str, Any], held: ImageJobResult | None) -> list[ImageRef]:
    """One ref per image; inline images not ``held`` are fetched from the job again, since XCom
    carries only references to them."""
    references = list(job["images"])
    inline = dict(enumerate(held.images)) if held is not None else {}
    if not inline and any(reference.startswith(INLINE_SCHEME) for reference in references):
        from airflow_provider_nanobanana.hooks.registry import hook_for_connection

        with hook_for_connection(job["conn_id"]) as hook:
            inline = dict(enumerate(hook.get_job(job["job_id"]).images))
    refs = []
    for index, reference in enumerate(references):
        if reference.startswith(INLINE_SCHEME):
            output = inline.get(index)
            if output is None or (output.base64_data is None and output.spool is None):
                raise NanoBananaImageTransferError(
                    f"{job['vendor']} job {job['job_id']} image {index}: the vendor no longer returns "
                    "its base64 data",
                    job_id=job["job_id"],
                    index=index,
                    vendor=job["vendor"],
                )
            refs.append(
                ImageRef(
                    job["vendor"], job["job_id"], index, base64_data=output.base64_data, spool=output.spool
                )
            )
        else:
            refs.append(ImageRef(job["vendor"], job["job_id"], index, url=reference))
    return refs


def _prompt_metadata(prompt: str | None, include_prompt: bool) -> dict[str, str]:
    """What the ``prompt`` argument contributes to every object: its sha256, and the text if asked."""
    digest = {"prompt-sha256": hashlib.sha256(prompt.encode()).hexdigest()} if prompt else {}
    if not include_prompt:
        return digest
    if not prompt:
        raise invalid("prompt", prompt, "the prompt text, since include_prompt=True stores it")
    quoted = urllib.parse.quote(prompt, safe=" ,.:;!?'()-_")
    if len(quoted) > _MAX_PROMPT_METADATA:
        raise invalid(
            "include_prompt",
            True,
            f"prompts up to {_MAX_PROMPT_METADATA} characters once URL-encoded (S3 metadata is "
            f"limited to 2 KB); this one is {len(quoted)}. The prompt's sha256 is always stored",
        )
    return {**digest, "prompt": quoted}


def _summary_prompt_metadata(job: Mapping[str, Any]) -> dict[str, str]:
    """The prompt hash the generating task put in its summary (a sensor's summary has none)."""
    return {"prompt-sha256": job["prompt_sha256"]} if job.get("prompt_sha256") else {}


def _missing_images_error(
    failures: list[tuple[ImageRef, BaseException]],
    landed: list[dict[str, Any]],
    total: int,
    refusal: Callable[[BaseException], NanoBananaDestinationError | None],
    landed_in: str,
    log: logging.Logger,
) -> BaseException:
    for _, error in failures:
        log.error("NOT landed: %s", error)
    log.error("Paid for and not landed, so still only at the vendor:\n%s", _where_they_are(failures))
    first = failures[0][1]
    if refused := refusal(first):
        refused.args = (
            f"{refused}\n{len(failures)} of {total} images were not landed; they are paid for and "
            f"still at the vendor:\n{_where_they_are(failures)}",
        )
        return refused
    if not isinstance(first, NanoBananaImageTransferError):
        return first
    where = (
        f" The {len(landed)} others are in {landed_in} and a retry rewrites the same keys." if landed else ""
    )
    detail = "; ".join(str(error) for _, error in failures)
    return type(first)(
        f"{len(failures)} of {total} images were not landed: {detail}.{where} They are paid for "
        f"and still at the vendor:\n{_where_they_are(failures)}",
        job_id=first.job_id,
        index=first.index,
        host=first.host,
        vendor=first.vendor,
        status_code=first.status_code,
    )


def _where_they_are(failures: list[tuple[ImageRef, BaseException]]) -> str:
    """One line per image that did not land: the job, where the vendor serves it, and for how long."""
    lines = []
    for ref, _ in failures:
        link = httpx.URL(ref.url).copy_with(query=None) if ref.url else "inline data: fetch the job again"
        retention = _RETENTION.get(ref.vendor, "the vendor's retention applies")
        lines.append(f"  {ref.vendor} job {ref.job_id} image {ref.index}: {link} ({retention})")
    return "\n".join(lines)
