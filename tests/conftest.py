"""Test session set-up: a throwaway AIRFLOW_HOME and DAGs folder, set before anything imports Airflow."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

AIRFLOW_HOME = tempfile.mkdtemp(prefix="nanobanana-airflow-home-")
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)
# DAG runs in tests parse this folder; integration fixtures fill it with the example DAGs.
DAGS_FOLDER = os.path.join(AIRFLOW_HOME, "dags")
os.makedirs(DAGS_FOLDER)
os.environ["AIRFLOW_HOME"] = AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = DAGS_FOLDER
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

import logging  # noqa: E402
import re  # noqa: E402

import pytest  # noqa: E402

from airflow_provider_nanobanana.emulator.settings import (  # noqa: E402
    DEFAULT_ACEDATA_TOKEN,
    DEFAULT_GEMINI_KEY,
    DEFAULT_MODELSLAB_KEY,
)

pytest_plugins = ["airflow_provider_nanobanana.emulator.pytest_plugin"]


# Airflow's classic console handler (Airflow 2 and 3.0) prints again, on stdout, the stdlib records
# caplog already holds; those lines would only count everything twice.
_CLASSIC_CONSOLE_LINE = re.compile(r"^\[\d{4}-\d\d-\d\dT[\d:.]+\+\d{4}\] \{[^}]+\} [A-Z]+ - ")
# Airflow 3.0's task SDK logs every secret it is handed to mask, at DEBUG ("Sending request
# msg=MaskSecret(value=...)"); 3.1 stopped. Airflow's line, not the provider's: README says so.
_AIRFLOW_3_0_MASK_ECHO = "msg=MaskSecret("


def _task_log_line(line: str) -> bool:
    return not _CLASSIC_CONSOLE_LINE.match(line) and _AIRFLOW_3_0_MASK_ECHO not in line


@pytest.fixture
def task_log(caplog, capsys):
    """Everything a task log would show: stdlib records at DEBUG (httpx, httpcore) and what Airflow 3's
    structlog-based loggers print. Call it to read the text so far."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def read() -> str:
        captured = capsys.readouterr()
        printed = (captured.out + captured.err).splitlines(keepends=True)
        seen.extend(line for line in printed if _task_log_line(line))
        return caplog.text + "".join(seen)

    return read


@pytest.fixture(scope="session", autouse=True)
def airflow_2_metadata_db():
    """On Airflow 2 a Nano Banana task's start reads the metadata DB (its sweep of finished
    ledger Variables), so every test that runs one needs the tables, whatever ran before it."""
    from airflow_versions import AIRFLOW_3, migrate_metadata_db

    if not AIRFLOW_3:
        migrate_metadata_db()


@pytest.fixture(autouse=True)
def prompt_lookups(monkeypatch):
    """In-process tests look again for an absent connection or ledger entry without the real
    pauses (tests that time them set their own); deployment processes keep the real ones."""
    from airflow_provider_nanobanana import airflow_lookups

    monkeypatch.setattr(airflow_lookups, "RECHECK_DELAYS", (0.0,))


@pytest.fixture(autouse=True)
def no_minimum_deferral(monkeypatch):
    """In-process runs (``dag.test``, a trigger run to its event) have no scheduler to race, and
    the emulator's jobs take a fraction of a second: a deferred wait need not hold back its first
    poll (tests of the minimum set it themselves); deployment processes keep the real one."""
    monkeypatch.setenv("AIRFLOW__NANOBANANA__MIN_DEFERRAL_SECONDS", "0")


@pytest.fixture(autouse=True)
def key_never_logged(task_log):
    """Every test fails if an emulator API key reached the logs while it ran."""
    yield
    text = task_log()
    for key in (DEFAULT_MODELSLAB_KEY, DEFAULT_ACEDATA_TOKEN, DEFAULT_GEMINI_KEY):
        assert key not in text, "an API key reached the logs"


@pytest.fixture
def emulator(nanobanana_connections):
    """The emulator, with every vendor's default connection pointing at it."""
    return nanobanana_connections
