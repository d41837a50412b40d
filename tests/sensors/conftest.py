"""Sensor tests poke the emulator over real HTTP; the sensor reads nothing from its context."""

from __future__ import annotations

import pytest

CONN_IDS = {"modelslab": "nanobanana_modelslab_default", "acedata": "nanobanana_acedata_default"}


class FakeTaskInstance:
    dag_id = "nanobanana_dag"
    task_id = "wait"
    run_id = "manual__2026-01-01T00:00:00"
    map_index = -1
    try_number = 1

    def __init__(self) -> None:
        self.xcom: list[tuple[str, object]] = []

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom.append((key, value))


@pytest.fixture
def context():
    return {"ti": FakeTaskInstance()}
