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
from airflow_provider_nanobanana.emulator.local_s3 import LocalS3, seed_example_bucket

from .deployment import AirflowDeployment

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
def running(deployment: AirflowDeployment, vendor: Emulator, s3: LocalS3) -> Iterator[AirflowDeployment]:
    """Start ``deployment``, create the vendor and S3 connections through its REST API, and stop
    it however the block ends (log tails printed when it did not come up)."""
    try:
        deployment.start()
        for conn_id, spec in {
            "nanobanana_modelslab_default": vendor.connection_json("modelslab", **HOOK_EXTRA),
            "nanobanana_acedata_default": vendor.connection_json("acedata", **HOOK_EXTRA),
            "nanobanana_gemini_default": vendor.connection_json("gemini", **HOOK_EXTRA),
            "aws_default": s3.connection_json(),
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
def airflow(tmp_path_factory, vendor: Emulator, s3: LocalS3) -> Iterator[AirflowDeployment]:
    deployment = AirflowDeployment(
        tmp_path_factory.mktemp("airflow-home"), [REPO / "example_dags", Path(__file__).parent / "dags"]
    )
    with running(deployment, vendor, s3):
        yield deployment
