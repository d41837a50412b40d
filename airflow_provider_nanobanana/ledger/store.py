"""Where a task instance keeps, across its tries, what it must not forget: its ledger's values.

Airflow 3.3+ has the task state store (``context["task_state_store"]``), scoped to the task
instance and kept across retries, deferrals and clears. Older Airflow (2.11, 3.0 to 3.2) clears
XCom before each try, so there each value is an Airflow Variable named after the value and a hash
of the task instance (Variable keys are VARCHAR(250); dag, task and run ids may each be that long).

Airflow reads a Variable as absent also when its database does not answer, so a value that must
be there (a retry's ledger, a page its head lists) is looked for again before "absent" is
believed. The state store answers such failures with an error, never with "absent".

Airflow caps each stored value at ``[state_store] max_value_storage_bytes`` (64 KB by default):
callers keep their values under :data:`VALUE_BUDGET` (the batch pages its items). The store
counts what it writes, so a task can say what its ledger cost the metadata DB.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.common.compat.sdk import Variable

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.airflow_lookups import confirmed_lookup
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

# Half of Airflow's default per-value limit: room for a record that grows after it was paged.
VALUE_BUDGET = 32 * 1024


class TaskInstanceStore:
    """The values one task instance keeps across tries, by name."""

    def __init__(self, context: Any) -> None:
        self._store = context.get("task_state_store")
        self.task_instance = TaskInstanceKey.from_context(context)
        self.writes = 0
        self.bytes_written = 0
        self.largest_value = 0

    @property
    def uses_state_store(self) -> bool:
        return self._store is not None

    def variable_key(self, name: str) -> str:
        return f"{name}__{self.task_instance.digest}"

    def get(self, name: str, *, expected: bool = False) -> Any | None:
        """The value stored under ``name``, or None; ``expected``: a Variable reported absent is
        looked for again first (see the module docstring)."""
        if self._store is not None:
            return self._store.get(name)
        if expected:
            raw = confirmed_lookup(
                lambda: self._read_variable(name), f"ledger value {name} of {self.task_instance}"
            )
        else:
            raw = self._read_variable(name)
        return json.loads(raw) if raw else None

    def _read_variable(self, name: str) -> str | None:
        return Variable.get(self.variable_key(name), None)  # positional: 2.x names it default_var

    def set(self, name: str, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"))
        self.writes += 1
        self.bytes_written += len(text)
        self.largest_value = max(self.largest_value, len(text))
        if self._store is not None:
            self._store.set(name, value)
        else:
            Variable.set(
                self.variable_key(name),
                text,
                description=f"Nano Banana ledger ({name}) of {self.task_instance}",
            )

    def delete(self, name: str) -> None:
        if self._store is not None:
            self._store.delete(name)
        elif Variable.get(self.variable_key(name), None) is not None:
            Variable.delete(self.variable_key(name))

    def cost_line(self) -> str:
        """``Ledger: 34 writes, 217,088 bytes, the largest 9,334 bytes (task state store).``"""
        where = "task state store" if self._store is not None else "Airflow Variables"
        return (
            f"Ledger: {wording.plural(self.writes, 'write')}, {self.bytes_written:,} bytes, the largest "
            f"{self.largest_value:,} bytes ({where})."
        )
