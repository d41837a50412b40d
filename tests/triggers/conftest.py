"""Trigger tests drive ``run()`` against the emulator, with connections whose hooks never retry."""

from __future__ import annotations

import json

import pytest

from airflow_provider_nanobanana.emulator.settings import DEFAULT_ACEDATA_TOKEN, DEFAULT_MODELSLAB_KEY

CONN_IDS = {"modelslab": "nanobanana_modelslab_default", "acedata": "nanobanana_acedata_default"}
# Same emulator, but max_retries=0: every failed poll reaches the trigger's own tolerance.
NO_RETRY_CONN_IDS = {"modelslab": "nanobanana_modelslab_noretry", "acedata": "nanobanana_acedata_noretry"}


@pytest.fixture
def emulator(nanobanana_connections, monkeypatch):
    url = nanobanana_connections.url
    for vendor, key in (("modelslab", DEFAULT_MODELSLAB_KEY), ("acedata", DEFAULT_ACEDATA_TOKEN)):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{NO_RETRY_CONN_IDS[vendor].upper()}",
            json.dumps(
                {
                    "conn_type": f"nanobanana_{vendor}",
                    "host": url,
                    "password": key,
                    "extra": {"max_retries": 0},
                }
            ),
        )
    return nanobanana_connections
