"""Reading connections and Variables from Airflow when "not there" may be a lie (and the
``default_deferrable`` setting, read when a DAG is parsed).

Airflow answers "not found" also when its metadata DB or a secrets backend fails to answer:
``Connection.get_connection_from_secrets`` and ``Variable.get_variable_from_secrets`` log the
error and move on to the next backend, and the execution API turns the result into a 404. The
scale tier saw it during a PostgreSQL restart: an existing connection reported missing. Where a
wrong "missing" is costly (a task failed for good, a job paid for twice), look again before
believing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

# Seconds between looks: a database restart or failover of a few seconds is ridden out.
RECHECK_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)

log = logging.getLogger(__name__)
T = TypeVar("T")


def confirmed_lookup(fetch: Callable[[], T | None], what: str) -> T | None:
    """``fetch()``'s first answer that is not ``None``; ``None`` only once every look said so."""
    for delay in RECHECK_DELAYS:
        found = fetch()
        if found is not None:
            return found
        log.warning(
            "Airflow reports no %s; it says the same when its metadata database or secrets backend "
            "does not answer, so looking again in %.0f s.",
            what,
            delay,
        )
        time.sleep(delay)
    return fetch()


def default_deferrable(deferrable: bool | None) -> bool:
    """``deferrable`` as given, else ``[operators] default_deferrable``: read when the DAG is
    parsed, not when a module is imported, so config changes apply."""
    if deferrable is not None:
        return deferrable
    from airflow.providers.common.compat.sdk import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)
