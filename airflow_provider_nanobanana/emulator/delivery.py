"""Webhook and callback POSTs, sent when a job finishes, the way vendors do it: best effort.

Each delivery is one try with a short timeout on a daemon timer thread; a receiver that is down or
slow only loses its notification (ModelsLab documents "no retry, use fetch as fallback"), and
nothing a receiver does can reach the serving threads. Pending deliveries are cancelled on reset
and stop so a finished test never gets a late POST from the previous one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0


class Deliveries:
    """Schedules POSTs of a JSON payload at a given wall-clock time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()

    def schedule(self, at: float, url: str, payload: Callable[[], Any]) -> None:
        """POST ``payload()`` to ``url`` at time ``at``; the payload is built only then, because
        building it may mean rendering every image (ModelsLab raw base64 output)."""

        def fire() -> None:
            with self._lock:
                self._timers.discard(timer)
            try:
                _post(url, payload())
            except Exception as error:  # best effort: a broken receiver must not break anything
                log.info("Delivery to %s failed: %s", url, error)

        timer = threading.Timer(max(0.0, at - time.time()), fire)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def cancel_all(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()


def _post(url: str, payload: Any) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "nanobanana-emulator"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()
