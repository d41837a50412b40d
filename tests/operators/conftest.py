"""Operators run directly with a small fake task context against the emulator over real HTTP."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from airflow_versions import outlet_event_accessors

from airflow_provider_nanobanana.operators import job_ledger

MODELSLAB_CONN = "nanobanana_modelslab_default"
ACEDATA_CONN = "nanobanana_acedata_default"
CONN_IDS = {"modelslab": MODELSLAB_CONN, "acedata": ACEDATA_CONN}


class FakeTaskInstance:
    """Just what the operators read from ``context["ti"]``, recording XCom pushes."""

    def __init__(self) -> None:
        self.dag_id = "nanobanana_dag"
        self.task_id = "draw"
        self.run_id = "manual__2026-01-01T00:00:00"
        self.map_index = -1
        self.try_number = 1
        self.xcom: list[tuple[str, Any]] = []

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom.append((key, value))


class FakeTaskStateStore:
    """Airflow 3.3's task state store, backed by a dict."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class FakeVariable:
    """In-memory stand-in for ``Variable`` (there is no metadata DB in unit tests)."""

    store: ClassVar[dict[str, str]] = {}

    @classmethod
    def get(cls, key: str, default: Any = None, /) -> Any:
        """Positional default only: Airflow 2 calls it ``default_var``, Airflow 3 ``default``."""
        return cls.store.get(key, default)

    @classmethod
    def set(cls, key: str, value: str, description: str | None = None) -> None:
        cls.store[key] = value

    @classmethod
    def delete(cls, key: str) -> None:
        del cls.store[key]


def variable_name(ti: FakeTaskInstance) -> str:
    from airflow_provider_nanobanana.operators.job_ledger import JobLedger

    return JobLedger({"ti": ti}).variable_key


@pytest.fixture
def context() -> dict[str, Any]:
    """Airflow 3.3+ context: the ledger lives in the task state store; asset events are recorded."""
    return {
        "ti": FakeTaskInstance(),
        "task_state_store": FakeTaskStateStore(),
        "outlet_events": outlet_event_accessors(),
    }


@pytest.fixture
def variables(monkeypatch) -> dict[str, str]:
    """Swap the ledger's ``Variable`` for an in-memory one; returns its backing dict."""
    monkeypatch.setattr(FakeVariable, "store", {})
    monkeypatch.setattr(job_ledger, "Variable", FakeVariable)
    return FakeVariable.store


@pytest.fixture
def legacy_context(variables) -> dict[str, Any]:
    """Airflow before 3.3: no task state store, so the ledger falls back to a Variable."""
    return {"ti": FakeTaskInstance()}


def ledger_entry(context: dict[str, Any]) -> dict[str, Any] | None:
    """What the ledger holds for the context's task instance, whichever backend it uses."""
    store = context.get("task_state_store")
    if store is not None:
        return store.get(job_ledger.STATE_KEY)
    raw = FakeVariable.store.get(variable_name(context["ti"]))
    return json.loads(raw) if raw else None
