"""Hook tests talk to the emulator over real HTTP; none of them may ever log the API key."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook

MODELSLAB_KEY = "modelslab-test-key"
ACEDATA_KEY = "acedata-test-key"


@pytest.fixture
def task_log(caplog, capsys):
    """Everything a task log would show: stdlib records at DEBUG (httpx, httpcore) and what Airflow's
    structlog-based hook loggers print. Call it to read the text so far."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def read() -> str:
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return caplog.text + "".join(seen)

    return read


@pytest.fixture(autouse=True)
def key_never_logged(task_log):
    yield
    text = task_log()
    for key in (MODELSLAB_KEY, ACEDATA_KEY):
        assert key not in text, "an API key reached the logs"


@pytest.fixture
def emulator(nanobanana_connections):
    return nanobanana_connections


@pytest.fixture
def modelslab(emulator):
    with ModelsLabHook(retry_delay=0.05) as hook:
        yield hook


@pytest.fixture
def modelslab_v7(emulator):
    with ModelsLabHook(api_family="v7", retry_delay=0.05) as hook:
        yield hook


@pytest.fixture
def acedata(emulator):
    with AceDataHook(retry_delay=0.05) as hook:
        yield hook
