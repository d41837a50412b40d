"""Where every item of a batch stands: the ledger a batch keeps across tries and deferrals.

Each item moves through these states, and only along these arrows::

    queued ─intent─▶ sent ─job id─▶ running ─vendor done─▶ succeeded ─(s3_output)─▶ landed
                      │                  └─────────────────▶ failed
                      ├─ vendor refused, or out of the queue limit ─▶ refused / queued again
                      └─ answer lost ─▶ (retry) found: running · proven absent: queued · else possibly_billed

Items are sent in index order, so the ledger keeps a ``cursor``: items from it on were never sent
and have no record. ``sent`` is written for a whole wave of submissions before the first is sent,
and the job ids once the wave's answers are in, so a worker killed in between leaves ``sent``
items: the only state in which a job may exist without a recorded id. Where the vendor takes a
wave as one bulk job (a Gemini batch), the intent also records the bulk job's ``display_name``
(how a lost creation is found), and each running item its ``batch`` (what is polled) beside its
own job id. A new try turns ``failed`` (the vendor's job failed) and ``not_submitted`` back into
queued ones, ``timed_out`` back into running ones (the job is paid and may still finish), and
leaves ``refused``, ``possibly_billed``, ``succeeded`` and ``landed`` as they are.

Money is kept beside: an item sent holds its estimated cost (``estimate_usd``) until it ends with
what it cost (``cost_usd``, with its basis). The head sums both (``reserved_usd`` for items that
may still bill, ``paid_usd`` for those that did), so a cap is checked without reading every page;
what a ``possibly_billed`` or ``timed_out`` item may cost stays reserved across tries.

The ledger is a small *head* (this object's fields: counts, the cursor, which pages are open) and
the item records in :class:`~airflow_provider_nanobanana.batch.pages.PagedRecords`. A step reads
the head and the open pages and writes what it changed, so no stored value and no write grows
with the batch. Pages are written before the head: a record at or beyond the head's cursor is
one whose wave was never sent (the worker died between the two writes) and is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.batch.pages import PagedRecords
from airflow_provider_nanobanana.ledger.finished import FINISHED
from airflow_provider_nanobanana.ledger.store import TaskInstanceStore

QUEUED, SENT, RUNNING, SUCCEEDED, LANDED = "queued", "sent", "running", "succeeded", "landed"
FAILED, REFUSED, TIMED_OUT, NOT_SUBMITTED, POSSIBLY_BILLED = (
    "failed",
    "refused",
    "timed_out",
    "not_submitted",
    "possibly_billed",
)
FAILURES = (FAILED, REFUSED, TIMED_OUT, NOT_SUBMITTED, POSSIBLY_BILLED)
# Why items ended not_submitted: what ``unsent`` holds, and what each item's record says.
DEADLINE, BUDGET = "deadline", "budget"
UNSENT_BECAUSE = {
    DEADLINE: "not submitted before the deadline",
    BUDGET: "not submitted: sending it would have taken the spend past max_cost_usd",
}
# The states in which an item's job may (still) bill: its estimate is held against the cap.
_RESERVING = frozenset({SENT, RUNNING, TIMED_OUT, POSSIBLY_BILLED})
# What a new try makes of an item that ended its last try in this state.
_ON_RETRY = {FAILED: QUEUED, NOT_SUBMITTED: QUEUED, TIMED_OUT: RUNNING}
# The failures a retry can fix: it sends those items again, or reattaches to their jobs.
RETRIED = frozenset(_ON_RETRY)
HEAD = "nanobanana_batch"
# Vendors' error texts are kept per item; a page must not grow with a vendor's prose.
_MAX_ERROR = 500
_HEAD_FIELDS = (
    "fingerprint",
    "vendor",
    "size",
    "lands",
    "try_number",
    "deadline",
    "started_at",
    "link",
    "cursor",
    "unsent",
    "tally",
    "landed_bytes",
    "ended",
    "paid_usd",
    "reserved_usd",
)


# What a record says only about its last try: a new try drops it.
_TRY_NOTES = ("error", "last_error", "reason")


def _reserved(record: dict[str, Any]) -> float:
    return record.get("estimate_usd", 0.0) if record["state"] in _RESERVING else 0.0


def _unsent_text(reason: str) -> str:
    return UNSENT_BECAUSE.get(reason, reason)  # a ledger from before reasons held the text itself


class BatchState:
    """The ledger of one batch task instance.

    :param lands: items land in S3, so a succeeded item is not done until it has landed.
    """

    def __init__(
        self, store: TaskInstanceStore, fingerprint: str, vendor: str, size: int, *, lands: bool
    ) -> None:
        self.store = store
        self.fingerprint, self.vendor, self.size, self.lands = fingerprint, vendor, size, lands
        self.try_number = 0
        self.deadline = 0.0
        self.started_at = time.time()  # this try's start, for the eta
        self.link: str | None = None  # where a person looks at the first landed image
        self.cursor = 0
        self.unsent: str | None = None  # why items from the cursor on ended not_submitted (DEADLINE, BUDGET)
        self.tally: dict[str, int] = {}  # items in a final state, by state
        self.landed_bytes = 0
        self.ended = 0  # items that reached a final state in this try
        self.paid_usd = 0.0  # what items that ended cost, over every try
        self.reserved_usd = 0.0  # the estimates of items whose jobs may still bill
        self.finished: dict[str, Any] | None = None
        self.records = PagedRecords(store, HEAD)
        self._saved_head: dict[str, Any] | None = None

    @classmethod
    def load(cls, store: TaskInstanceStore, *, expected: bool) -> BatchState | None:
        """The ledger an earlier try or step left, or None; ``expected``: look twice for it."""
        head = store.get(HEAD, expected=expected)
        if head is None:
            return None
        state = cls(store, head["fingerprint"], head["vendor"], head["size"], lands=head["lands"])
        for name in _HEAD_FIELDS[4:]:
            setattr(state, name, head.get(name, 0.0))  # a ledger from before costs has no sums
        state.finished = head.get(FINISHED)
        state.records = PagedRecords(store, HEAD, state.cursor, head["splits"], head["open_pages"])
        state._saved_head = state.head()
        return state

    def head(self) -> dict[str, Any]:
        """The head as stored: a copy, so that a later change shows against what was saved."""
        head = {name: getattr(self, name) for name in _HEAD_FIELDS} | {"tally": dict(self.tally)}
        head |= {"splits": list(self.records.splits), "open_pages": sorted(self.records.open_pages)}
        return head | ({FINISHED: self.finished} if self.finished else {})

    def save(self) -> None:
        """Write the changed pages, then the head if it changed."""
        self.records.flush(self._is_open)
        head = self.head()
        if head != self._saved_head:
            self.store.set(HEAD, head)
            self._saved_head = head

    def forget(self) -> None:
        """Delete every page, then the head (the head goes last: while it exists, it is the ledger)."""
        self.records.delete_all()
        self.store.delete(HEAD)

    # -- reading ------------------------------------------------------------------------------

    def record(self, index: int) -> dict[str, Any]:
        found = self.records.get(index) if index < self.cursor else None
        if found is not None:
            return found
        if self.unsent:
            return {"state": NOT_SUBMITTED, "reason": self.unsent, "error": _unsent_text(self.unsent)}
        return {"state": QUEUED}

    def state_of(self, index: int) -> str:
        return self.record(index)["state"]

    def open_indexes(self, *states: str) -> list[int]:
        """Items in one of ``states`` among those not final (the only ones a step holds)."""
        return [index for index, record in self.records.open_records() if record["state"] in states]

    def every_record(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every item in order with its record, a page at a time (the manifest's reading)."""
        records = self.records.all_records()
        pending = next(records, None)
        for index in range(self.size):
            if pending is not None and pending[0] == index:
                yield pending
                pending = next(records, None)
            else:
                yield index, self.record(index)

    def sendable(self, now: float, limit: int) -> list[int]:
        """Up to ``limit`` items that may be sent now: queued ones whose vendor-imposed wait (a
        429's Retry-After) is over, then never-sent ones, in order."""
        held = [
            index
            for index, record in self.records.open_records()
            if record["state"] == QUEUED and record.get("not_before", 0.0) <= now
        ]
        fresh = range(self.cursor, self.size) if self.unsent is None else range(0)
        return [*held, *fresh[: max(0, limit - len(held))]][:limit]

    def next_wake(self) -> float | None:
        """When the first held-back queued item may be sent."""
        held = (record for _, record in self.records.open_records() if record["state"] == QUEUED)
        return min((wait for record in held if (wait := record.get("not_before"))), default=None)

    def polled(self) -> dict[str, list[int]]:
        """What the wait polls → the running items it reports on: each item's job, or the bulk
        job (``batch``) that holds it."""
        polled: dict[str, list[int]] = {}
        for index, record in self.records.open_records():
            if record["state"] == RUNNING:
                polled.setdefault(record.get("batch") or record["job_id"], []).append(index)
        return polled

    def count(self, *states: str) -> int:
        """Items in a final state among ``states``."""
        unsent = self.size - self.cursor if self.unsent and NOT_SUBMITTED in states else 0
        return sum(self.tally.get(state, 0) for state in states) + unsent

    def all_done(self) -> bool:
        return (self.cursor == self.size or self.unsent is not None) and not any(
            self._is_open(record) for _, record in self.records.open_records()
        )

    # -- transitions ---------------------------------------------------------------------------

    def _is_final(self, state: str) -> bool:
        return state in FAILURES or state == LANDED or (state == SUCCEEDED and not self.lands)

    def _is_open(self, record: dict[str, Any]) -> bool:
        return not self._is_final(record["state"])

    def _put(self, index: int, record: dict[str, Any]) -> None:
        earlier = self.record(index) if index < self.cursor else {"state": QUEUED}
        before = earlier["state"]
        if self._is_final(before):
            self.tally[before] -= 1
        if self._is_final(record["state"]):
            self.tally[record["state"]] = self.tally.get(record["state"], 0) + 1
            self.ended += not self._is_final(before)
        if record["state"] not in _RESERVING:
            record.pop("estimate_usd", None)
        self.paid_usd += record.get("cost_usd", 0.0) - earlier.get("cost_usd", 0.0)
        self.reserved_usd += _reserved(record) - _reserved(earlier)
        self.records.put(index, record, is_open=self._is_open(record))
        self.cursor = max(self.cursor, index + 1)

    def begin_try(self, try_number: int, deadline: float) -> None:
        """A new try: give its items the second chance :data:`_ON_RETRY` allows, a deadline, and
        counts read afresh from every page (a worker lost between a page and the head leaves the
        head's counts behind)."""
        if try_number == self.try_number:
            return
        self.try_number, self.deadline = try_number, deadline
        self.started_at, self.ended, self.unsent, self.tally = time.time(), 0, None, {}
        self.paid_usd = self.reserved_usd = 0.0
        for index, record in self.records.all_records():
            if (state := _ON_RETRY.get(record["state"])) is not None:
                record = {name: value for name, value in record.items() if name not in _TRY_NOTES}
                record["state"] = state
                if state == QUEUED:
                    for name in ("job_id", "batch", "display_name", "estimate_usd"):
                        record.pop(name, None)
                self.records.put(index, record, is_open=True)
            elif self._is_final(record["state"]):
                self.tally[record["state"]] = self.tally.get(record["state"], 0) + 1
            self.paid_usd += record.get("cost_usd", 0.0)
            self.reserved_usd += _reserved(record)

    def intend(
        self,
        indexes: Iterable[int],
        now: float,
        display_name: str | None = None,
        estimates: Mapping[int, float | None] | None = None,
    ) -> None:
        """Items about to be sent, each with what it is estimated to cost, where known."""
        for index in indexes:
            record: dict[str, Any] = {"state": SENT, "sent_at": now}
            if display_name:
                record["display_name"] = display_name
            if estimate := (estimates or {}).get(index):
                record["estimate_usd"] = round(estimate, 6)
            self._put(index, record)

    def submitted(self, index: int, job_id: str, batch: str | None = None) -> None:
        record = {**self.record(index), "state": RUNNING, "job_id": job_id}
        self._put(index, record | ({"batch": batch} if batch is not None else {}))

    def requeue(self, index: int, not_before: float, reason: str) -> None:
        """The vendor cannot have accepted it (429, explicit error): send it again later."""
        self._put(index, {"state": QUEUED, "not_before": not_before, "last_error": reason[:_MAX_ERROR]})

    def release_holds(self) -> None:
        """Queued items held back by a full vendor queue may go now."""
        for index in self.open_indexes(QUEUED):
            record = self.record(index)
            if "not_before" in record:
                self._put(index, {name: value for name, value in record.items() if name != "not_before"})

    def end(self, index: int, state: str, error: str | None = None, **details: Any) -> None:
        """Put an item in a later state of this try, keeping its job id."""
        record = {**self.record(index), "state": state, **details}
        record.pop("not_before", None)
        if error is not None:
            record["error"] = error[:_MAX_ERROR]
        self._put(index, record)

    def landed(self, index: int, objects: list[dict[str, Any]]) -> None:
        record = {name: value for name, value in self.record(index).items() if name != "images"}
        self._put(index, {**record, "state": LANDED, "objects": objects})
        self.landed_bytes += sum(obj["size"] for obj in objects)

    def time_out(self) -> None:
        """The try's deadline passed: running jobs stay paid and are reattached by a retry; what
        was never sent is not_submitted."""
        for index in self.open_indexes(RUNNING):
            self.end(index, TIMED_OUT, "still running at the deadline; a retry reattaches")
        self.stop_sending(DEADLINE)

    def stop_sending(self, reason: str) -> int:
        """Send nothing more in this try: every item not sent yet ends not_submitted, ``reason``
        (:data:`DEADLINE` or :data:`BUDGET`) saying why; return how many. A retry sends them."""
        held = self.open_indexes(QUEUED)
        for index in held:
            self.end(index, NOT_SUBMITTED, UNSENT_BECAUSE[reason], reason=reason)
        if self.cursor < self.size:
            self.unsent = reason
        return len(held) + self.size - self.cursor

    # -- telling a person --------------------------------------------------------------------

    def resume_line(self, earlier_try: int) -> str:
        """What a new try takes over, right after :meth:`begin_try`: ``Try 2 resumes what try 1
        left: 10 landed, 5 jobs to reattach, 1 lost answer to look for, 14 to send.``"""
        parts = [f"{self.count(LANDED, SUCCEEDED)} {'landed' if self.lands else 'succeeded'}"]
        if reattach := len(self.open_indexes(RUNNING)):
            parts.append(f"{wording.plural(reattach, 'job')} to reattach")
        if lost := len(self.open_indexes(SENT)):
            parts.append(f"{wording.plural(lost, 'lost answer')} to look for")
        parts.append(f"{len(self.open_indexes(QUEUED)) + self.size - self.cursor} to send")
        if ended := self.count(*FAILURES):
            parts.append(f"{ended} ended for good ({', '.join(sorted(self.tally.keys() & set(FAILURES)))})")
        return f"Try {self.try_number} resumes what try {earlier_try} left: {', '.join(parts)}."

    def progress_line(self, now: float) -> str:
        """``312/1000 done, 10 in flight, 3 failed, 2.1 GiB landed, eta 14 min``."""
        done = sum(self.tally.values()) + (self.size - self.cursor if self.unsent else 0)
        in_flight = len(self.open_indexes(SENT, RUNNING))
        line = f"{done}/{self.size} done, {in_flight} in flight, {self.count(*FAILURES)} failed"
        if self.landed_bytes:
            line += f", {wording.size(self.landed_bytes)} landed"
        if self.paid_usd:
            line += f", {wording.usd(self.paid_usd)} paid"
        if done < self.size and self.ended:
            rate = self.ended / max(now - self.started_at, 1e-6)
            line += f", eta {wording.duration((self.size - done) / rate)}"
        return line
