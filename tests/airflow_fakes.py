"""Small stand-ins for what a task reads from Airflow, for tests that run operators without one."""

from __future__ import annotations

from typing import Any, ClassVar


class FakeTaskInstance:
    """Just what the operators read from ``context["ti"]``, recording XCom pushes.

    ``recorded_state`` is what Airflow answers when the task asks for its own state (Airflow 3's
    ``get_task_states``), as the success callback does.
    """

    def __init__(self) -> None:
        self.dag_id = "nanobanana_dag"
        self.task_id = "draw"
        self.run_id = "manual__2026-01-01T00:00:00"
        self.map_index = -1
        self.try_number = 1
        self.max_tries = 0  # retries, raised by each clear (Airflow sets try_number + retries)
        self.xcom: list[tuple[str, Any]] = []
        self.recorded_state: str | None = "running"

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom.append((key, value))

    def get_task_states(self, *, dag_id: str, map_index: int, task_ids: list[str], run_ids: list[str]) -> Any:
        name = self.task_id if map_index < 0 else f"{self.task_id}_{map_index}"
        return {self.run_id: {name: self.recorded_state}}


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
