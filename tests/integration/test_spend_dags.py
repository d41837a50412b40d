"""Money in dag.test() on a real SQLite metadata DB: the budgeted example (dry run, approval,
capped batch) and a batch that stops at its cap, lands what it paid for and names the rest."""

from __future__ import annotations

import json

import pytest

from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET

from .conftest import task_states


def stored_manifest(s3, manifest: dict) -> dict:
    key = manifest["manifest"].removeprefix(f"s3://{EXAMPLE_BUCKET}/")
    return json.loads(s3.client().get_object(Bucket=EXAMPLE_BUCKET, Key=key)["Body"].read())


def test_the_budgeted_example_estimates_then_draws_within_its_cap(
    run_dag, nanobanana_emulator, nanobanana_s3
):
    # A person approves on Airflow 3.1+; here the approval is marked done, as `airflow dags test` lets.
    dag_run = run_dag("nanobanana_budgeted_batch", deferrable=True, mark_success_pattern="approve")

    assert str(dag_run.state) == "success", task_states(dag_run)
    ti = dag_run.get_task_instance("estimate")
    estimate = ti.xcom_pull(task_ids="estimate")
    assert (estimate["dry_run"], estimate["items"], estimate["images"]) == (True, 40, 40)
    assert estimate["cost_usd"] == pytest.approx(40 * 1120 * 60 / 1e6 / 2)
    assert estimate["within_cap"] is True
    manifest = ti.xcom_pull(task_ids="draw")
    assert manifest["succeeded"] == 40
    assert manifest["cost_basis"] == "reported"
    assert manifest["cost_usd"] == pytest.approx(estimate["cost_usd"], rel=0.01), "the estimate held"
    assert nanobanana_emulator.counters()["accepted"]["gemini"] == 1, "one batch: the dry run sent none"
    stored = stored_manifest(nanobanana_s3, manifest)
    assert sum(item["cost_usd"] for item in stored["results"]) == pytest.approx(manifest["cost_usd"])


def test_a_batch_stops_at_its_cap_lands_what_it_paid_for_and_names_the_rest(
    run_dag, nanobanana_emulator, nanobanana_s3, monkeypatch
):
    priced = nanobanana_emulator.connection_json("acedata", prices={"nano-banana": 0.04})
    monkeypatch.setenv("AIRFLOW_CONN_ACEDATA_PRICED", priced)

    dag_run = run_dag("nanobanana_test_batch_budget", deferrable=True)

    ti = dag_run.get_task_instance("draw")
    assert str(ti.state) == "failed"
    assert ti.try_number == 1, "a budget stop fails without spending retries"
    assert nanobanana_emulator.counters()["accepted"]["acedata"] == 25
    manifest = ti.xcom_pull(task_ids="draw", key="manifest")
    assert (manifest["succeeded"], manifest["not_submitted"]) == (25, {"budget": 15})
    assert manifest["cost_usd"] == 1.0
    stored = stored_manifest(nanobanana_s3, manifest)
    landed = [item for item in stored["results"] if item["state"] == "landed"]
    unsent = [item["index"] for item in stored["results"] if item.get("reason") == "budget"]
    assert len(landed) == 25
    assert unsent == list(range(25, 40))
