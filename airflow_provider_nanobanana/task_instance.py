"""Which task instance a task runs as: what its ledger and its S3 keys are named after, never the
try, so that every try of one task instance finds the same ledger and rewrites the same objects."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskInstanceKey:
    dag_id: str
    task_id: str
    run_id: str
    map_index: int

    @classmethod
    def from_context(cls, context: Any) -> TaskInstanceKey:
        ti = context["ti"]
        return cls(ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1))

    def __str__(self) -> str:
        return f"{self.dag_id} / {self.task_id} / {self.run_id} / map {self.map_index}"

    @property
    def digest(self) -> str:
        """A hash that fits where the ids do not (Variable keys are VARCHAR(250))."""
        return hashlib.sha256(str(self).encode()).hexdigest()
