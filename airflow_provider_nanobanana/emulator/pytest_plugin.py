"""Pytest fixtures for the emulator; opt in with
``pytest_plugins = ["airflow_provider_nanobanana.emulator.pytest_plugin"]``.

One server runs for the whole session (starting it per test would cost a port and a thread
each time); the function-scoped fixtures reset it first, so every test starts from the
construction-time settings, with no jobs, no faults and zeroed counters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.local_s3 import LocalS3
from airflow_provider_nanobanana.emulator.settings import ACEDATA, GEMINI, MODELSLAB


@pytest.fixture(scope="session")
def nanobanana_emulator_server() -> Iterator[Emulator]:
    """The session's emulator, with jobs that take 0.2 s so polling tests stay fast."""
    with Emulator(settings=EmulatorSettings(processing_seconds=0.2)) as emulator:
        yield emulator


@pytest.fixture
def nanobanana_emulator(nanobanana_emulator_server: Emulator) -> Emulator:
    """The session emulator, reset before the test."""
    nanobanana_emulator_server.reset()
    return nanobanana_emulator_server


@pytest.fixture
def nanobanana_connections(nanobanana_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Airflow connections ``nanobanana_modelslab_default``, ``nanobanana_acedata_default`` and
    ``nanobanana_gemini_default`` pointing at the emulator with its test keys, set as
    ``AIRFLOW_CONN_*`` environment variables."""
    for vendor in (MODELSLAB, ACEDATA, GEMINI):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_NANOBANANA_{vendor.upper()}_DEFAULT", nanobanana_emulator.connection_json(vendor)
        )
    return nanobanana_emulator


@pytest.fixture(scope="session")
def nanobanana_s3_server() -> Iterator[LocalS3]:
    """The session's local S3 endpoint (moto in server mode on loopback)."""
    with LocalS3() as s3:
        yield s3


@pytest.fixture
def nanobanana_s3(nanobanana_s3_server: LocalS3, monkeypatch: pytest.MonkeyPatch) -> LocalS3:
    """The local S3 endpoint, set as the ``aws_default`` connection."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", nanobanana_s3_server.connection_json())
    return nanobanana_s3_server


@pytest.fixture
def nanobanana_bucket(nanobanana_s3: LocalS3) -> str:
    """A fresh, empty bucket on the local S3 endpoint."""
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    nanobanana_s3.create_bucket(bucket)
    return bucket
