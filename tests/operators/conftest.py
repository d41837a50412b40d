"""Operators run directly with a small fake task context against the emulator over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow_fakes import FakeTaskInstance, FakeTaskStateStore, FakeVariable
from airflow_versions import outlet_event_accessors

from airflow_provider_nanobanana.ledger import consent, job, store

MODELSLAB_CONN = "nanobanana_modelslab_default"
ACEDATA_CONN = "nanobanana_acedata_default"
CONN_IDS = {"modelslab": MODELSLAB_CONN, "acedata": ACEDATA_CONN}


def variable_name(ti: FakeTaskInstance) -> str:
    return job.JobLedger({"ti": ti}).variable_key


@pytest.fixture
def context() -> dict[str, Any]:
    """Airflow 3.3+ context: the ledger lives in the task state store; asset events are recorded."""
    return {
        "ti": FakeTaskInstance(),
        "task_state_store": FakeTaskStateStore(),
        "outlet_events": outlet_event_accessors(),
    }


@pytest.fixture(autouse=True)
def consent_in_memory(monkeypatch) -> None:
    """The resubmit consent is a Variable too, read when an answer was lost: in memory, as unit
    tests have no metadata DB (and Airflow 3.0's task SDK reads none outside a task runner)."""
    monkeypatch.setattr(FakeVariable, "store", {})
    monkeypatch.setattr(consent, "Variable", FakeVariable)


@pytest.fixture
def variables(monkeypatch) -> dict[str, str]:
    """Swap the ledger's ``Variable`` for the in-memory one (emptied by :func:`consent_in_memory`);
    returns its backing dict."""
    monkeypatch.setattr(store, "Variable", FakeVariable)
    return FakeVariable.store


@pytest.fixture
def legacy_context(variables) -> dict[str, Any]:
    """Airflow before 3.3: no task state store, so the ledger falls back to a Variable."""
    return {"ti": FakeTaskInstance()}


def ledger_entry(context: dict[str, Any]) -> dict[str, Any] | None:
    """What the job ledger holds for the context's task instance, whichever backend it uses."""
    state_store = context.get("task_state_store")
    if state_store is not None:
        return state_store.get(job.KEY)
    raw = FakeVariable.store.get(variable_name(context["ti"]))
    return json.loads(raw) if raw else None


def airflow_records_success(operator: Any, context: dict[str, Any]) -> None:
    """What Airflow 3 does once the task returns: record the success, then run its success
    callbacks (the first of which deletes the task's ledger)."""
    context["ti"].recorded_state = "success"
    for callback in operator.on_success_callback:
        callback({**context, "task": operator})
