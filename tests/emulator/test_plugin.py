"""The pytest plugin's fixtures."""

from __future__ import annotations

import json
import os

from airflow_provider_nanobanana.emulator import Emulator


def test_connections_fixture_points_both_airflow_connections_at_the_emulator(
    nanobanana_connections: Emulator,
) -> None:
    modelslab = json.loads(os.environ["AIRFLOW_CONN_NANOBANANA_MODELSLAB_DEFAULT"])
    acedata = json.loads(os.environ["AIRFLOW_CONN_NANOBANANA_ACEDATA_DEFAULT"])
    assert modelslab == {
        "conn_type": "nanobanana_modelslab",
        "host": nanobanana_connections.url,
        "password": "modelslab-test-key",
    }
    assert acedata == {
        "conn_type": "nanobanana_acedata",
        "host": nanobanana_connections.url,
        "password": "acedata-test-key",
    }


def test_emulator_fixture_is_reset_and_uses_fast_jobs(nanobanana_emulator: Emulator) -> None:
    assert nanobanana_emulator.settings.processing_seconds == 0.2
    assert nanobanana_emulator.counters()["requests"] == {}
