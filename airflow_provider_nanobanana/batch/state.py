"""Where every item of a batch stands: the document its ledger keeps across tries and deferrals.

Each item moves through these states, and only along these arrows::

    queued ─intent─▶ sent ─job id─▶ running ─vendor done─▶ succeeded ─(s3_output)─▶ landed
                      │                  └─────────────────▶ failed
                      ├─ vendor refused, or out of the queue limit ─▶ refused / queued again
                      └─ answer lost ─▶ (retry) found: running · proven absent: queued · else possibly_billed

An item the ledger does not list is queued. ``sent`` is written for a whole wave of submissions
before the first is sent, and the job ids once the wave's answers are in, so a worker killed in
between leaves ``sent`` items: the only state in which a job may exist without a recorded id.
Where the vendor takes a wave as one bulk job (a Gemini batch), the intent also records the
bulk job's ``display_name`` (how a lost creation is found), and each running item its ``batch``
(what is polled) beside its own job id. A
new try turns ``failed`` (the vendor's job failed) and ``not_submitted`` back into queued items,
``timed_out`` back into running ones (the job is paid and may still finish), and leaves
``refused``, ``possibly_billed``, ``succeeded`` and ``landed`` as they are.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_nanobanana import wording

QUEUED, SENT, RUNNING, SUCCEEDED, LANDED = "queued", "sent", "running", "succeeded", "landed"
FAILED, REFUSED, TIMED_OUT, NOT_SUBMITTED, POSSIBLY_BILLED = (
    "failed",
    "refused",
    "timed_out",
    "not_submitted",
    "possibly_billed",
)
FAILURES = (FAILED, REFUSED, TIMED_OUT, NOT_SUBMITTED, POSSIBLY_BILLED)
DONE = (SUCCEEDED, LANDED, *FAILURES)
# What a new try makes of an item that ended its last try in this state.
_ON_RETRY = {FAILED: QUEUED, NOT_SUBMITTED: QUEUED, TIMED_OUT: RUNNING}
# The failures a retry can fix: it sends those items again, or reattaches to their jobs.
RETRIED = frozenset(_ON_RETRY)


@dataclass
class BatchState:
    """The ledger document of one batch task instance; JSON through :meth:`to_dict`."""

    fingerprint: str
    vendor: str
    size: int
    try_number: int
    deadline: float
    started_at: float = field(default_factory=time.time)
    link: str | None = None  # where a person looks at the first landed image
    items: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchState:
        items = {int(index): dict(record) for index, record in data["items"].items()}
        return cls(**{**data, "items": items})

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "vendor": self.vendor,
            "size": self.size,
            "try_number": self.try_number,
            "deadline": self.deadline,
            "started_at": self.started_at,
            "link": self.link,
            "items": {str(index): record for index, record in self.items.items()},
        }

    # -- reading ------------------------------------------------------------------------------

    def state_of(self, index: int) -> str:
        return self.items.get(index, {}).get("state", QUEUED)

    def indexes(self, *states: str) -> list[int]:
        return [index for index in range(self.size) if self.state_of(index) in states]

    def sendable(self, now: float) -> list[int]:
        """Queued items whose vendor-imposed wait (a 429's Retry-After) is over, in order."""
        return [
            index for index in self.indexes(QUEUED) if self.items.get(index, {}).get("not_before", 0.0) <= now
        ]

    def next_wake(self) -> float | None:
        """When the first held-back queued item may be sent."""
        waits = [self.items[index]["not_before"] for index in self.indexes(QUEUED) if index in self.items]
        return min((wait for wait in waits if wait), default=None)

    def polled(self) -> dict[str, list[int]]:
        """What the wait polls → the running items it reports on: each item's job, or the bulk
        job (``batch``) that holds it."""
        polled: dict[str, list[int]] = {}
        for index in self.indexes(RUNNING):
            record = self.items[index]
            polled.setdefault(record.get("batch") or record["job_id"], []).append(index)
        return polled

    def landed_bytes(self) -> int:
        return sum(obj["size"] for record in self.items.values() for obj in record.get("objects", ()))

    # -- transitions ---------------------------------------------------------------------------

    def begin_try(self, try_number: int, deadline: float) -> None:
        """A new try: give its items the second chance :data:`_ON_RETRY` allows, and a deadline."""
        if try_number == self.try_number:
            return
        self.try_number, self.deadline = try_number, deadline
        for record in self.items.values():
            if (state := _ON_RETRY.get(record["state"])) is not None:
                record["state"] = state
                record.pop("error", None)
                if state == QUEUED:
                    for name in ("job_id", "batch", "display_name"):
                        record.pop(name, None)

    def intend(self, indexes: Iterable[int], now: float, display_name: str | None = None) -> None:
        for index in indexes:
            self.items[index] = {"state": SENT, "sent_at": now}
            if display_name is not None:
                self.items[index]["display_name"] = display_name

    def submitted(self, index: int, job_id: str, batch: str | None = None) -> None:
        self.items[index] = {**self.items[index], "state": RUNNING, "job_id": job_id}
        if batch is not None:
            self.items[index]["batch"] = batch

    def requeue(self, index: int, not_before: float, reason: str) -> None:
        """The vendor cannot have accepted it (429, explicit error): send it again later."""
        self.items[index] = {"state": QUEUED, "not_before": not_before, "last_error": reason}

    def release_holds(self) -> None:
        """Queued items held back by a full vendor queue may go now."""
        for index in self.indexes(QUEUED):
            self.items.get(index, {}).pop("not_before", None)

    def end(self, index: int, state: str, error: str | None = None, **details: Any) -> None:
        """Put an item in a final state of this try, keeping its job id."""
        record = {**self.items.get(index, {}), "state": state, "ended_at": time.time(), **details}
        record.pop("not_before", None)
        if error is not None:
            record["error"] = error
        self.items[index] = record

    # -- telling a person --------------------------------------------------------------------

    def progress_line(self, now: float) -> str:
        """``312/1000 done, 10 in flight, 3 failed, 2.1 GiB landed, eta 14 min``."""
        done = len(self.indexes(*DONE))
        failed = len(self.indexes(*FAILURES))
        in_flight = len(self.indexes(SENT, RUNNING))
        line = f"{done}/{self.size} done, {in_flight} in flight, {failed} failed"
        if landed := self.landed_bytes():
            line += f", {wording.size(landed)} landed"
        ended_here = [record["ended_at"] for record in self.items.values() if "ended_at" in record]
        if done < self.size and ended_here:
            rate = len(ended_here) / max(now - self.started_at, 1e-6)
            line += f", eta {wording.duration((self.size - done) / rate)}"
        return line
