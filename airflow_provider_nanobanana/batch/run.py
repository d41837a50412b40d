"""One step of a batch task on a worker: take in finished jobs, land them, submit the next wave.

A step runs when the task starts (each try) and each time the trigger wakes it. It never waits for
a job itself; it leaves the ledger saved and says which jobs to wait for next, or that the batch
is done. Submissions go out in waves of at most the free in-flight slots: the wave's intents are
saved before its first request and its job ids once all its answers are in, the requests
themselves concurrently, so the window in which a killed worker leaves jobs without ids is one
request long (:mod:`~airflow_provider_nanobanana.batch.state` says what a retry makes of them).
With ``max_cost_usd``, a wave takes only the items whose estimates fit under the cap beside what
is paid and what jobs still running may bill; once nothing fits and nothing runs that could
leave room, the rest end ``not_submitted`` for the budget.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.batch.state import (
    BUDGET,
    FAILED,
    POSSIBLY_BILLED,
    REFUSED,
    RUNNING,
    SENT,
    SUCCEEDED,
    BatchState,
)
from airflow_provider_nanobanana.exceptions import (
    NanoBananaContentPolicyError,
    NanoBananaError,
    NanoBananaInvalidRequestError,
    NanoBananaPossiblyBilledError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
    NanoBananaSubmissionUnknownError,
)
from airflow_provider_nanobanana.hooks.base import NanoBananaBaseHook
from airflow_provider_nanobanana.jobs import ImageJobRequest, ImageJobResult, JobState
from airflow_provider_nanobanana.polling import TRANSIENT_POLL_ERRORS, job_failed_error
from airflow_provider_nanobanana.spend.estimate import EPSILON, Estimate
from airflow_provider_nanobanana.spend.prices import Price
from airflow_provider_nanobanana.summary import summarize
from airflow_provider_nanobanana.validation import is_stored

# How long an item the vendor turned away without accepting it (429 without Retry-After, 5xx)
# waits before it is sent again.
REQUEUE_DELAY = 30.0
# A step runs each time jobs end, which in a worker can be every poll: the progress line is
# logged at most this often (and when the batch is done), so a long batch logs a few lines a minute.
PROGRESS_EVERY = 30.0


@dataclasses.dataclass
class BatchSettings:
    """What the operator decided; the same for every step of a try."""

    conn_id: str
    max_in_flight: int
    fail_on_partial: bool
    on_unknown_submission: str
    aws_conn_id: str | None
    max_cost_usd: float | None = None


class BatchRun:
    """A step's view of the batch: the requests, their state (saved to the ledger by
    :meth:`save`), the hook and where images land.

    :param land: lands job summaries in the destination (with the results whose inline images are in hand)
        and returns one record per object, or None without ``s3_output``.
    """

    def __init__(
        self,
        requests: Sequence[ImageJobRequest],
        state: BatchState,
        hook: NanoBananaBaseHook,
        settings: BatchSettings,
        *,
        land: Callable[..., list[dict[str, Any]]] | None,
        log: logging.Logger,
    ) -> None:
        self.requests, self.state, self.hook, self.settings = requests, state, hook, settings
        self.land, self.log = land, log
        self._progress_logged_at = 0.0

    def save(self) -> None:
        self.state.save()

    # -- a step ------------------------------------------------------------------------------

    def advance(self, finished: Iterable[ImageJobResult] = (), missing: Iterable[str] = ()) -> bool:
        """Take in what the wait reported, land, submit; return True once every item is done."""
        self.take_results(finished, missing)
        self.land_succeeded()
        while (ended_at_once := self.submit_wave()) is not None:
            self.take_results(ended_at_once, ())
            self.land_succeeded()
        self.save()
        done = self.state.all_done()
        if done or time.monotonic() - self._progress_logged_at >= PROGRESS_EVERY:
            self._progress_logged_at = time.monotonic()
            self.log.info("Batch: %s.", self.state.progress_line(time.time()))
        return done

    def poll(self) -> tuple[list[ImageJobResult], list[str]]:
        """Ask the vendor once about every job in flight: the ones that ended, and the ids it
        does not know. A poll that fails for a transient reason reports nothing."""
        job_ids = self.waiting_for()
        try:
            found = self.hook.get_jobs(job_ids)
        except TRANSIENT_POLL_ERRORS as error:
            self.log.warning("Polling %d jobs failed (%s); polling on.", len(job_ids), error)
            return [], []
        finished = [result for result in found.values() if result.state.is_terminal]
        return finished, [job_id for job_id in job_ids if job_id not in found]

    def take_results(self, finished: Iterable[ImageJobResult], missing: Iterable[str]) -> None:
        polled = self.state.polled()
        finished = list(finished)
        if finished:
            self.state.release_holds()  # our finished jobs left room in the vendor's queue
        for result in finished:
            indexes = polled.get(result.job_id)
            if indexes is None:
                continue  # a trigger that ran twice reports a job a step already took in
            if "batch" in self.state.record(indexes[0]):
                self._take_bulk(result, indexes)
            else:
                self._take_job(indexes[0], result)
        for job_id in missing:
            for index in polled.get(job_id, ()):
                self._unknown_recorded_job(index, job_id)

    def _take_job(self, index: int, result: ImageJobResult) -> None:
        if result.state is JobState.FAILED:
            self.state.end(index, FAILED, str(job_failed_error(result)))
            return
        request = self.requests[index]
        summary = summarize(
            result,
            conn_id=self.settings.conn_id,
            requested_count=request.count,
            submitted_at=self.state.record(index).get("sent_at"),
            prompt=request.prompt,
            price=self.price(index),
        )
        cost = {"cost_basis": summary["cost_basis"]}
        if summary["cost_usd"] is not None:
            cost["cost_usd"] = summary["cost_usd"]
        short = summary["requested_count"] - summary["delivered_count"]
        if short > 0 and self.settings.fail_on_partial:
            message = f"delivered {summary['delivered_count']} of {summary['requested_count']} images"
            self.state.end(index, FAILED, message, **cost)  # the images delivered are billed
            return
        self.state.end(index, SUCCEEDED, images=summary["images"], seed=summary["seed"], **cost)

    def _take_bulk(self, bulk: ImageJobResult, indexes: list[int]) -> None:
        """A bulk job ended: read its results as they stream and land each item as it arrives
        (its images exist only in the results, so they are landed while in hand)."""
        label = self.hook.vendor_label
        if bulk.state is JobState.FAILED:
            for index in indexes:
                self.state.end(index, FAILED, f"{label} {bulk.job_id}: {bulk.error_message}")
            return
        members = {str(index): index for index in indexes}

        def take(key: str, outcome: ImageJobResult | NanoBananaError) -> None:
            index = members.pop(key, None)
            if index is None:
                return  # not an item of this step, or a line read twice
            if isinstance(outcome, NanoBananaError):  # its line failed, or its answer was blocked
                # A server-side failure may pass in another bulk job: the retry sends only those.
                retried = isinstance(outcome, TRANSIENT_POLL_ERRORS)
                self.state.end(index, FAILED if retried else REFUSED, self.hook.scrub(str(outcome)))
                return
            self._take_job(index, outcome)
            if self.state.state_of(index) == SUCCEEDED:
                self._land([index], in_hand=[outcome])

        answers = self.hook.read_bulk_results(bulk, list(members), take)
        for index in members.values():
            self.state.end(index, FAILED, f"{label} {bulk.job_id}: no answer for this item in its results")
        self.log.info(
            "%s %s (%s): read %s.",
            label,
            bulk.job_id,
            bulk.metadata.get("batch_state"),
            wording.plural(answers, "answer"),
        )

    def time_out(self) -> None:
        """The try's deadline passed: see :meth:`BatchState.time_out`."""
        self.state.time_out()
        self.save()

    # -- landing -----------------------------------------------------------------------------

    def land_succeeded(self) -> None:
        """Land every succeeded item not landed yet (all of them, or raise)."""
        self._land(self.state.open_indexes(SUCCEEDED))

    def _land(self, indexes: list[int], in_hand: Sequence[ImageJobResult] = ()) -> None:
        if self.land is None or not indexes:
            return
        jobs = [self._summary(index) for index in indexes]
        records = self.land(jobs, in_hand)
        by_job: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_job.setdefault(record["job_id"], []).append(record)
        for index in indexes:
            objects = by_job.get(self.state.record(index)["job_id"], [])
            kept = [
                {name: obj[name] for name in ("key", "size", "sha256", "content_type")} for obj in objects
            ]
            self.state.landed(index, kept)
        if records and self.state.link is None:
            self.state.link = records[0].get("link")
        # Saved with the next wave's intents or at the end of the step: a worker lost before
        # then leaves these items succeeded, and the retry lands them again (same keys, unpaid).

    def _summary(self, index: int) -> dict[str, Any]:
        record = self.state.record(index)
        return {
            "vendor": self.state.vendor,
            "conn_id": self.settings.conn_id,
            "job_id": record["job_id"],
            "state": JobState.SUCCEEDED.value,
            "images": record["images"],
            "seed": record.get("seed"),
            "prompt_sha256": hashlib.sha256(self.requests[index].prompt.encode()).hexdigest(),
        }

    # -- submitting --------------------------------------------------------------------------

    def settle_lost_submissions(self) -> None:
        """At the start of a try: the items an earlier try sent without recording a job id."""
        bulks: dict[str, list[int]] = {}
        for index in self.state.open_indexes(SENT):
            if (display_name := self.state.record(index).get("display_name")) is not None:
                bulks.setdefault(display_name, []).append(index)
            else:
                self._settle_lost_job(index)
        for display_name, indexes in bulks.items():
            self._settle_lost_bulk(display_name, indexes)
        self.save()

    def _settle_lost_job(self, index: int) -> None:
        sent_at = self.state.record(index)["sent_at"]
        sent = wording.utc(sent_at)
        if self.settings.on_unknown_submission == "resubmit":
            self.log.warning("Item %d: sent at %s, answer lost; resubmitting as asked.", index, sent)
            self.state.requeue(index, 0.0, "answer lost; resubmitted (on_unknown_submission)")
            return
        if not self.hook.can_find_lost_submissions:
            self.state.end(
                index,
                POSSIBLY_BILLED,
                f"sent to {self.hook.vendor_label} at {sent} and the answer was lost; the job "
                "may exist and be billed, and the vendor offers no way to find it, so it was "
                "not sent again",
            )
            return
        try:
            found = self.hook.find_lost_submission(self.requests[index], sent_at=sent_at)
        except NanoBananaPossiblyBilledError as error:  # e.g. two identical requests at that time
            self.state.end(index, POSSIBLY_BILLED, f"{error} It was not sent again.")
            return
        if found is None:
            self.log.info("Item %d: the request sent at %s created no job; sending it.", index, sent)
            self.state.requeue(index, 0.0, "an earlier request created no job")
        else:
            self.log.info("Item %d: reattaching to job %s, created at %s.", index, found.job_id, sent)
            self.state.submitted(index, found.job_id)

    def _settle_lost_bulk(self, display_name: str, indexes: list[int]) -> None:
        """A bulk job's creation lost its answer: find it by the name the intent recorded."""
        sent_at = self.state.record(indexes[0])["sent_at"]
        sent = wording.utc(sent_at)
        if self.settings.on_unknown_submission == "resubmit":
            self.log.warning("%s: sent at %s, answer lost; resubmitting as asked.", _items(indexes), sent)
            for index in indexes:
                self.state.requeue(index, 0.0, "answer lost; resubmitted (on_unknown_submission)")
            return
        try:
            found = self.hook.find_bulk(display_name, sent_at=sent_at)
        except NanoBananaPossiblyBilledError as error:  # e.g. two batches of that name
            for index in indexes:
                self.state.end(index, POSSIBLY_BILLED, f"{error} They were not sent again.")
            return
        if found is None:
            self.log.info(
                "%s: the request sent at %s created no %r; sending them.", _items(indexes), sent, display_name
            )
            for index in indexes:
                self.state.requeue(index, 0.0, "an earlier request created no batch")
            return
        self.log.info("%s: reattaching to %s, created at %s.", _items(indexes), found.job_id, sent)
        for index in indexes:
            self.state.submitted(index, self.hook.bulk_item_id(found.job_id, str(index)), batch=found.job_id)

    def submit_wave(self) -> list[ImageJobResult] | None:
        """Send the next items into the free slots; return the jobs that finished at once, or None
        when there was nothing to send (no free slot, no item that may go now, or none the
        budget allows)."""
        in_flight = len(self.state.open_indexes(SENT, RUNNING))
        wave = self.state.sendable(time.time(), max(0, self.settings.max_in_flight - in_flight))
        wave = self._within_budget(wave, in_flight) if wave else wave
        if not wave:
            return None
        requests = {index: self._resolved(index) for index in wave}
        wave = [index for index, request in requests.items() if request is not None]
        if not wave:
            return []
        if self.hook.submits_in_bulk:
            self._submit_bulk(wave, requests)
            return []
        self.state.intend(wave, time.time(), estimates=self._estimates(wave))
        self.save()
        with ThreadPoolExecutor(max_workers=len(wave), thread_name_prefix="nanobanana-submit") as pool:
            outcomes = list(
                zip(wave, pool.map(self._submit, (requests[index] for index in wave)), strict=True)
            )
        finished, fatal = [], None
        for index, outcome in outcomes:
            if isinstance(outcome, ImageJobResult):
                self.state.submitted(index, outcome.job_id)
                if outcome.state.is_terminal:
                    finished.append(outcome)
            else:
                fatal = self._refused([index], outcome) or fatal
        sent = sum(isinstance(outcome, ImageJobResult) for _, outcome in outcomes)
        line = f"Submitted {wording.plural(sent, 'job')} to {self.hook.vendor_label}."
        self._after_wave(fatal, line, logging.DEBUG)  # the progress line tells the rest
        return finished

    def _submit_bulk(self, wave: list[int], requests: dict[int, ImageJobRequest | None]) -> None:
        """The whole wave as one bulk job (a Gemini batch): its intent names it, so a creation
        whose answer is lost is found again instead of being created twice."""
        now = time.time()
        display_name = f"nanobanana-{self.state.fingerprint[:12]}-{int(now)}-{wave[0]}"
        self.state.intend(wave, now, display_name=display_name, estimates=self._estimates(wave))
        self.save()
        try:
            bulk = self.hook.submit_bulk([(str(index), requests[index]) for index in wave], display_name)
        except NanoBananaError as error:
            self._after_wave(self._refused(wave, error), f"{_items(wave)}: not submitted.")
            return
        for index in wave:
            self.state.submitted(index, self.hook.bulk_item_id(bulk.job_id, str(index)), batch=bulk.job_id)
        label = self.hook.vendor_label
        self._after_wave(None, f"Submitted {_items(wave).lower()} to {label} as {bulk.job_id}.")

    def _after_wave(self, fatal: NanoBananaError | None, line: str, level: int = logging.INFO) -> None:
        if self.state.open_indexes(SENT):
            self.settle_lost_submissions()  # answers lost on the way: find those jobs now
        self.save()
        self.log.log(level, line)
        if fatal is not None:
            raise fatal

    # -- money -------------------------------------------------------------------------------

    def price(self, index: int) -> Price:
        return item_price(self.hook, self.requests[index])

    def estimate(self, index: int) -> float | None:
        """What item ``index`` will cost if every image it asks for is delivered."""
        usd = self.price(index).usd
        return None if usd is None else usd * self.requests[index].image_count

    def _estimates(self, wave: list[int]) -> dict[int, float | None]:
        return {index: self.estimate(index) for index in wave}

    def _within_budget(self, wave: list[int], in_flight: int) -> list[int]:
        """The first items of ``wave`` that fit under ``max_cost_usd`` beside what was paid and
        what jobs that may still bill are estimated at. When none fits and no job runs whose
        end could leave room, nothing more is sent in this try (:meth:`BatchState.stop_sending`)."""
        cap = self.settings.max_cost_usd
        if cap is None:
            return wave
        room = cap - self.state.paid_usd - self.state.reserved_usd + EPSILON
        fits: list[int] = []
        for index in wave:
            cost = self.estimate(index) or 0.0
            if cost > room:
                break
            room -= cost
            fits.append(index)
        if not fits and not in_flight:
            next_cost = self.estimate(wave[0]) or 0.0
            unsent = self.state.stop_sending(BUDGET)
            self.log.warning(
                "max_cost_usd=%s: %s paid and %s may still bill, and the next item would cost %s; "
                "the %s not sent end not_submitted (budget).",
                wording.usd(cap),
                wording.usd(self.state.paid_usd),
                wording.usd(self.state.reserved_usd),
                wording.usd(next_cost),
                wording.plural(unsent, "item"),
            )
        return fits

    def _resolved(self, index: int) -> ImageJobRequest | None:
        """Stored inputs (``s3://``, ``gs://``, ...) become data URIs or signed URLs at send time
        (signed URLs expire); an item whose inputs cannot be read is refused, unpaid."""
        request = self.requests[index]
        if not any(is_stored(image) for image in request.images):
            return request
        from airflow_provider_nanobanana.stores.inputs import resolve_stored_inputs

        try:
            images = resolve_stored_inputs(
                request.images,
                inline_limit=self.hook.inline_image_limit,
                aws_conn_id=self.settings.aws_conn_id,
                log=self.log,
            )
            resolved = dataclasses.replace(request, images=images)
            self.hook.validate(resolved)
        except NanoBananaInvalidRequestError as error:
            self.state.end(index, REFUSED, f"input images: {error}")
            return None
        return resolved

    def _submit(self, request: ImageJobRequest) -> ImageJobResult | NanoBananaError:
        try:
            return self.hook.submit(request)
        except NanoBananaError as error:
            return error

    def _refused(self, indexes: list[int], error: NanoBananaError) -> NanoBananaError | None:
        """File items whose submission the vendor did not take (one job each, or one bulk job);
        return the error if it stops the whole batch."""
        reason, items = self.hook.scrub(str(error)), _items(indexes)
        if isinstance(error, NanoBananaSubmissionUnknownError):
            self.log.warning("%s: %s", items, reason)  # stays sent, settled after the wave
            return None
        if isinstance(error, NanoBananaRateLimitError | NanoBananaServerError):
            wait = error.retry_after if isinstance(error, NanoBananaRateLimitError) else None
            for index in indexes:
                self.state.requeue(index, time.time() + (wait or REQUEUE_DELAY), reason)
            self.log.info("%s: %s; sending again later.", items, reason)
            return None
        if isinstance(error, NanoBananaContentPolicyError | NanoBananaInvalidRequestError):
            for index in indexes:
                self.state.end(index, REFUSED, reason)
            self.log.warning("%s refused by %s: %s", items, self.hook.vendor_label, reason)
            return None
        for index in indexes:
            self.state.requeue(index, 0.0, reason)  # auth, quota: nothing was created; the task fails
        return error

    def _unknown_recorded_job(self, index: int, job_id: str) -> None:
        """The vendor accepted this job and now says it does not know it (see the job operator)."""
        if self.settings.on_unknown_submission == "resubmit":
            self.state.requeue(index, 0.0, f"{self.hook.vendor_label} does not know job {job_id}")
            return
        self.state.end(
            index,
            POSSIBLY_BILLED,
            f"{self.hook.vendor_label} accepted job {job_id} and now says it does not know it; "
            "it may still run and be billed, so it was not sent again",
        )

    # -- what the wait needs -------------------------------------------------------------------

    def waiting_for(self) -> list[str]:
        """The ids the wait polls: each running item's job, or the bulk job holding it."""
        return list(self.state.polled())

    def wake_at(self) -> float | None:
        """When held-back items may be sent, if there is room for them by then."""
        if len(self.state.open_indexes(RUNNING)) >= self.settings.max_in_flight:
            return None
        return self.state.next_wake()


def item_price(hook: NanoBananaBaseHook, request: ImageJobRequest) -> Price:
    """One image of a batch item, as the vendor bills it (in a bulk job, at its discount)."""
    return hook.unit_price(request, batch=hook.submits_in_bulk)


def estimate_items(
    hook: NanoBananaBaseHook, requests: Sequence[ImageJobRequest], indexes: Iterable[int], room: float | None
) -> tuple[Estimate, int]:
    """The estimate for items ``indexes``, and how many of them, in order, fit in ``room`` dollars."""
    estimate, fit, full = Estimate(), 0, room is None
    for index in indexes:
        request = requests[index]
        cost = estimate.add(item_price(hook, request), request.image_count)
        if not full and room is not None and cost is not None and cost <= room + EPSILON:
            room -= cost
            fit += 1
        else:
            full = True
    return estimate, fit


def _items(indexes: list[int]) -> str:
    """``Item 3``, or ``Items 0-19 (20)`` for a bulk job's wave."""
    if len(indexes) == 1:
        return f"Item {indexes[0]}"
    return f"Items {indexes[0]}-{indexes[-1]} ({len(indexes)})"
