"""The example DAGs land a run in Google Cloud Storage and one in Azure Blob Storage in a real
deployment, through Airflow's ``google_cloud_default`` and ``wasb_default`` connections
(created through the REST API), each image whole and as the task recorded it."""

from __future__ import annotations

import hashlib

import pytest

from airflow_provider_nanobanana.emulator import Emulator
from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET

from .dag_runs import trigger, wait_for, xcom
from .deployment import AirflowDeployment

pytestmark = pytest.mark.deployment


def test_one_run_lands_in_gcs_and_one_in_azure(
    airflow: AirflowDeployment, vendor: Emulator, gcs_server: str, azurite_server: str
):
    from azure.storage.blob import BlobServiceClient
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    vendor.reset()
    runs = {
        "gcs": trigger(airflow.api, "nanobanana_generate_to_gcs"),
        "azure": trigger(airflow.api, "nanobanana_generate_to_azure"),
    }
    wait_for(airflow.api, list(runs.values()))

    assert {store: run.state for store, run in runs.items()} == {"gcs": "success", "azure": "success"}
    assert vendor.counters()["accepted"]["acedata"] == 2, "one job per run"
    bucket = storage.Client(
        project="local", credentials=AnonymousCredentials(), client_options={"api_endpoint": gcs_server}
    ).bucket(EXAMPLE_BUCKET)
    container = BlobServiceClient.from_connection_string(azurite_server).get_container_client(EXAMPLE_BUCKET)
    read = {
        "gcs": lambda key: bucket.get_blob(key).download_as_bytes(),
        "azure": lambda key: container.get_blob_client(key).download_blob().readall(),
    }
    for store, run in runs.items():
        landed = xcom(airflow.api, run, "generate")["s3"]
        assert len(landed) == 2
        scheme = "gs" if store == "gcs" else "wasb"
        for item in landed:
            assert item["uri"].startswith(f"{scheme}://{EXAMPLE_BUCKET}")
            assert hashlib.sha256(read[store](item["key"])).hexdigest() == item["sha256"]
