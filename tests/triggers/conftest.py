"""Trigger tests drive ``run()`` against the emulator, with connections whose hooks never retry."""

from __future__ import annotations

import pytest

CONN_IDS = {"modelslab": "nanobanana_modelslab_default", "acedata": "nanobanana_acedata_default"}
# Same emulator, but max_retries=0: every failed poll reaches the trigger's own tolerance.
NO_RETRY_CONN_IDS = {"modelslab": "nanobanana_modelslab_noretry", "acedata": "nanobanana_acedata_noretry"}


@pytest.fixture
def emulator(nanobanana_connections, monkeypatch):
    for vendor in ("modelslab", "acedata"):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{NO_RETRY_CONN_IDS[vendor].upper()}",
            nanobanana_connections.connection_json(vendor, max_retries=0),
        )
    return nanobanana_connections
