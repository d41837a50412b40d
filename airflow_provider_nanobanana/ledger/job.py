"""Remember the job a task instance submitted, so that a retry reattaches instead of paying again.

An entry is written in two phases. Before the generation request is sent: an *intent*,
``{"vendor", "sent_at", "job_id": None}``. As soon as the vendor answers: the job,
``{"vendor", "job_id", "sent_at", "submitted_at"}``. A retry that finds an intent without a job
id knows the earlier try may have paid without hearing back (a lost answer, or a worker killed
in flight) and looks for the job instead of submitting blindly.

When the task is done with the job, the entry is marked finished with the summary the task
returns, and stays until Airflow has recorded the task's success for good
(:mod:`~airflow_provider_nanobanana.ledger.finished`): a worker lost after the work but before
Airflow recorded it leaves a retry that returns that summary, paying nothing. A vendor refusal or
a failed job deletes the entry, so the retry submits anew.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_nanobanana.ledger.finished import mark_finished
from airflow_provider_nanobanana.ledger.store import TaskInstanceStore

KEY = "nanobanana_job"


class JobLedger:
    """The submitted job (or the intent to submit one) of one task instance."""

    def __init__(self, context: Any) -> None:
        self.store = TaskInstanceStore(context)
        self.ti = context["ti"]
        self.try_number = self.ti.try_number

    @property
    def variable_key(self) -> str:
        return self.store.variable_key(KEY)

    def recall(self) -> dict[str, Any] | None:
        # Only a retry can find an entry of its own: only a retry looks twice.
        return self.store.get(KEY, expected=self.try_number > 1)

    def remember(self, entry: dict[str, Any]) -> None:
        self.store.set(KEY, entry)

    def finish(self, entry: dict[str, Any], summary: dict[str, Any]) -> None:
        """The job is done and its images landed: keep what the task returns, for a retry."""
        self.remember(mark_finished({**entry, "summary": summary}, self.store, self.ti))

    def forget(self) -> None:
        self.store.delete(KEY)
