"""Submit one Nano Banana job, wait for it without paying twice, and return a small summary.

The flow, whatever the vendor:

1. Validate everything that can be checked (the request, its ``s3://`` inputs, the S3
   destination) before any paid call; such errors fail the task without retries. Price the
   images: a dry run returns that estimate and stops; otherwise it is logged before paying, and
   an estimate above ``max_cost_usd`` fails the task.
2. If this task instance already submitted a job (a retry, a cleared running task, a worker
   that died), reattach to it; if an earlier try finished it and Airflow never recorded that
   try's success, return what it returned. Otherwise record the intent, submit, and record the
   job id at once. A retry that finds an intent without a job id (the answer was lost) looks the
   job up where the vendor allows it, and otherwise fails rather than risk paying twice
   (``on_unknown_submission``).
3. Unless ``wait_for_completion=False``: defer to :class:`NanoBananaJobTrigger`, or poll in the
   worker with the same schedule and errors.
4. Return the :mod:`~airflow_provider_nanobanana.summary` (URLs or references, never bytes, and
   what the job cost), keeping it in the ledger until Airflow has recorded the success
   (:mod:`~airflow_provider_nanobanana.ledger.finished`).

Importing this module stays light (no httpx); hooks load when a task runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_nanobanana.airflow_lookups import default_deferrable
from airflow_provider_nanobanana.jobs import ImageJobRequest, ImageJobResult, JobKind, JobState
from airflow_provider_nanobanana.ledger.finished import SettlesLedgerOnSuccess
from airflow_provider_nanobanana.links import NanoBananaImageLink
from airflow_provider_nanobanana.stores.operator_mixin import LandsImages, destination_outlets

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_nanobanana.hooks.base import NanoBananaBaseHook
    from airflow_provider_nanobanana.ledger.job import JobLedger
    from airflow_provider_nanobanana.ledger.store import TaskInstanceStore
    from airflow_provider_nanobanana.spend.estimate import Estimate
    from airflow_provider_nanobanana.stores.destination import Destination

# How long after the trigger's own deadline Airflow's deferral timeout fires: the trigger's clean
# ``timeout`` event should always win over a generic deferral timeout.
_DEFERRAL_GRACE = 60
UNKNOWN_SUBMISSION_CHOICES = ("fail", "resubmit")


class NanoBananaImageJobOperator(SettlesLedgerOnSuccess, LandsImages, BaseOperator):
    """Base of the generate, edit and img2img operators; subclasses only fix the job kind.

    :param conn_id: a ``nanobanana_modelslab`` or ``nanobanana_acedata`` connection; it decides the
        vendor. Moving a DAG to the other vendor is a ``conn_id`` change (plus vendor options).
    :param prompt: what to draw or change (templated).
    :param images: input image URLs, stored objects (``s3://``, ``gs://``, ``abfs://``,
        ``wasb://``, ``file://``; sent as signed URLs, or inline as data URIs where the vendor takes
        them; see :mod:`~airflow_provider_nanobanana.stores.inputs`), or for AceData
        ``data:image/...;base64,`` URIs (templated).
    :param model: vendor model name; ModelsLab v7 ``nano-banana-t2i``/``nano-banana``/``nano-banana-pro``,
        AceData ``nano-banana``, ``nano-banana-2``, ``nano-banana-pro``, ``nano-banana-2-lite`` and the
        ``:official`` variants (templated).
    :param width: ModelsLab enterprise only: 1024 to 2048, divisible by 32.
    :param height: ModelsLab enterprise only: 1024 to 2048, divisible by 32.
    :param aspect_ratio: AceData or ModelsLab v7, e.g. ``"16:9"``.
    :param resolution: AceData only: ``"1K"``, ``"2K"`` or ``"4K"``.
    :param count: number of images, 1 to 4 (ModelsLab ``samples``, AceData ``count``).
    :param seed: ModelsLab enterprise only; 0 lets the vendor pick.
    :param negative_prompt: ModelsLab enterprise only (templated).
    :param options: vendor-specific settings, validated by the hook (templated, JSON):
        ModelsLab ``watermark``, ``temp``, ``base64``, ``track_id``, ``webhook`` and noise controls;
        AceData ``async``, ``callback_url``.
    :param wait_for_completion: wait for the images; ``False`` returns right after submission
        (pair with :class:`~airflow_provider_nanobanana.sensors.image_job.NanoBananaJobSensor`).
    :param deferrable: wait in the triggerer instead of a worker slot; default from
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between polls when the vendor gives no ``eta``.
    :param timeout: seconds to wait for the job before failing with ``NanoBananaTimeoutError``.
    :param fail_on_partial: fail when the vendor delivers fewer images than ``count``.
    :param destination: land the images within this task: a dict of
        :class:`~airflow_provider_nanobanana.stores.destination.Destination` settings, at least
        ``uri`` (``s3://``, ``gs://``, ``abfs://``, ``wasb://`` or ``file://``) or an S3 ``bucket``
        (templated). The summary then has an ``s3`` list like the transfer operator's.
    :param s3_output: ``destination``'s first name, still accepted.
    :param aws_conn_id: the Amazon connection for ``s3://`` inputs and an S3 destination.
    :param on_unknown_submission: what a retry does when the job an earlier try paid for cannot
        be found: the request was sent but the answer lost and the vendor offers no way to find
        the job (ModelsLab; AceData is searched), or the vendor says it does not know a recorded
        job id. ``"fail"`` (default) fails saying the job may be billed and naming the Variable
        a person sets to resubmit once (``ledger/consent.py``); ``"resubmit"`` submits again
        on every such try, accepting the risk of paying twice (templated, e.g. from ``params``).
    :param max_cost_usd: the most this task may pay, in US dollars (templated). An estimate above
        it, or an unknown price, fails the task before any request, without retries.
    :param dry_run: validate, render the S3 keys, estimate, and return the estimate as the XCom
        without sending anything (templated).
    """

    kind: ClassVar[JobKind]
    template_fields: Sequence[str] = (
        "conn_id",
        "prompt",
        "images",
        "model",
        "negative_prompt",
        "options",
        "destination",
        "on_unknown_submission",
        "max_cost_usd",
        "dry_run",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "options": "json",
        "images": "json",
        "destination": "json",
    }
    ui_color = "#ffe135"
    operator_extra_links = (NanoBananaImageLink(),)
    # A mapped task's grid entry names its prompt's first words instead of a bare index.
    DEFAULT_MAP_INDEX_TEMPLATE = "{{ task.prompt | truncate(40, leeway=0) }}"

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """Like ``BaseOperator.partial``, with :attr:`DEFAULT_MAP_INDEX_TEMPLATE` unless one is given
        (Airflow reads the template of the mapped task, not of each unmapped instance)."""
        kwargs.setdefault("map_index_template", cls.DEFAULT_MAP_INDEX_TEMPLATE)
        return super().partial(**kwargs)

    def __init__(
        self,
        *,
        conn_id: str,
        prompt: str,
        images: Sequence[str] | str = (),
        model: str | None = None,
        width: int | None = None,
        height: int | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        count: int | None = None,
        seed: int | None = None,
        negative_prompt: str | None = None,
        options: dict[str, Any] | None = None,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float = 3600.0,
        fail_on_partial: bool = True,
        destination: dict[str, Any] | None = None,
        s3_output: dict[str, Any] | None = None,
        aws_conn_id: str | None = "aws_default",
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
        self.prompt = prompt
        self.images = images
        self.model = model
        self.width = width
        self.height = height
        self.aspect_ratio = aspect_ratio
        self.resolution = resolution
        self.count = count
        self.seed = seed
        self.negative_prompt = negative_prompt
        self.options = options or {}
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable(deferrable)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.fail_on_partial = fail_on_partial
        self.destination = given.value
        self.destination_field = given.field
        self.aws_conn_id = aws_conn_id
        self.on_unknown_submission = on_unknown_submission
        self.max_cost_usd = max_cost_usd
        self.dry_run = dry_run

    def job_request(self) -> ImageJobRequest:
        images = (self.images,) if isinstance(self.images, str) else tuple(self.images or ())
        return ImageJobRequest(
            kind=self.kind,
            prompt=self.prompt,
            images=images,
            model=self.model,
            width=self.width,
            height=self.height,
            aspect_ratio=self.aspect_ratio,
            resolution=self.resolution,
            count=self.count,
            seed=self.seed,
            negative_prompt=self.negative_prompt,
            options=self.options,
        )

    def _hook(self) -> NanoBananaBaseHook:
        from airflow_provider_nanobanana.hooks.registry import hook_for_connection

        return hook_for_connection(self.conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_nanobanana.exceptions import (
            NanoBananaError,
            NanoBananaSubmissionUnknownError,
        )
        from airflow_provider_nanobanana.ledger.finished import finished_by, sweep_confirmed_entries
        from airflow_provider_nanobanana.ledger.job import JobLedger
        from airflow_provider_nanobanana.spend.estimate import Estimate, check_cap_value, check_dry_run
        from airflow_provider_nanobanana.stores.inputs import resolve_stored_inputs
        from airflow_provider_nanobanana.validation import check_choice

        check_choice("on_unknown_submission", self.on_unknown_submission, UNKNOWN_SUBMISSION_CHOICES)
        cap, dry_run = check_cap_value(self.max_cost_usd), check_dry_run(self.dry_run)
        request = self.job_request()
        destination = self._destination()  # a bad S3 setting fails now, before anything is paid for
        with self._hook() as hook:
            self.require_landing_for(hook, destination)
            hook.validate(request)  # with stored inputs as given, before any of them is read
            images = resolve_stored_inputs(
                request.images,
                inline_limit=hook.inline_image_limit,
                aws_conn_id=self.aws_conn_id,
                log=self.log,
            )
            request = dataclasses.replace(request, images=images)
            hook.validate(request)
            estimate = Estimate()
            estimate.add(hook.unit_price(request), request.image_count)
            if dry_run:
                self.check_bucket(destination)
                return self._dry_run(context, hook, estimate, cap, destination)
            sweep_confirmed_entries()
            ledger = JobLedger(context)
            entry = self._unfinished_entry(ledger)
            if finished_by(entry) is not None:
                return self._return_recorded(context, entry, destination)
            entry, result = self._reattach(hook, ledger, request, entry)
            if result is None:
                self.log.info(estimate.line())
                estimate.check_cap(cap)
                self.check_bucket(destination)
                intent = {"vendor": hook.vendor.value, "sent_at": time.time(), "job_id": None}
                ledger.remember(intent)
                try:
                    result = hook.submit(request)
                except NanoBananaSubmissionUnknownError:
                    raise  # the intent stays: the retry looks for the job instead of paying again
                except NanoBananaError:
                    ledger.forget()  # the vendor answered with a refusal: nothing was created
                    raise
                entry = {**intent, "job_id": result.job_id, "submitted_at": time.time()}
                ledger.remember(entry)
            context["ti"].xcom_push(key="job_id", value=result.job_id)
            if result.state is not JobState.PENDING or not self.wait_for_completion:
                return self._finish(context, result, entry, ledger, hook)
            if self.deferrable:
                self._defer(hook, result, entry)
            self.log.info("Waiting for %s job %s in this worker.", hook.vendor_label, result.job_id)
            deadline = entry["submitted_at"] + self.timeout - time.time()
            result = hook.wait_for_job(result.job_id, poll_interval=self.poll_interval, timeout=deadline)
            return self._finish(context, result, entry, ledger, hook)

    def _destination(self) -> Destination | None:
        from airflow_provider_nanobanana.validation import invalid

        if self.destination is not None and not self.wait_for_completion:
            raise invalid(
                self.destination_field,
                self.destination,
                "only with wait_for_completion=True; after a sensor, use NanoBananaImagesToS3Operator",
            )
        return self.landing_destination()

    def _dry_run(
        self,
        context: Context,
        hook: NanoBananaBaseHook,
        estimate: Estimate,
        cap: float | None,
        destination: Destination | None,
    ) -> dict[str, Any]:
        from airflow_provider_nanobanana.operators.dry_run import dry_run_result

        return dry_run_result(
            self.log,
            context,
            hook,
            conn_id=self.conn_id,
            estimate=estimate,
            cap=cap,
            destination=destination,
            image_counts=[estimate.images],
        )

    def _unfinished_entry(self, ledger: JobLedger) -> dict[str, Any] | None:
        """The ledger's entry, unless it records a finished try whose success Airflow recorded
        (the task was cleared after succeeding: a re-run, which submits anew)."""
        from airflow_provider_nanobanana.ledger.finished import FINISHED, is_rerun

        entry = ledger.recall()
        if entry and FINISHED in entry and is_rerun(ledger.store, entry[FINISHED], ledger.ti):
            self.log.info(
                "Try %d of this task instance succeeded and the task was cleared since: this try is "
                "a re-run and submits anew.",
                entry[FINISHED]["try"],
            )
            ledger.forget()
            return None
        return entry

    def _return_recorded(
        self, context: Context, entry: dict[str, Any], destination: Destination | None
    ) -> dict[str, Any]:
        """An earlier try finished this job and this try is not a re-run (ledger/finished.py):
        hand back what that try returned, paying for nothing."""
        from airflow_provider_nanobanana.ledger.finished import FINISHED, why_recorded_result

        summary = entry["summary"]
        self.log.info(
            "Try %d of this task instance finished %s job %s and %s, so this try returns its "
            "result and pays for nothing.",
            entry[FINISHED]["try"],
            summary["vendor"],
            summary["job_id"],
            why_recorded_result(entry[FINISHED]),
        )
        context["ti"].xcom_push(key="job_id", value=summary["job_id"])
        if destination is not None and summary.get("s3"):
            prefix = self.destination_template
            self.record_objects_landed(context, destination, summary["s3"], prefix, summary)
        self._log_paid(summary)
        return summary

    def forget_ledger(self, store: TaskInstanceStore) -> None:
        """Called once Airflow has recorded this task's success (ledger/finished.py)."""
        from airflow_provider_nanobanana.ledger.job import KEY

        store.delete(KEY)

    def confirm_ledger(self, store: TaskInstanceStore) -> None:
        """Called once Airflow has recorded the success of a resumed try (ledger/finished.py)."""
        from airflow_provider_nanobanana.ledger.finished import FINISHED, confirm
        from airflow_provider_nanobanana.ledger.job import KEY

        if (entry := store.get(KEY)) and FINISHED in entry:
            store.set(KEY, {**entry, FINISHED: confirm(entry[FINISHED])})

    def _reattach(
        self,
        hook: NanoBananaBaseHook,
        ledger: JobLedger,
        request: ImageJobRequest,
        entry: dict[str, Any] | None,
    ) -> tuple[dict[str, Any] | None, ImageJobResult | None]:
        """Find the job an earlier try of this task instance submitted, if it is still worth having."""
        from airflow_provider_nanobanana.exceptions import NanoBananaJobNotFoundError

        if not entry or entry.get("vendor") != hook.vendor.value:
            return None, None
        if entry.get("job_id") is None:
            return self._recover_lost_submission(hook, ledger, request, entry)
        try:
            result = hook.get_job(entry["job_id"])
        except NanoBananaJobNotFoundError as error:
            return self._unknown_recorded_job(hook, ledger, entry, error)
        if result.state is JobState.FAILED:
            self.log.warning(
                "Job %s from an earlier try failed (%s); submitting anew.",
                result.job_id,
                result.error_message,
            )
            return None, None
        self.log.info(
            "Reattaching to job %s submitted by an earlier try (%s).", result.job_id, result.state.value
        )
        return entry, result

    def _unknown_recorded_job(
        self, hook: NanoBananaBaseHook, ledger: JobLedger, entry: dict[str, Any], error: Exception
    ) -> tuple[None, None]:
        """The vendor accepted this job (its id is recorded) and now says it does not know it.

        Neither vendor documents what its status endpoint answers for an id it does not know, or
        whether an accepted job can be forgotten while it still runs and bills; so the answer is
        not proof the job is gone. The entry is kept and the task fails without retries, unless
        ``on_unknown_submission="resubmit"`` accepts the risk of paying twice.
        """
        from airflow_provider_nanobanana.exceptions import NanoBananaPossiblyBilledError

        if self._may_resubmit(ledger):
            self.log.warning(
                "Job %s from an earlier try is unknown to %s (%s); submitting anew.",
                entry["job_id"],
                hook.vendor_label,
                error,
            )
            return None, None
        raise NanoBananaPossiblyBilledError(
            f"{hook.vendor_label} accepted job {entry['job_id']} for an earlier try of this task and "
            f"now answers that it does not know it ({error}). It may still run and be billed, so "
            "this task does not submit again. Look for the job in the vendor's dashboard.\n"
            + self._how_to_resubmit(ledger)
        )

    def _may_resubmit(self, ledger: JobLedger) -> bool:
        """``on_unknown_submission="resubmit"``, or a person's consent for this task instance."""
        from airflow_provider_nanobanana.ledger.consent import take_consent

        if self.on_unknown_submission == "resubmit":
            self.log.warning("on_unknown_submission='resubmit': submitting anew (this may pay twice).")
            return True
        return take_consent(ledger.store.task_instance, self.log)

    @staticmethod
    def _how_to_resubmit(ledger: JobLedger) -> str:
        from airflow_provider_nanobanana.ledger.consent import how_to_consent

        return how_to_consent(ledger.store.task_instance)

    def _recover_lost_submission(
        self, hook: NanoBananaBaseHook, ledger: JobLedger, request: ImageJobRequest, entry: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, ImageJobResult | None]:
        """An earlier try sent the request and never heard back: find its job, or refuse to pay twice."""
        from datetime import datetime, timezone

        from airflow_provider_nanobanana.exceptions import NanoBananaPossiblyBilledError

        sent = datetime.fromtimestamp(entry["sent_at"], tz=timezone.utc).isoformat(timespec="seconds")
        try:
            if not hook.can_find_lost_submissions:
                raise NanoBananaPossiblyBilledError(
                    f"An earlier try of this task sent a {hook.vendor_label} generation request at "
                    f"{sent} and the answer was lost, so the job may exist and be billed. "
                    f"{hook.vendor_label} offers no way to find a job without its id, so this task does "
                    "not submit again. Look for a job submitted at that time in the vendor's dashboard.",
                    vendor=hook.vendor_label,
                )
            found = hook.find_lost_submission(request, sent_at=entry["sent_at"])
        except NanoBananaPossiblyBilledError as error:
            if self._may_resubmit(ledger):
                self.log.warning("%s Submitting again.", error)
                return None, None
            raise NanoBananaPossiblyBilledError(
                f"{error}\n{self._how_to_resubmit(ledger)}", vendor=error.vendor
            ) from None
        if found is None:
            self.log.info(
                "The %s request an earlier try sent at %s created no job; submitting it.",
                hook.vendor_label,
                sent,
            )
            return None, None
        entry = {**entry, "job_id": found.job_id, "submitted_at": entry["sent_at"]}
        ledger.remember(entry)
        self.log.info(
            "Reattaching to job %s, created by the request an earlier try sent at %s (%s).",
            found.job_id,
            sent,
            found.state.value,
        )
        return entry, found

    def _defer(self, hook: NanoBananaBaseHook, result: ImageJobResult, entry: dict[str, Any]) -> None:
        """Hand the wait to the triggerer; its first poll comes no sooner than
        :func:`~airflow_provider_nanobanana.polling.min_deferral` (a trigger that fires right after
        the task deferred meets Airflow's defer-exit race, which can make the task pay twice)."""
        from airflow_provider_nanobanana import polling
        from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

        end_time = entry["submitted_at"] + self.timeout
        eta = result.eta_seconds
        self.log.info(
            "Deferring: the triggerer waits for %s job %s%s, until %s at the latest.",
            hook.vendor_label,
            result.job_id,
            f" (vendor eta {eta:.0f} s)" if eta is not None else "",
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(end_time)),
        )
        self.defer(
            trigger=NanoBananaJobTrigger(
                vendor=hook.vendor.value,
                conn_id=self.conn_id,
                job_ids=[result.job_id],
                end_time=end_time,
                poll_interval=self.poll_interval,
                first_poll_at=time.time()
                + max(polling.min_deferral(), polling.delay_for_eta(eta) if eta else 0.0),
            ),
            method_name="execute_complete",
            kwargs={"entry": entry},
            timeout=timedelta(seconds=max(0.0, end_time - time.time()) + _DEFERRAL_GRACE),
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, entry: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from airflow_provider_nanobanana.events import results_from_event
        from airflow_provider_nanobanana.ledger.job import JobLedger

        ledger = JobLedger(context)
        entry = entry or ledger.recall() or {}
        (result,) = results_from_event(event)
        with self._hook() as hook:
            return self._finish(context, result, entry, ledger, hook)

    def _finish(
        self,
        context: Context,
        result: ImageJobResult,
        entry: dict[str, Any] | None,
        ledger: JobLedger,
        hook: NanoBananaBaseHook,
    ) -> dict[str, Any]:
        from airflow_provider_nanobanana.exceptions import NanoBananaJobFailedError
        from airflow_provider_nanobanana.polling import job_failed_error
        from airflow_provider_nanobanana.summary import check_delivery, summarize

        if result.state is JobState.FAILED:
            ledger.forget()  # a retry submits anew
            raise job_failed_error(result)
        summary = summarize(
            result,
            conn_id=self.conn_id,
            requested_count=self.count,
            submitted_at=(entry or {}).get("submitted_at"),
            prompt=self.prompt,
            price=hook.unit_price(self.job_request()),
        )
        if result.state is JobState.SUCCEEDED:
            try:
                check_delivery(summary, fail_on_partial=self.fail_on_partial)
            except NanoBananaJobFailedError:
                ledger.forget()  # a retry asks for a complete set
                raise
            self.log.info(
                "%s job %s succeeded: %d of %d images: %s",
                summary["vendor"],
                summary["job_id"],
                summary["delivered_count"],
                summary["requested_count"],
                ", ".join(summary["images"]),
            )
            if destination := self._destination():
                # If landing fails, the ledger keeps the job: the retry reattaches and lands again, unpaid.
                summary["s3"] = self.land_images(
                    context,
                    [summary],
                    destination,
                    prompt=self.prompt,
                    prefix_template=self.destination_template,
                    in_hand=[result],
                )
        ledger.finish(entry or {}, summary)
        self._log_paid(summary)
        return summary

    def _log_paid(self, summary: dict[str, Any]) -> None:
        """The task's last line: what the job cost, or for one left running, what it will."""
        from airflow_provider_nanobanana.spend.estimate import paid_line

        finished = summary["finished_at"] is not None
        images = summary["delivered_count" if finished else "requested_count"]
        # A summary an earlier version recorded has no cost: unknown.
        cost, basis = summary.get("cost_usd"), summary.get("cost_basis", "unknown")
        self.log.info(paid_line(cost, basis, images, finished=finished))

    def on_kill(self) -> None:
        self.log.info(
            "Task killed; the vendor keeps any submitted job (neither vendor offers a cancel endpoint)."
        )
