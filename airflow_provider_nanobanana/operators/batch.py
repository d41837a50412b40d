"""Many images in one task: at most ``max_in_flight`` jobs at a time, waited for in one trigger.

A nightly catalogue of a thousand images as mapped tasks costs a thousand task instances, each
started twice on a worker and tracked by the scheduler. This operator takes the whole list. Each
step (:class:`~airflow_provider_nanobanana.batch.run.BatchRun`) takes in the jobs that ended,
lands their images and submits the next wave into the free slots. Between steps the task polls
in its worker while jobs keep ending, and otherwise defers to one
:class:`~airflow_provider_nanobanana.triggers.batch.NanoBananaBatchTrigger` for every job in
flight. The ledger (:mod:`~airflow_provider_nanobanana.batch.state`, in the task state store or
in Variables before Airflow 3.3) records each item's intent and job id, keyed by the task instance
and the item's index, never by the try: a retry reattaches to every recorded job and pays only for
items that never got one. When all items are done it writes a manifest next to the images and
returns a bounded summary of it as its XCom; the ledger stays until Airflow has recorded the
success, so a worker lost in between costs nothing (:mod:`~airflow_provider_nanobanana.ledger.finished`).
Each try logs what it may pay before its first request; ``max_cost_usd`` caps what all tries
pay together (:mod:`~airflow_provider_nanobanana.batch.run` holds waves to it), and a dry run
returns the estimate without sending anything.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_nanobanana import polling, wording
from airflow_provider_nanobanana.airflow_lookups import default_deferrable
from airflow_provider_nanobanana.jobs import JobKind
from airflow_provider_nanobanana.ledger.finished import SettlesLedgerOnSuccess
from airflow_provider_nanobanana.links import NanoBananaImageLink
from airflow_provider_nanobanana.operators.image_job import UNKNOWN_SUBMISSION_CHOICES
from airflow_provider_nanobanana.stores.operator_mixin import LandsImages, destination_outlets

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_nanobanana.batch.run import BatchRun
    from airflow_provider_nanobanana.hooks.base import NanoBananaBaseHook
    from airflow_provider_nanobanana.stores.destination import Destination

_DEFERRAL_GRACE = 60
# A deferred task wakes once this share of its jobs in flight are done. Each wake-up is a task
# start on a worker (about 2 s of Airflow CPU with its landing); waking at three quarters rather
# than at half took the 1,000-image bench from 0.116 to 0.093 Airflow CPU seconds per image.
WAKE_SHARE = 0.75
# The task keeps polling in its worker while a job has ended within this many seconds: a resume
# costs a task start (seconds of scheduling and a second or two of CPU), more than such a wait.
STAY_IN_WORKER = 15.0


class NanoBananaBatchImageOperator(SettlesLedgerOnSuccess, LandsImages, BaseOperator):
    """Generate (or edit) one image job per item, bounded in flight, without paying twice.

    :param conn_id: a ``nanobanana_modelslab``, ``nanobanana_acedata`` or ``nanobanana_gemini``
        connection. With Gemini the items go as Gemini Batch jobs (half price, results within
        24 h), up to ``max_in_flight`` items per batch, and ``destination`` is required.
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
    :param destination: land each item's images as it finishes, and the manifest next to them: a
        dict of :class:`~airflow_provider_nanobanana.stores.destination.Destination` settings,
        ``uri`` on any store or an S3 ``bucket`` (templated).
    :param s3_output: ``destination``'s first name, still accepted.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``); without
        it the task polls in its worker slot.
    :param poll_interval: seconds between polls when the vendor gives no eta.
    :param timeout: seconds each try may take before its unfinished items count as failed (the
        jobs are kept: a retry reattaches to them).
    :param fail_on_partial: an item that delivers fewer images than asked for has failed.
    :param on_unknown_submission: ``"fail"`` (default): an item whose job may exist without a
        recorded id (answer lost, ModelsLab) is failed as possibly billed, not sent again;
        ``"resubmit"`` sends it again, accepting the risk of paying twice. AceData is searched.
    :param max_cost_usd: the most all tries of this task may pay together, in US dollars
        (templated). Items are sent while their estimates fit beside what was paid; the rest end
        ``not_submitted`` (reason ``budget``), everything paid for is landed, and the task fails
        without retries saying what it spent. Raise the cap and clear the task: it sends only
        those items. An unknown price with a cap fails the task before any request.
    :param dry_run: validate every item, render every S3 key, estimate, and return the estimate
        as the XCom without sending anything (templated).
    """

    template_fields: Sequence[str] = (
        "conn_id",
        "items",
        "model",
        "images",
        "negative_prompt",
        "options",
        "destination",
        "on_unknown_submission",
        "max_cost_usd",
        "dry_run",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "items": "json",
        "options": "json",
        "destination": "json",
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
        destination: dict[str, Any] | None = None,
        s3_output: dict[str, Any] | None = None,
        aws_conn_id: str | None = "aws_default",
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float = 24 * 3600.0,
        fail_on_partial: bool = True,
        on_unknown_submission: str = "fail",
        max_cost_usd: float | str | None = None,
        dry_run: bool | str = False,
        **kwargs: Any,
    ) -> None:
        given = destination_outlets(destination, s3_output, kwargs)
        self.with_ledger_settling(kwargs)
        super().__init__(**kwargs)
        self.destination_template = given.template
        self.declared_destination = given.declared
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
        self.destination = given.value
        self.destination_field = given.field
        self.aws_conn_id = aws_conn_id
        self.deferrable = default_deferrable(deferrable)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.fail_on_partial = fail_on_partial
        self.on_unknown_submission = on_unknown_submission
        self.max_cost_usd = max_cost_usd
        self.dry_run = dry_run

    # -- Airflow entry points --------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """A try starts: settle what earlier tries left, then take the first step."""
        from airflow_provider_nanobanana.ledger.finished import sweep_confirmed_entries
        from airflow_provider_nanobanana.spend.estimate import check_dry_run

        if check_dry_run(self.dry_run):
            return self._dry_run(context)
        sweep_confirmed_entries()
        with self._open(context, starting=True) as run:
            if run.state.finished:
                manifest = self._return_recorded(context, run)
            else:
                run.settle_lost_submissions()
                self._announce_cost(run)
                manifest = self._drive(context, run)
        return self._paid(manifest)

    def resume(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """The trigger woke the task: take in its results and carry on."""
        from airflow_provider_nanobanana.events import results_from_event
        from airflow_provider_nanobanana.jobs import ImageJobResult

        with self._open(context, starting=False) as run:
            if (event or {}).get("status") == "timeout":
                run.time_out()
                manifest = self._finish(context, run)
            else:
                if (event or {}).get("status") != "progress":
                    results_from_event(event)  # raises the typed error the trigger reported
                finished = [ImageJobResult.from_dict(result) for result in event["results"]]
                manifest = self._drive(context, run, finished, event.get("missing", ()))
        return self._paid(manifest)

    # -- steps -----------------------------------------------------------------------------------

    def _drive(
        self, context: Context, run: BatchRun, finished: Sequence[Any] = (), missing: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Take steps until every item is done. Between steps the task polls in its worker while
        jobs keep ending, and defers only once none has ended for :data:`STAY_IN_WORKER` seconds:
        a resume costs more than those polls, and a task that defers just before its trigger
        fires meets a scheduler race that fails the try (README, "Thousands of images")."""
        while not run.advance(finished, missing):
            if time.time() >= run.state.deadline:
                run.time_out()
                break
            finished, missing = self._wait_in_worker(run)
            held_back_due = (run.wake_at() or math.inf) <= time.time()
            if self.deferrable and not (finished or missing or held_back_due):
                self._defer(run)
        return self._finish(context, run)

    def _wait_in_worker(self, run: BatchRun) -> tuple[list[Any], list[str]]:
        """Poll until a job ends, held-back items may be sent, the deadline passes, or (when the
        task may defer) :data:`STAY_IN_WORKER` seconds went by without a job ending."""
        wake = min(run.wake_at() or math.inf, run.state.deadline)
        if self.deferrable:
            wake = min(wake, time.time() + STAY_IN_WORKER)
        while True:
            time.sleep(max(0.0, min(self.poll_interval, wake - time.time())))
            finished, missing = run.poll() if run.waiting_for() else ([], [])
            if finished or missing or time.time() >= wake:
                return finished, missing

    def _defer(self, run: BatchRun) -> None:
        from airflow_provider_nanobanana.triggers.batch import NanoBananaBatchTrigger

        job_ids = run.waiting_for()
        wake_after = max(1, math.ceil(len(job_ids) * WAKE_SHARE))
        earliest = time.time() + polling.min_deferral()
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
                first_poll_at=earliest,
                resume_after=wake_after,
                wake_at=max(wake, earliest) if (wake := run.wake_at()) else None,
            ),
            method_name="resume",
            timeout=timedelta(seconds=max(0.0, run.state.deadline - time.time()) + _DEFERRAL_GRACE),
        )

    def _announce_cost(self, run: BatchRun) -> None:
        """Before this try's first request: what it may pay, and whether the cap lets it."""
        from airflow_provider_nanobanana.batch.run import estimate_items
        from airflow_provider_nanobanana.batch.state import QUEUED

        state, cap = run.state, run.settings.max_cost_usd
        unsent = [index for index, record in state.every_record() if record["state"] == QUEUED]
        committed = state.paid_usd + state.reserved_usd
        room = None if cap is None else cap - committed
        estimate, fit = estimate_items(run.hook, run.requests, unsent, room)
        self.log.info(estimate.line(paid_before=state.paid_usd))
        estimate.require_prices(cap)
        if room is not None and fit < len(unsent):
            self.log.warning(
                "max_cost_usd=%s leaves room for about %d of the %d items to send (%s paid or "
                "running already): items go while they fit; the rest end not_submitted (budget).",
                wording.usd(cap or 0.0),
                fit,
                len(unsent),
                wording.usd(committed),
            )

    def _paid(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The task's last log line says what it paid."""
        from airflow_provider_nanobanana.spend.estimate import paid_line

        cost, basis = manifest.get("cost_usd"), manifest.get("cost_basis", "unknown")
        self.log.info(paid_line(cost, basis, manifest["images"]))
        return manifest

    def _dry_run(self, context: Context) -> dict[str, Any]:
        from airflow_provider_nanobanana.batch.items import item_requests
        from airflow_provider_nanobanana.batch.manifest import manifest_key
        from airflow_provider_nanobanana.batch.run import estimate_items
        from airflow_provider_nanobanana.operators.dry_run import dry_run_result
        from airflow_provider_nanobanana.spend.estimate import check_cap_value
        from airflow_provider_nanobanana.task_instance import TaskInstanceKey

        self.check_settings()
        cap = check_cap_value(self.max_cost_usd)
        destination = self._destination()
        with self._hook() as hook:
            self.require_landing_for(hook, destination)
            requests = item_requests(self.items, self.kind, self.shared_settings(), hook.validate)
            self._validate(hook, requests, destination)
            self.check_bucket(destination)
            estimate, fit = estimate_items(hook, requests, range(len(requests)), cap)
            manifest = None
            if destination is not None:
                key = manifest_key(destination, TaskInstanceKey.from_context(context))
                manifest = f"s3://{destination.bucket}/{key}"
            return dry_run_result(
                self.log,
                context,
                hook,
                conn_id=self.conn_id,
                estimate=estimate,
                cap=cap,
                destination=destination,
                image_counts=[request.image_count for request in requests],
                over_cap=f"send about {fit:,} of the {len(requests):,} items and end the rest "
                "not_submitted (budget)",
                items=len(requests),
                items_within_cap=None if cap is None else fit,
                manifest=manifest,
            )

    def _finish(self, context: Context, run: BatchRun) -> dict[str, Any]:
        from airflow_provider_nanobanana.batch.manifest import read_manifests, write_manifest
        from airflow_provider_nanobanana.batch.state import BUDGET
        from airflow_provider_nanobanana.ledger.finished import finish_marker
        from airflow_provider_nanobanana.task_instance import TaskInstanceKey

        state = run.state
        if destination := self._destination():
            manifest = write_manifest(
                state, self.conn_id, destination, TaskInstanceKey.from_context(context), self.log
            )
            self._record_batch_landing(context, state, destination, manifest)
        else:
            manifest = read_manifests(state, conn_id=self.conn_id, spool=None)
        self.log.info("Batch finished: %s.", state.progress_line(time.time()))
        if manifest.get("not_submitted", {}).get(BUDGET):
            context["ti"].xcom_push(key="manifest", value=manifest)
            raise _budget_spent(run.settings.max_cost_usd or 0.0, manifest, landed=destination is not None)
        if manifest["failed"] > self.max_failed_items:
            context["ti"].xcom_push(key="manifest", value=manifest)
            raise self._failed_items_error(state, manifest)
        # Kept until Airflow has recorded this success for good (see ledger/finished.py).
        state.finished = finish_marker(state.store, context["ti"], manifest=manifest)
        state.save()
        return manifest

    def _return_recorded(self, context: Context, run: BatchRun) -> dict[str, Any]:
        """An earlier try finished this batch and this try is not a re-run (ledger/finished.py):
        hand back its manifest, paying for nothing."""
        from airflow_provider_nanobanana.ledger.finished import why_recorded_result

        finished = run.state.finished
        manifest = finished["manifest"]
        self.log.info(
            "Try %d of this task instance finished this batch (%d items, %d succeeded) and %s, "
            "so this try returns its manifest and pays for nothing.",
            finished["try"],
            manifest["items"],
            manifest["succeeded"],
            why_recorded_result(finished),
        )
        if destination := self._destination():
            self._record_batch_landing(context, run.state, destination, manifest)
        return manifest

    def _record_batch_landing(
        self, context: Context, state: Any, destination: Destination, manifest: dict[str, Any]
    ) -> None:
        self.record_landing(
            context,
            destination,
            self.destination_template,
            count=manifest["images"],
            size=manifest["bytes"],
            extra={"manifest": manifest["manifest"]},
            objects=_landed_objects(state, destination),
            lineage=[_manifest_object(manifest["manifest"], destination)],
            cost=manifest,
        )

    def forget_ledger(self, store: Any) -> None:
        """Called once Airflow has recorded this task's success (ledger/finished.py)."""
        from airflow_provider_nanobanana.batch.state import BatchState

        if (state := BatchState.load(store, expected=False)) is not None:
            state.forget()

    def confirm_ledger(self, store: Any) -> None:
        """Called once Airflow has recorded the success of a resumed try (ledger/finished.py)."""
        from airflow_provider_nanobanana.batch.state import BatchState
        from airflow_provider_nanobanana.ledger.finished import confirm

        if (state := BatchState.load(store, expected=False)) is not None and state.finished:
            state.finished = confirm(state.finished)
            state.save()

    # -- pieces ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _open(self, context: Context, *, starting: bool) -> Iterator[BatchRun]:
        """Check everything, open the hook and the ledger, and hand the step its :class:`BatchRun`.

        A try's start validates every item against the vendor's rules, so bad input fails before
        the first paid request and without retries; a resume within the try checks only that
        the items are the ones the try started with (validating thousands of items on every
        wake-up would cost each wake-up as much as the batch is long).
        """
        from airflow_provider_nanobanana.batch.items import fingerprint, item_requests
        from airflow_provider_nanobanana.batch.run import BatchRun, BatchSettings
        from airflow_provider_nanobanana.batch.state import BatchState
        from airflow_provider_nanobanana.ledger.finished import is_rerun
        from airflow_provider_nanobanana.ledger.store import TaskInstanceStore
        from airflow_provider_nanobanana.spend.estimate import check_cap_value
        from airflow_provider_nanobanana.stores.landing import Landing
        from airflow_provider_nanobanana.task_instance import TaskInstanceKey

        self.check_settings()
        destination = self._destination()
        store = TaskInstanceStore(context)
        try_number = context["ti"].try_number
        with self._hook() as hook, contextlib.ExitStack() as stack:
            self.require_landing_for(hook, destination)
            check = hook.validate if starting else None
            requests = item_requests(self.items, self.kind, self.shared_settings(), check)
            if starting:
                self._validate(hook, requests, destination)
                self.check_bucket(destination)
            identity = fingerprint(requests, self.conn_id)
            state = BatchState.load(store, expected=starting and try_number > 1)
            if state is not None and state.finished and is_rerun(store, state.finished, context["ti"]):
                self.log.info(
                    "Try %d of this task instance succeeded and the task was cleared since: this try "
                    "is a re-run and starts the batch anew.",
                    state.finished["try"],
                )
                state.forget()
                state = None
            if state is None:
                state = BatchState(
                    store, identity, hook.vendor.value, len(requests), lands=destination is not None
                )
            elif state.fingerprint != identity:
                raise _items_changed(requests, identity, state)
            if starting and not state.finished:
                earlier_try = state.try_number
                state.begin_try(try_number, time.time() + self.timeout)
                if earlier_try:
                    self.log.info(state.resume_line(earlier_try))
            land = None
            if destination is not None:
                run_keys = TaskInstanceKey.from_context(context)
                landing = stack.enter_context(Landing(destination, run_keys, self.log, quiet=True))

                def land(jobs: list[dict[str, Any]], in_hand: Sequence[Any] = ()) -> list[dict[str, Any]]:
                    return landing.land(jobs, prompt=None, in_hand=in_hand)

            settings = BatchSettings(
                conn_id=self.conn_id,
                max_in_flight=self.max_in_flight or hook.default_max_in_flight,
                fail_on_partial=self.fail_on_partial,
                on_unknown_submission=self.on_unknown_submission,
                aws_conn_id=self.aws_conn_id,
                max_cost_usd=check_cap_value(self.max_cost_usd),
            )
            try:
                yield BatchRun(requests, state, hook, settings, land=land, log=self.log)
            finally:
                if store.writes:  # what this stay on a worker cost the metadata DB
                    self.log.info(store.cost_line())

    def _validate(self, hook: Any, requests: Sequence[Any], destination: Destination | None) -> None:
        from airflow_provider_nanobanana.batch.manifest import XCOM_ITEMS
        from airflow_provider_nanobanana.validation import invalid

        if destination is None and len(requests) > XCOM_ITEMS:
            raise invalid(
                "destination",
                None,
                f"a destination for a batch of more than {XCOM_ITEMS} items ({len(requests)} "
                "given): the images and the manifest that lists them go there, while the XCom lists "
                f"only the first {XCOM_ITEMS}",
            )
        hook.validate_batch(requests)

    def _hook(self) -> NanoBananaBaseHook:
        from airflow_provider_nanobanana.hooks.registry import hook_for_connection

        # The batch queues what the vendor turns away and sends it again later, so the hook
        # itself never sleeps on a 429 in the worker.
        hook = hook_for_connection(self.conn_id, max_retries=0)
        hook.job_log_level = logging.DEBUG
        return hook

    def _destination(self) -> Destination | None:
        from airflow_provider_nanobanana.validation import invalid

        destination = self.landing_destination()
        if destination is not None and destination.include_prompt:
            raise invalid(
                f"{self.destination_field}.include_prompt",
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

    def _failed_items_error(self, state: Any, manifest: dict[str, Any]) -> Exception:
        from airflow_provider_nanobanana.batch.state import RETRIED
        from airflow_provider_nanobanana.exceptions import (
            NanoBananaBatchItemsFailedError,
            NanoBananaBatchItemsRefusedError,
        )

        failures, failed = manifest["failures"], manifest["failed"]
        shown = "; ".join(f"item {item['index']}: {item.get('error')}" for item in failures[:5])
        more = f"; and {failed - 5} more" if failed > 5 else ""
        message = (
            f"{failed} of {state.size} items failed (max_failed_items={self.max_failed_items}); "
            f"everything that succeeded was landed. {shown}{more}. The manifest (XCom 'manifest', "
            "and next to the images with a destination) lists every item."
        )
        if state.count(*RETRIED):
            return NanoBananaBatchItemsFailedError(message)
        return NanoBananaBatchItemsRefusedError(message)


def _budget_spent(cap: float, manifest: dict[str, Any], *, landed: bool) -> Exception:
    from airflow_provider_nanobanana.exceptions import NanoBananaBudgetError

    unsent = manifest["not_submitted"]["budget"]
    where = "landed, and the manifest lists every item" if landed else "in the XCom 'manifest'"
    paid = wording.usd(manifest["cost_usd"] or 0)
    return NanoBananaBudgetError(
        f"max_cost_usd={wording.usd(cap)} stopped the batch: it paid {paid} "
        f"for {manifest['succeeded']} of {manifest['items']} items ({where}); {unsent} items were not "
        f"submitted (reason budget).\nRaise max_cost_usd (it is templated, e.g. from params) and clear "
        f"this task: it sends only those {unsent}.",
        cap_usd=cap,
        spent_usd=manifest["cost_usd"],
    )


def _items_changed(requests: Sequence[Any], identity: str, state: Any) -> Exception:
    from airflow_provider_nanobanana.validation import invalid

    return invalid(
        "items",
        f"{len(requests)} items (fingerprint {identity[:12]})",
        f"the {state.size} items an earlier try of this task instance submitted jobs for; their "
        "jobs are recorded in its ledger. Restore them, or clear the task to start a new batch",
    )


def _landed_objects(state: Any, destination: Destination) -> Iterator[dict[str, Any]]:
    """The landed objects as the landing code records them, read from the ledger page by page."""
    for _, record in state.every_record():
        for position, obj in enumerate(record.get("objects", ())):
            yield {
                **obj,
                "uri": destination.object_uri(obj["key"]),
                "bucket": destination.bucket,
                "vendor": state.vendor,
                "job_id": record["job_id"],
                "index": position,
            }


def _manifest_object(uri: str, destination: Destination) -> dict[str, Any]:
    return {"uri": uri, "bucket": destination.bucket, "key": uri.removeprefix(destination.object_uri(""))}
