"""A store that is down for 30 s while images land is ridden out, as S3 is: the upload waits
with doubling pauses (``s3_retry_seconds``, 120 s by default) and lands whole once the store is
back. Each test stops its own server and starts it again on the same port 30 s later."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

import pytest

from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.landing import land_jobs
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

from .conftest import BUCKET, azurite_connection_string, free_port, start_azurite

OUTAGE = 30.0
RUN = TaskInstanceKey(dag_id="images", run_id="manual__2026-12-04", task_id="land", map_index=-1)
LOG = logging.getLogger("tests.stores.outage")


def land_through_outage(job: dict, uri: str, conn_id: str, stop, start) -> tuple[dict, float]:
    """Stop the store, start it again after :data:`OUTAGE` seconds, and land ``job`` meanwhile."""
    destination = Destination(uri=uri, conn_id=conn_id).checked()
    stop()
    restart = threading.Timer(OUTAGE, start)
    started = time.monotonic()
    restart.start()
    try:
        (item,) = land_jobs([job], destination, RUN, prompt=None, log=LOG)
    finally:
        restart.join()
    return item, time.monotonic() - started


def test_a_30_s_gcs_outage_while_landing_is_ridden_out(finished_job, emulator, monkeypatch, task_log):
    server_module = pytest.importorskip("gcp_storage_emulator.server")
    pytest.importorskip("airflow.providers.google")
    port = free_port()
    servers = [server_module.create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)]
    servers[0].start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_GCS_OUTAGE",
        json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": "test"}}
        ),
    )

    def start() -> None:
        servers.append(server_module.create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET))
        servers[-1].start()

    job = finished_job("acedata")
    try:
        item, took = land_through_outage(job, f"gs://{BUCKET}/outage", "gcs_outage", servers[0].stop, start)
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(
            project="test",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"http://127.0.0.1:{port}"},
        )
        body = client.bucket(BUCKET).get_blob(item["key"]).download_as_bytes()
    finally:
        servers[-1].stop()

    assert hashlib.sha256(body).hexdigest() == item["sha256"]
    assert took >= OUTAGE
    assert "GCS did not take" in task_log(), "the pauses were logged"


def test_a_30_s_azure_outage_while_landing_is_ridden_out(finished_job, emulator, monkeypatch, tmp_path):
    pytest.importorskip("airflow.providers.microsoft.azure")
    from azure.storage.blob import BlobServiceClient

    port = free_port()
    servers = [start_azurite(port, tmp_path)]
    connection = azurite_connection_string(port)
    BlobServiceClient.from_connection_string(connection).create_container(BUCKET)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WASB_OUTAGE",
        json.dumps({"conn_type": "wasb", "extra": {"connection_string": connection}}),
    )

    def stop() -> None:
        servers[0].terminate()
        servers[0].wait(timeout=10)

    job = finished_job("acedata")
    try:
        uri = f"wasb://{BUCKET}@devstoreaccount1/outage"
        item, took = land_through_outage(
            job, uri, "wasb_outage", stop, lambda: servers.append(start_azurite(port, tmp_path))
        )
        blob = BlobServiceClient.from_connection_string(connection).get_blob_client(BUCKET, item["key"])
        body = blob.download_blob().readall()
    finally:
        servers[-1].terminate()
        servers[-1].wait(timeout=10)

    assert hashlib.sha256(body).hexdigest() == item["sha256"]
    assert took >= OUTAGE
