"""A store that is down for 30 s while images land is ridden out, as S3 is: the upload waits
with doubling pauses (``s3_retry_seconds``, 120 s by default) and lands whole once the store is
back. GCS and Azure each get their own server, stopped and started again on the same port 30 s
later; both outages run at once, so the suite waits for them once."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.landing import land_jobs
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

from .conftest import BUCKET, azurite_connection_string, free_port, start_azurite, stop_azurite

OUTAGE = 30.0
RUN = TaskInstanceKey(dag_id="images", run_id="manual__2026-12-04", task_id="land", map_index=-1)
LOG = logging.getLogger("tests.stores.outage")


class Outage:
    """One store's server, which :meth:`land_through` stops and starts again on the same port."""

    def __init__(self, uri: str, conn_id: str, start: Callable[[], Callable[[], None]], read) -> None:
        self.uri, self.conn_id, self.start, self.read = uri, conn_id, start, read
        self.stop = start()

    def land_through(self, job: dict) -> tuple[dict, float, bytes]:
        """Stop the store, start it again after :data:`OUTAGE` s, and land ``job`` meanwhile."""
        destination = Destination(uri=self.uri, conn_id=self.conn_id).checked()
        self.stop()
        restarted: list[Callable[[], None]] = []
        restart = threading.Timer(OUTAGE, lambda: restarted.append(self.start()))
        started = time.monotonic()
        restart.start()
        try:
            (item,) = land_jobs([job], destination, RUN, prompt=None, log=LOG)
            return item, time.monotonic() - started, self.read(item["key"])
        finally:
            restart.join()
            if restarted:
                restarted[0]()


def gcs_outage(monkeypatch) -> Outage:
    from gcp_storage_emulator.server import create_server
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
    connection = {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": "test"}}
    monkeypatch.setenv("AIRFLOW_CONN_GCS_OUTAGE", json.dumps(connection))

    def start() -> Callable[[], None]:
        server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
        server.start()
        return server.stop

    client = storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint}
    )
    read = lambda key: client.bucket(BUCKET).get_blob(key).download_as_bytes()  # noqa: E731
    return Outage(f"gs://{BUCKET}/outage", "gcs_outage", start, read)


def azure_outage(monkeypatch, data: Path) -> Outage:
    from azure.storage.blob import BlobServiceClient

    port = free_port()
    connection = azurite_connection_string(port)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WASB_OUTAGE",
        json.dumps({"conn_type": "wasb", "extra": {"connection_string": connection}}),
    )

    def start() -> Callable[[], None]:
        server = start_azurite(port, data)  # its blobs stay in data across the restart
        return lambda: stop_azurite(server)

    service = BlobServiceClient.from_connection_string(connection)
    read = lambda key: service.get_blob_client(BUCKET, key).download_blob().readall()  # noqa: E731
    outage = Outage(f"wasb://{BUCKET}@devstoreaccount1/outage", "wasb_outage", start, read)
    service.create_container(BUCKET)  # once the server is up
    return outage


def test_a_30_s_outage_of_gcs_and_of_azure_while_landing_is_ridden_out(
    finished_job, emulator, monkeypatch, tmp_path, task_log
):
    pytest.importorskip("airflow.providers.google")
    pytest.importorskip("airflow.providers.microsoft.azure")
    outages = {"GCS": gcs_outage(monkeypatch), "Azure": azure_outage(monkeypatch, tmp_path)}
    job = finished_job("acedata")

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda outage: outage.land_through(job), outages.values())
        landed = dict(zip(outages, results, strict=True))

    for store, (item, took, body) in landed.items():
        assert hashlib.sha256(body).hexdigest() == item["sha256"], store
        assert took >= OUTAGE, f"{store} landed before it came back"
    assert "GCS did not take" in task_log(), "the pauses were logged"
