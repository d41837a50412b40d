"""Remember the job a task instance submitted, so that a retry reattaches instead of paying again.

An entry is written in two phases. Before the generation request is sent: an *intent*,
``{"vendor", "sent_at", "job_id": None}``. As soon as the vendor answers: the job,
``{"vendor", "job_id", "sent_at", "submitted_at"}``. A retry that finds an intent without a job
id knows the earlier try may have paid without hearing back (a lost answer, or a worker killed
in flight) and looks for the job instead of submitting blindly.

Airflow 3.3+ keeps the entry in the task state store (``context["task_state_store"]``), which
survives retries, deferrals and clearing the task (Airflow 3.3 removes it only on "mark success"
with ``[state_store] clear_on_success``). Older Airflow (2.11, 3.0 to 3.2) clears XCom before
each try, so there the ledger is an Airflow Variable keyed by a hash of the task instance (its
description names it). Airflow reads a Variable as absent also when its database does not answer,
so a retry (the only try that can find an entry) looks again before it believes there is none
and submits. The state store answers such failures with an error, never with "absent".

Either way the operator deletes the entry once the task is done with the job, so clearing a
finished task submits a new job, and clearing a running one reattaches.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow.providers.common.compat.sdk import Variable

from airflow_provider_nanobanana.airflow_lookups import confirmed_lookup

STATE_KEY = "nanobanana_job"


class JobLedger:
    """The submitted job (or the intent to submit one) of one task instance.

    :param name: the state store key and Variable prefix; the batch operator keeps its items
        under a name of its own.
    """

    def __init__(self, context: Any, name: str = STATE_KEY) -> None:
        self._name = name
        self._store = context.get("task_state_store")
        ti = context["ti"]
        self._is_retry = ti.try_number > 1  # a first try never finds an entry of its own
        # Variable keys are VARCHAR(250) and dag, task and run ids may each be that long: hash them.
        self._identity = f"{ti.dag_id} / {ti.task_id} / {ti.run_id} / map {ti.map_index}"
        self.variable_key = f"{name}__" + hashlib.sha256(self._identity.encode()).hexdigest()

    @property
    def uses_state_store(self) -> bool:
        return self._store is not None

    def recall(self) -> dict[str, Any] | None:
        if self._store is not None:
            return self._store.get(self._name)
        if self._is_retry:
            raw = confirmed_lookup(self._read_variable, f"ledger entry for {self._identity}")
        else:
            raw = self._read_variable()
        return json.loads(raw) if raw else None

    def _read_variable(self) -> str | None:
        return Variable.get(self.variable_key, None)  # positional: 2.x names it default_var, 3.x default

    def remember(self, entry: dict[str, Any]) -> None:
        if self._store is not None:
            self._store.set(self._name, entry)
        else:
            Variable.set(
                self.variable_key,
                json.dumps(entry),
                description=f"Nano Banana ledger ({self._name}) of {self._identity}",
            )

    def forget(self) -> None:
        if self._store is not None:
            self._store.delete(self._name)
        elif Variable.get(self.variable_key, None) is not None:
            Variable.delete(self.variable_key)
