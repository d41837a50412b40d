"""The scale tier's cluster, built once for its test module: PostgreSQL, Redis, the Celery
cluster of :mod:`.cluster`, and an emulator whose jobs take 10 to 30 s each, as real queues do.

Size: ``NANOBANANA_SCALE_PROMPTS`` prompts for the load run (40 in ``make test``, 200 in
``make test-scale``); the other checks scale with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.local_s3 import LocalS3

from ..conftest import REPO, running
from ..deployment import AirflowDeployment
from ..services import PostgreSQLServer, RedisServer
from .cluster import celery_cluster

JOB_SECONDS = (10.0, 30.0)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgreSQLServer]:
    with PostgreSQLServer() as server:
        yield server


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def vendor() -> Iterator[Emulator]:
    shortest, longest = JOB_SECONDS
    settings = EmulatorSettings(processing_seconds=shortest, processing_seconds_max=longest)
    with Emulator(settings=settings) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory, postgres: PostgreSQLServer, redis: RedisServer, vendor: Emulator, s3: LocalS3
) -> Iterator[AirflowDeployment]:
    deployment = celery_cluster(
        tmp_path_factory.mktemp("celery-cluster"),
        [REPO / "tests" / "deployment" / "dags"],
        postgres,
        redis,
    )
    with running(deployment, vendor, s3):
        yield deployment
