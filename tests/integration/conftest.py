"""The dag.test() tier: a real SQLite metadata DB, the example DAGs, and the emulator over HTTP."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from airflow_versions import dag_bag, migrate_metadata_db

REPO = Path(__file__).resolve().parents[2]
# The Gemini worker-death DAGs are shared with the deployment tier.
DAG_SOURCES = [
    *(REPO / "example_dags").glob("example_*.py"),
    *(Path(__file__).parent / "dags").glob("*.py"),
    REPO / "tests" / "deployment" / "dags" / "gemini_dags.py",
]


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate a fresh SQLite DB in the session's AIRFLOW_HOME and fill its DAGs folder."""
    dags_folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    for source in DAG_SOURCES:
        shutil.copy(source, dags_folder / source.name)
    migrate_metadata_db()
    return dags_folder


@pytest.fixture
def example_bucket(nanobanana_s3) -> str:
    """The example DAGs' bucket on the local S3 endpoint, with the edit example's inputs."""
    from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, seed_example_bucket

    seed_example_bucket(nanobanana_s3)
    return EXAMPLE_BUCKET


@pytest.fixture
def run_dag(airflow_db, nanobanana_connections, example_bucket, monkeypatch):
    """Run one DAG with ``dag.test()``; ``deferrable`` sets ``[operators] default_deferrable`` for it,
    and ``test_kwargs`` go to ``dag.test()`` (``mark_success_pattern``, ``run_conf``)."""

    def run(dag_id: str, *, deferrable: bool, **test_kwargs):
        monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", str(deferrable))
        bag = dag_bag(str(airflow_db))
        assert not bag.import_errors, bag.import_errors
        dag = bag.get_dag(dag_id)
        if hasattr(dag, "sync_to_db"):
            # Airflow 2's dag.test() does not write the DAG to the DB; its DAG processor would, and
            # asset-alias events need the alias row that creates.
            dag.sync_to_db()
        return dag.test(**test_kwargs)

    return run


@pytest.fixture
def kill_worker_once_recorded(monkeypatch):
    """Arm a worker death: the first time a page of the batch ledger records items with ``field``
    (a job id, or a Gemini batch), the write lands and the task process dies. Returns the list
    that records how many such items there were when it died."""
    from airflow_provider_nanobanana.batch.state import HEAD
    from airflow_provider_nanobanana.ledger.store import TaskInstanceStore

    set_value = TaskInstanceStore.set
    deaths: list[int] = []

    def arm(field: str) -> list[int]:
        def set_then_die(self, name, value):
            set_value(self, name, value)
            page = value if name.startswith(f"{HEAD}.p") else {}
            recorded = [record for record in page.values() if record.get(field)]
            if recorded and not deaths:
                deaths.append(len(recorded))
                raise SystemExit("worker killed mid-batch")

        monkeypatch.setattr(TaskInstanceStore, "set", set_then_die)
        return deaths

    return arm


def task_states(dag_run) -> dict[str, str]:
    return {
        f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: str(ti.state)
        for ti in dag_run.get_task_instances()
    }


def assert_landed(s3, landed: list[dict], image_urls: list[str]) -> None:
    """Each landed object holds exactly the bytes the emulator serves for that image."""
    import hashlib

    import httpx

    assert len(landed) == len(image_urls)
    client = s3.client()
    for item, url in zip(landed, image_urls, strict=True):
        stored = client.get_object(Bucket=item["bucket"], Key=item["key"])
        body = stored["Body"].read()
        assert hashlib.sha256(body).hexdigest() == item["sha256"] == stored["Metadata"]["sha256"]
        assert hashlib.sha256(httpx.get(url).content).hexdigest() == item["sha256"]
        assert stored["ContentType"] == item["content_type"]
