"""One real Airflow deployment for the whole ``tests/deployment`` package, with its own emulator
(jobs take 20 s, long enough to see the waiting tasks deferred) and local S3 endpoint.

Run alone with ``pytest -m deployment``. Connections are created through the REST API only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, LocalS3, seed_example_bucket

from .deployment import AirflowDeployment, free_port

REPO = Path(__file__).resolve().parents[2]
# Long enough that a waiting task starts (and pokes once) before its job is done, even when the
# scheduler is slow to start it on a loaded 2-core machine; otherwise it would never defer.
JOB_SECONDS = 20.0
# One in-task retry: a burst of two errors then reaches Airflow's own task retry.
HOOK_EXTRA = {"max_retries": 1}


@pytest.fixture(scope="session")
def vendor() -> Iterator[Emulator]:
    with Emulator(settings=EmulatorSettings(processing_seconds=JOB_SECONDS)) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def s3() -> Iterator[LocalS3]:
    with LocalS3() as local_s3:
        seed_example_bucket(local_s3)
        yield local_s3


def connection_body(conn_id: str, spec: str) -> dict[str, object]:
    """A REST API connection body from the JSON an ``AIRFLOW_CONN_*`` variable would hold."""
    fields = json.loads(spec)
    return {
        "connection_id": conn_id,
        "conn_type": fields["conn_type"],
        "host": fields.get("host"),
        "login": fields.get("login"),
        "password": fields.get("password"),
        "extra": json.dumps(fields.get("extra", {})),
    }


@contextmanager
def running(
    deployment: AirflowDeployment, vendor: Emulator, s3: LocalS3, stores: dict[str, str] | None = None
) -> Iterator[AirflowDeployment]:
    """Start ``deployment``, create the vendor, S3 (and ``stores``': conn_id -> JSON) connections
    through its REST API, and stop it however the block ends (log tails printed when it did not
    come up)."""
    try:
        deployment.start()
        for conn_id, spec in {
            "nanobanana_modelslab_default": vendor.connection_json("modelslab", **HOOK_EXTRA),
            "nanobanana_acedata_default": vendor.connection_json("acedata", **HOOK_EXTRA),
            "nanobanana_gemini_default": vendor.connection_json("gemini", **HOOK_EXTRA),
            "aws_default": s3.connection_json(),
            **(stores or {}),
        }.items():
            answer = deployment.api.post("/connections", json=connection_body(conn_id, spec))
            assert answer.status_code == 201, answer.text
        yield deployment
    except (httpx.HTTPError, RuntimeError, TimeoutError):
        print(deployment.logs_tail())
        raise
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[str]:
    """A GCS emulator on loopback with the example bucket; yields its URL."""
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=EXAMPLE_BUCKET)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory) -> Iterator[str]:
    """Azurite with the example container; yields its connection string."""
    from azure.storage.blob import BlobServiceClient
    from stores.conftest import azurite_connection_string, start_azurite

    port = free_port()
    server = start_azurite(port, tmp_path_factory.mktemp("azurite"))
    try:
        connection = azurite_connection_string(port)
        BlobServiceClient.from_connection_string(connection).create_container(EXAMPLE_BUCKET)
        yield connection
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def airflow(
    tmp_path_factory, vendor: Emulator, s3: LocalS3, gcs_server: str, azurite_server: str
) -> Iterator[AirflowDeployment]:
    deployment = AirflowDeployment(
        tmp_path_factory.mktemp("airflow-home"),
        [REPO / "example_dags", Path(__file__).parent / "dags"],
        settings={"STORAGE_EMULATOR_HOST": gcs_server},
    )
    stores = {
        "google_cloud_default": json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": "local"}}
        ),
        "wasb_default": json.dumps({"conn_type": "wasb", "extra": {"connection_string": azurite_server}}),
    }
    with running(deployment, vendor, s3, stores):
        yield deployment
