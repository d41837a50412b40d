"""Ride out a short outage of the store while landing: the images are already paid for.

Each store's client retries a failed call a few times within seconds; an endpoint that is down
for half a minute outlasts that, and failing then strands images the vendor may delete. So a
call that fails for a reason that can pass (no connection, a timeout, throttling, a 5xx; each
store says which with its ``transient`` test) is made again with doubling pauses until
``window`` seconds have gone by; an error that cannot pass (access denied, no such bucket) fails
at once. Every call retried this way must be safe to repeat: a whole ``PutObject``, the same
part, chunk or block again, a commit of the same list.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_MAX_PAUSE = 30.0


def ride_out(
    action: Callable[[], T],
    *,
    window: float,
    what: str,
    log: logging.Logger | logging.LoggerAdapter,
    store: str,
    transient: Callable[[BaseException], bool],
    before_retry: Callable[[], None] = lambda: None,
) -> T:
    """Run ``action``; on a ``transient`` error, pause and run it again until ``window`` has
    passed. ``before_retry`` runs before each new attempt (to rewind a body already partly read)."""
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return action()
        except Exception as error:
            left = window - (time.monotonic() - started)
            if not transient(error) or left <= 0:
                raise
            pause = min(_MAX_PAUSE, 2.0**attempt, left)
            log.warning(
                "%s did not take %s (%s); retrying in %.0f s, for up to %.0f s more.",
                store,
                what,
                error,
                pause,
                left,
            )
            time.sleep(pause)
            before_retry()
            attempt += 1
