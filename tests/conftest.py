"""Test session set-up: a throwaway AIRFLOW_HOME and DAGs folder, set before anything imports Airflow."""

from __future__ import annotations

import os
import tempfile

AIRFLOW_HOME = tempfile.mkdtemp(prefix="nanobanana-airflow-home-")
# DAG runs in tests parse this folder; integration fixtures fill it with the example DAGs.
DAGS_FOLDER = os.path.join(AIRFLOW_HOME, "dags")
os.makedirs(DAGS_FOLDER)
os.environ["AIRFLOW_HOME"] = AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = DAGS_FOLDER
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

import logging  # noqa: E402

import pytest  # noqa: E402
from airflow_versions import AIRFLOW_3  # noqa: E402

from airflow_provider_nanobanana.emulator.settings import (  # noqa: E402
    DEFAULT_ACEDATA_TOKEN,
    DEFAULT_MODELSLAB_KEY,
)

pytest_plugins = ["airflow_provider_nanobanana.emulator.pytest_plugin"]


@pytest.fixture
def task_log(caplog, capsys):
    """Everything a task log would show: stdlib records at DEBUG (httpx, httpcore) and what Airflow 3's
    structlog-based loggers print. Call it to read the text so far. (Airflow 2 prints the same stdlib
    records to stdout again, so there stdout would only count each line twice.)"""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def read() -> str:
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return caplog.text + ("".join(seen) if AIRFLOW_3 else "")

    return read


@pytest.fixture(autouse=True)
def key_never_logged(task_log):
    """Every test fails if an emulator API key reached the logs while it ran."""
    yield
    text = task_log()
    for key in (DEFAULT_MODELSLAB_KEY, DEFAULT_ACEDATA_TOKEN):
        assert key not in text, "an API key reached the logs"


@pytest.fixture
def emulator(nanobanana_connections):
    """The emulator, with both default connections pointing at it."""
    return nanobanana_connections
