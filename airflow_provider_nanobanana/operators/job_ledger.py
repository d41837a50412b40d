"""Remember the job a task instance submitted, so that a retry reattaches instead of paying again.

Airflow 3.3+ keeps it in the task state store (``context["task_state_store"]``), which survives
retries and deferrals and is discarded when the task is cleared, unless ``keep_task_state``
is set. Older Airflow (2.11, 3.0 to 3.2) clears XCom before each try, so there the ledger is an
Airflow Variable keyed by a hash of the task instance (its description names it), deleted once
the task no longer needs it.

Limit: the job id is written right after the vendor answers the submission. A worker killed in
the instant between the two cannot be told apart from one that never submitted.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow.providers.common.compat.sdk import Variable

STATE_KEY = "nanobanana_job"


class JobLedger:
    """The submitted job of one task instance: ``{"vendor", "job_id", "submitted_at"}``."""

    def __init__(self, context: Any) -> None:
        self._store = context.get("task_state_store")
        ti = context["ti"]
        # Variable keys are VARCHAR(250) and dag, task and run ids may each be that long: hash them.
        self._identity = f"{ti.dag_id} / {ti.task_id} / {ti.run_id} / map {ti.map_index}"
        self.variable_key = "nanobanana_job__" + hashlib.sha256(self._identity.encode()).hexdigest()

    @property
    def uses_state_store(self) -> bool:
        return self._store is not None

    def recall(self) -> dict[str, Any] | None:
        if self._store is not None:
            return self._store.get(STATE_KEY)
        raw = Variable.get(self.variable_key, default=None)
        return json.loads(raw) if raw else None

    def remember(self, entry: dict[str, Any]) -> None:
        if self._store is not None:
            self._store.set(STATE_KEY, entry)
        else:
            Variable.set(
                self.variable_key, json.dumps(entry), description=f"Nano Banana job of {self._identity}"
            )

    def forget(self) -> None:
        if self._store is not None:
            self._store.delete(STATE_KEY)
        elif Variable.get(self.variable_key, default=None) is not None:
            Variable.delete(self.variable_key)
