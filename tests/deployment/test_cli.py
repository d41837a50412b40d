"""The provider as the ``airflow`` CLI of the deployment sees it."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana import __version__
from airflow_provider_nanobanana.emulator.settings import DEFAULT_MODELSLAB_KEY

from .deployment import AirflowDeployment

pytestmark = pytest.mark.deployment


def test_providers_list_shows_the_provider_and_its_version(airflow: AirflowDeployment):
    listed = airflow.airflow("providers", "list")

    line = next(line for line in listed.stdout.splitlines() if "airflow-provider-nanobanana" in line)
    assert __version__ in line


def test_connections_test_passes_against_the_emulator_and_names_a_wrong_key(airflow: AirflowDeployment):
    good = airflow.airflow("connections", "test", "nanobanana_modelslab_default")
    created = airflow.api.post(
        "/connections",
        json={
            "connection_id": "modelslab_wrong_key",
            "conn_type": "nanobanana_modelslab",
            "host": airflow.api.get("/connections/nanobanana_modelslab_default").json()["host"],
            "password": "not-the-key",
        },
    )
    assert created.status_code == 201, created.text

    wrong = airflow.airflow("connections", "test", "modelslab_wrong_key")

    assert "Connection success!" in good.stdout, good.stdout + good.stderr
    assert "Connection failed!" in wrong.stdout, wrong.stdout + wrong.stderr
    assert "NanoBananaAuthenticationError" in wrong.stdout
    assert "not-the-key" not in wrong.stdout + wrong.stderr
    assert DEFAULT_MODELSLAB_KEY not in good.stdout + good.stderr
