"""The armed faults and the rule deciding which one a request hits.

A request looks for faults twice. On arrival it takes at most one *request* fault: transport
trouble (429, 5xx, dropped or garbled answers, slowness) and response-shape quirks, all of which
happen whether or not the request is valid. Only once it passed authentication and validation, a
generation request takes at most one *job* fault (refusals, accept-then-drop, failing jobs), so a
fault aimed at a job is never wasted on a request that would have been rejected anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import asdict

from airflow_provider_nanobanana.emulator.settings import Fault
from airflow_provider_nanobanana.emulator.wire import DROP, MALFORMED, Reply

REQUEST_KINDS = frozenset(
    {"rate_limit", "server_error", "drop", "slow", "malformed", "legacy", "expired", "truncated", "not_image"}
)
JOB_KINDS = frozenset(
    {
        "drop_after_accept",
        "server_error_with_task",
        "job_fails",
        "job_fails_echoing_key",
        "moderation",
        "quota",
        "partial",
        "line_error",
    }
)
FAILING_KINDS = frozenset({"job_fails", "job_fails_echoing_key"})


class FaultBook:
    """Thread-safe ordered list of faults, each with the number of hits it has left."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._armed: list[tuple[Fault, int | None]] = [(fault, fault.times) for fault in faults]

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append((fault, fault.times))

    def replace(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self._armed = [(fault, fault.times) for fault in faults]

    def take(self, vendor: str, endpoint: str, kinds: frozenset[str]) -> Fault | None:
        """Return the first armed fault of one of ``kinds`` that targets this request, using one hit."""
        with self._lock:
            for position, (fault, left) in enumerate(self._armed):
                if fault.kind in kinds and fault.matches(vendor, endpoint):
                    if left is None:
                        return fault
                    if left == 1:
                        del self._armed[position]
                    else:
                        self._armed[position] = (fault, left - 1)
                    return fault
        return None

    def armed(self) -> list[dict[str, object]]:
        """What is still armed, with hits left, for the admin API."""
        with self._lock:
            return [{**asdict(fault), "left": left} for fault, left in self._armed]


def common_reply(fault: Fault) -> Reply | None:
    """Apply the vendor-neutral request faults: no answer, a garbled answer, or a late one.

    Returns the reply to send instead of the real one, or None when the request should go on
    (after sleeping, for ``slow``). Vendors answer ``rate_limit`` and ``server_error`` themselves
    because each has its own error body.
    """
    if fault.kind == "drop":
        return DROP
    if fault.kind == "malformed":
        return MALFORMED
    if fault.kind == "slow":
        time.sleep(fault.delay)
    return None
