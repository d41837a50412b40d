"""The batch operator in dag.test() on a real SQLite metadata DB: the catalogue example, a mapped
upstream task feeding the items, and a worker that dies mid-batch (the retry pays for nothing twice)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET

from .conftest import task_states

MODES = [pytest.param(False, id="sync"), pytest.param(True, id="deferrable")]


def landed_keys(manifest: dict) -> list[str]:
    return [key for item in manifest["results"] for key in item.get("s3", ())]


def stored_manifest(s3, manifest: dict) -> dict:
    key = manifest["manifest"].removeprefix(f"s3://{EXAMPLE_BUCKET}/")
    return json.loads(s3.client().get_object(Bucket=EXAMPLE_BUCKET, Key=key)["Body"].read())


@pytest.mark.parametrize("deferrable", MODES)
def test_the_catalogue_example_draws_every_csv_row_under_a_dated_prefix(
    run_dag, nanobanana_emulator, nanobanana_s3, deferrable
):
    dag_run = run_dag("nanobanana_catalogue_batch", deferrable=deferrable)

    assert str(dag_run.state) == "success", task_states(dag_run)
    manifest = dag_run.get_task_instance("draw_catalogue").xcom_pull(task_ids="draw_catalogue")
    assert (manifest["items"], manifest["succeeded"]) == (8, 8)
    assert nanobanana_emulator.counters()["accepted"]["acedata"] == 8
    day = dag_run.logical_date.strftime("%Y-%m-%d") if dag_run.logical_date else None
    keys = landed_keys(manifest)
    assert len(keys) == 8
    assert all(key.startswith(f"catalogue/{day}/") for key in keys)
    stored = stored_manifest(nanobanana_s3, manifest)
    assert [obj["key"] for item in stored["results"] for obj in item["s3"]] == keys
    folder = manifest["manifest"].removeprefix(f"s3://{EXAMPLE_BUCKET}/").rpartition("/")[0]
    listed = nanobanana_s3.client().list_objects_v2(Bucket=EXAMPLE_BUCKET, Prefix=folder + "/")
    assert len(listed["Contents"]) == 9, "eight images and the manifest, side by side"


def test_a_mapped_upstream_task_feeds_the_items(run_dag, nanobanana_emulator, nanobanana_s3):
    dag_run = run_dag("nanobanana_test_batch_mapped_upstream", deferrable=True)

    assert str(dag_run.state) == "success", task_states(dag_run)
    manifest = dag_run.get_task_instance("draw").xcom_pull(task_ids="draw")
    assert manifest["succeeded"] == 3
    assert nanobanana_emulator.counters()["accepted"]["modelslab"] == 3


@pytest.fixture
def worker_dies_after_the_first_job_ids_are_recorded(kill_worker_once_recorded):
    return kill_worker_once_recorded("job_id")


@pytest.mark.parametrize("deferrable", MODES)
def test_a_worker_killed_mid_batch_is_retried_without_paying_twice(
    run_dag, nanobanana_emulator, nanobanana_s3, worker_dies_after_the_first_job_ids_are_recorded, deferrable
):
    dag_run = run_dag("nanobanana_test_batch_mapped_upstream", deferrable=deferrable)

    assert worker_dies_after_the_first_job_ids_are_recorded == [2], "the first wave's two jobs were recorded"
    assert str(dag_run.state) == "success", task_states(dag_run)
    ti = dag_run.get_task_instance("draw")
    assert ti.try_number == 2
    assert nanobanana_emulator.counters()["accepted"]["modelslab"] == 3
    assert len(landed_keys(ti.xcom_pull(task_ids="draw"))) == 3
