"""Many images in one task: at most ``max_in_flight`` jobs at a time, waited for in one trigger.

A nightly catalogue of a thousand images as mapped tasks costs a thousand task instances, each
started twice on a worker and tracked by the scheduler. This operator takes the whole list. Each
time it runs on a worker (its start, and each wake-up) it takes in the jobs that finished, lands
their images, submits the next wave into the free slots
(:class:`~airflow_provider_nanobanana.batch.run.BatchRun`), and defers again to one
:class:`~airflow_provider_nanobanana.triggers.batch.NanoBananaBatchTrigger` for every job in
flight. The ledger (the task state store, or a Variable before Airflow 3.3) records each item's
intent and job id, keyed by the task instance and the item's index, never by the try: a retry
reattaches to every recorded job and pays only for items that never got one. When all items are
done it writes a manifest next to the images and returns the same manifest, small, as its XCom.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_nanobanana.airflow_lookups import default_deferrable
from airflow_provider_nanobanana.jobs import JobKind
from airflow_provider_nanobanana.links import NanoBananaImageLink
from airflow_provider_nanobanana.operators.image_job import UNKNOWN_SUBMISSION_CHOICES
from airflow_provider_nanobanana.s3.operator_mixin import LandsImagesInS3, s3_output_outlets

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_nanobanana.batch.run import BatchRun
    from airflow_provider_nanobanana.hooks.base import NanoBananaBaseHook
    from airflow_provider_nanobanana.s3.destination import S3Destination

LEDGER_NAME = "nanobanana_batch"
_DEFERRAL_GRACE = 60
# The task wakes once this share of its jobs in flight are done. Each wake-up is a task start on a
# worker (about 2 s of Airflow CPU with its landing); waking at three quarters rather than at half
# took the 1,000-image bench from 0.116 to 0.093 Airflow CPU seconds per image (wall 364 -> 399 s).
WAKE_SHARE = 0.75


class NanoBananaBatchImageOperator(LandsImagesInS3, BaseOperator):
    """Generate (or edit) one image job per item, bounded in flight, without paying twice.

    :param conn_id: a ``nanobanana_modelslab``, ``nanobanana_acedata`` or ``nanobanana_gemini``
        connection. With Gemini the items go as Gemini Batch jobs (half price, results within
        24 h), up to ``max_in_flight`` items per batch, and ``s3_output`` is required.
    :param items: prompts, or dicts with ``prompt`` and any of ``images``, ``model``, ``width``,
        ``height``, ``aspect_ratio``, ``resolution``, ``count``, ``seed``, ``negative_prompt``,
        ``options`` (templated; an upstream task's output, mapped or not, works as the list).
    :param kind: ``generate``, ``edit`` or ``img2img``, for every item.
    :param model, images, width, height, aspect_ratio, resolution, count, negative_prompt, options:
        shared settings, used where an item does not set its own (as in the generate operator).
    :param max_in_flight: jobs submitted and unfinished at once; default the vendor's smallest
        documented queue (ModelsLab 5; AceData, which documents none, 10; Gemini: items per batch,
        1000). Items the vendor turns away for a full queue (429) wait and are sent again, never
        failed.
    :param max_failed_items: items allowed to fail (vendor failure, refusal, moderation) before
        the task fails; the task fails only after landing everything that succeeded.
    :param s3_output: land each item's images as it finishes, and the manifest next to them: a dict
        of :class:`~airflow_provider_nanobanana.s3.destination.S3Destination` settings (templated).
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``); without
        it the task polls in its worker slot.
    :param poll_interval: seconds between polls when the vendor gives no eta.
    :param timeout: seconds each try may take before its unfinished items count as failed (the
        jobs are kept: a retry reattaches to them).
    :param fail_on_partial: an item that delivers fewer images than asked for has failed.
    :param on_unknown_submission: ``"fail"`` (default): an item whose job may exist without a
        recorded id (answer lost, ModelsLab) is failed as possibly billed, not sent again;
        ``"resubmit"`` sends it again, accepting the risk of paying twice. AceData is searched.
    """

    template_fields: Sequence[str] = (
        "conn_id",
        "items",
        "model",
        "images",
        "negative_prompt",
        "options",
        "s3_output",
        "on_unknown_submission",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "items": "json",
        "options": "json",
        "s3_output": "json",
    }
    ui_color = "#ffe135"
    operator_extra_links = (NanoBananaImageLink(),)

    def __init__(
        self,
        *,
        conn_id: str,
        items: Any,
        kind: str = JobKind.GENERATE.value,
        model: str | None = None,
        images: Sequence[str] | str = (),
        width: int | None = None,
        height: int | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        count: int | None = None,
        negative_prompt: str | None = None,
        options: dict[str, Any] | None = None,
        max_in_flight: int | None = None,
        max_failed_items: int = 0,
        s3_output: dict[str, Any] | None = None,
        aws_conn_id: str | None = "aws_default",
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float = 24 * 3600.0,
        fail_on_partial: bool = True,
        on_unknown_submission: str = "fail",
        **kwargs: Any,
    ) -> None:
        prefix_template = s3_output_outlets(s3_output, kwargs)
        super().__init__(**kwargs)
        self.s3_prefix_template = prefix_template
        self.conn_id = conn_id
        self.items = items
        self.kind = JobKind(kind)
        self.model = model
        self.images = images
        self.width = width
        self.height = height
        self.aspect_ratio = aspect_ratio
        self.resolution = resolution
        self.count = count
        self.negative_prompt = negative_prompt
        self.options = options or {}
        self.max_in_flight = max_in_flight
        self.max_failed_items = max_failed_items
        self.s3_output = s3_output
        self.aws_conn_id = aws_conn_id
        self.deferrable = default_deferrable(deferrable)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.fail_on_partial = fail_on_partial
        self.on_unknown_submission = on_unknown_submission

    # -- Airflow entry points --------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """A try starts: settle what earlier tries left, then take the first step."""
        with self._open(context, starting=True) as run:
            run.settle_lost_submissions()
            return self._step(context, run)

    def resume(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """The trigger woke the task: take in its results and take the next step."""
        from airflow_provider_nanobanana.events import results_from_event
        from airflow_provider_nanobanana.jobs import ImageJobResult

        with self._open(context, starting=False) as run:
            if (event or {}).get("status") == "timeout":
                run.time_out()
                return self._finish(context, run)
            if (event or {}).get("status") != "progress":
                results_from_event(event)  # raises the typed error the trigger reported
            finished = [ImageJobResult.from_dict(result) for result in event["results"]]
            return self._step(context, run, finished, event.get("missing", ()))

    # -- one step --------------------------------------------------------------------------------

    def _step(
        self, context: Context, run: BatchRun, finished: Sequence[Any] = (), missing: Sequence[str] = ()
    ) -> dict[str, Any]:
        while not run.advance(finished, missing):
            if time.time() >= run.state.deadline:
                run.time_out()
                break
            if self.deferrable:
                self._defer(run)
            finished, missing = self._wait_in_worker(run)
        return self._finish(context, run)

    def _defer(self, run: BatchRun) -> None:
        from airflow_provider_nanobanana.triggers.batch import NanoBananaBatchTrigger

        job_ids = run.waiting_for()
        wake_after = max(1, math.ceil(len(job_ids) * WAKE_SHARE))
        self.log.info(
            "Deferring: the triggerer waits for %d %s jobs; the task wakes when %d are done.",
            len(job_ids),
            run.hook.vendor_label,
            wake_after,
        )
        self.defer(
            trigger=NanoBananaBatchTrigger(
                vendor=run.hook.vendor.value,
                conn_id=self.conn_id,
                job_ids=job_ids,
                end_time=run.state.deadline,
                poll_interval=self.poll_interval,
                resume_after=wake_after,
                wake_at=run.wake_at(),
            ),
            method_name="resume",
            timeout=timedelta(seconds=max(0.0, run.state.deadline - time.time()) + _DEFERRAL_GRACE),
        )

    def _wait_in_worker(self, run: BatchRun) -> tuple[list[Any], list[str]]:
        """Poll in this worker slot until a job ends or held-back items may be sent."""
        from airflow_provider_nanobanana.exceptions import NanoBananaJobNotFoundError
        from airflow_provider_nanobanana.polling import TRANSIENT_POLL_ERRORS

        wake = min(run.wake_at() or run.state.deadline, run.state.deadline)
        while True:
            time.sleep(max(0.0, min(self.poll_interval, wake - time.time())))
            finished, missing = [], []
            for job_id in run.waiting_for():
                try:
                    result = run.hook.get_job(job_id)
                except NanoBananaJobNotFoundError:
                    missing.append(job_id)
                except TRANSIENT_POLL_ERRORS as error:
                    self.log.warning("Polling %s failed (%s); polling on.", job_id, error)
                else:
                    if result.state.is_terminal:
                        finished.append(result)
            if finished or missing or time.time() >= wake:
                return finished, missing

    def _finish(self, context: Context, run: BatchRun) -> dict[str, Any]:
        from airflow_provider_nanobanana.batch.manifest import build_manifest, write_manifest
        from airflow_provider_nanobanana.batch.state import FAILURES
        from airflow_provider_nanobanana.s3.landing import RunKeys

        state = run.state
        manifest = build_manifest(state, conn_id=self.conn_id)
        if destination := self._s3_destination():
            detailed = build_manifest(state, conn_id=self.conn_id, detailed=True)
            manifest["manifest"] = write_manifest(
                detailed, destination, RunKeys.from_context(context), self.log
            )
            self.record_landing(
                context,
                destination,
                _landed_objects(state, destination),
                self.s3_prefix_template or destination.prefix,
                {"manifest": manifest["manifest"]},
            )
        failed = state.indexes(*FAILURES)
        self.log.info("Batch finished: %s.", state.progress_line(time.time()))
        if len(failed) > self.max_failed_items:
            context["ti"].xcom_push(key="manifest", value=manifest)
            raise self._failed_items_error(state, failed)
        self._ledger(context).forget()
        return manifest

    # -- pieces ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _open(self, context: Context, *, starting: bool) -> Iterator[BatchRun]:
        """Check everything, open the hook and the ledger, and hand the step its :class:`BatchRun`.

        Every item is validated against the vendor's rules on every run (the list is rendered
        again each time), so bad input fails before the first paid request and without retries.
        """
        from airflow_provider_nanobanana.batch.items import fingerprint, item_requests
        from airflow_provider_nanobanana.batch.run import BatchRun, BatchSettings
        from airflow_provider_nanobanana.batch.state import BatchState
        from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
        from airflow_provider_nanobanana.s3.landing import Landing, RunKeys
        from airflow_provider_nanobanana.validation import invalid

        self.check_settings()
        requests = item_requests(self.items, self.kind, self.shared_settings())
        destination = self._s3_destination()
        ledger = self._ledger(context)
        with self._hook() as hook, contextlib.ExitStack() as stack:
            self.require_landing_for(hook, destination)
            for index, request in enumerate(requests):
                try:
                    hook.validate(request)
                except NanoBananaInvalidRequestError as error:
                    raise invalid(
                        f"items[{index}].{error.field}", error.value, error.allowed or str(error)
                    ) from None
            hook.validate_batch(requests)
            identity = fingerprint(requests, self.conn_id)
            saved = ledger.recall()
            if saved is None:
                state = BatchState(identity, hook.vendor.value, len(requests), 0, 0.0)
            elif saved["fingerprint"] != identity:
                raise invalid(
                    "items",
                    f"{len(requests)} items (fingerprint {identity[:12]})",
                    f"the {saved['size']} items an earlier try of this task instance submitted jobs "
                    "for; their jobs are recorded in its ledger. Restore them, or clear the task to "
                    "start a new batch",
                )
            else:
                state = BatchState.from_dict(saved)
            if starting or saved is None:
                state.begin_try(context["ti"].try_number, time.time() + self.timeout)
            land = None
            if destination is not None:
                landing = stack.enter_context(Landing(destination, RunKeys.from_context(context), self.log))

                def land(jobs: list[dict[str, Any]], in_hand: Sequence[Any] = ()) -> list[dict[str, Any]]:
                    return landing.land(jobs, prompt=None, in_hand=in_hand)

            settings = BatchSettings(
                conn_id=self.conn_id,
                max_in_flight=self.max_in_flight or hook.default_max_in_flight,
                fail_on_partial=self.fail_on_partial,
                on_unknown_submission=self.on_unknown_submission,
                aws_conn_id=self.aws_conn_id,
            )
            yield BatchRun(
                requests,
                state,
                hook,
                settings,
                save=lambda current: ledger.remember(current.to_dict()),
                land=land,
                log=self.log,
            )

    def _hook(self) -> NanoBananaBaseHook:
        from airflow_provider_nanobanana.hooks.registry import hook_for_connection

        # The batch queues what the vendor turns away and sends it again later, so the hook
        # itself never sleeps on a 429 in the worker.
        return hook_for_connection(self.conn_id, max_retries=0)

    def _ledger(self, context: Context) -> Any:
        from airflow_provider_nanobanana.operators.job_ledger import JobLedger

        return JobLedger(context, name=LEDGER_NAME)

    def _s3_destination(self) -> S3Destination | None:
        from airflow_provider_nanobanana.validation import invalid

        destination = self.s3_output_destination()
        if destination is not None and destination.include_prompt:
            raise invalid(
                "s3_output.include_prompt",
                True,
                "False for a batch: each object's metadata holds its own item's prompt sha256",
            )
        return destination

    def shared_settings(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "images": self.images or None,
            "width": self.width,
            "height": self.height,
            "aspect_ratio": self.aspect_ratio,
            "resolution": self.resolution,
            "count": self.count,
            "negative_prompt": self.negative_prompt,
            "options": self.options or None,
        }

    def check_settings(self) -> None:
        from airflow_provider_nanobanana.validation import check_choice, check_int

        check_choice("on_unknown_submission", self.on_unknown_submission, UNKNOWN_SUBMISSION_CHOICES)
        check_int("max_failed_items", self.max_failed_items, 0, 10**9)
        if self.max_in_flight is not None:
            check_int("max_in_flight", self.max_in_flight, 1, 1000)

    def _failed_items_error(self, state: Any, failed: list[int]) -> Exception:
        from airflow_provider_nanobanana.batch.state import RETRIED
        from airflow_provider_nanobanana.exceptions import (
            NanoBananaBatchItemsFailedError,
            NanoBananaBatchItemsRefusedError,
        )

        shown = "; ".join(f"item {index}: {state.items[index].get('error')}" for index in failed[:5])
        more = f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
        message = (
            f"{len(failed)} of {state.size} items failed (max_failed_items={self.max_failed_items}); "
            f"everything that succeeded was landed. {shown}{more}. The manifest (XCom 'manifest') "
            "lists every item."
        )
        if any(state.state_of(index) in RETRIED for index in failed):
            return NanoBananaBatchItemsFailedError(message)
        return NanoBananaBatchItemsRefusedError(message)


def _landed_objects(state: Any, destination: S3Destination) -> list[dict[str, Any]]:
    """The landed objects as the landing code records them, rebuilt from the ledger."""
    return [
        {
            **obj,
            "uri": f"s3://{destination.bucket}/{obj['key']}",
            "bucket": destination.bucket,
            "vendor": state.vendor,
            "job_id": record["job_id"],
            "index": position,
        }
        for record in state.items.values()
        for position, obj in enumerate(record.get("objects", ()))
    ]
