"""A retried task reattaches to the job it already submitted: exactly one accepted generation request.

``dag.test()`` runs retries in-process, so a worker "killed right after submission" is an exception
raised the moment the job id is recorded, and an outage "during deferral" is a vendor that stops
answering its polls for longer than the old five-failure tolerance.
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_nanobanana import polling
from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.ledger.job import JobLedger

from .conftest import task_states

MODES = [pytest.param(False, id="sync"), pytest.param(True, id="deferrable")]
POLL_ENDPOINT = {"modelslab": "fetch", "acedata": "tasks"}


@pytest.fixture
def worker_dies_after_first_submission(monkeypatch):
    remember = JobLedger.remember
    deaths = []

    def remember_then_die(self, entry):
        remember(self, entry)
        if not deaths and entry["job_id"] is not None:
            deaths.append(entry["job_id"])
            raise SystemExit("worker killed right after submission")

    monkeypatch.setattr(JobLedger, "remember", remember_then_die)
    return deaths


@pytest.mark.parametrize("deferrable", MODES)
@pytest.mark.parametrize("vendor", ["modelslab", "acedata"])
def test_retry_after_worker_death_reattaches_instead_of_resubmitting(
    run_dag, nanobanana_emulator, worker_dies_after_first_submission, vendor, deferrable
):
    dag_run = run_dag(f"nanobanana_test_retry_{vendor}", deferrable=deferrable)
    assert str(dag_run.state) == "success", task_states(dag_run)
    ti = dag_run.get_task_instance("generate")
    assert ti.try_number == 2, "the first try died"
    assert nanobanana_emulator.counters()["accepted"][vendor] == 1
    assert ti.xcom_pull(task_ids="generate")["job_id"] == worker_dies_after_first_submission[0]


@pytest.mark.parametrize("vendor", ["modelslab", "acedata"])
def test_an_outage_during_deferral_is_ridden_out_in_the_same_try(
    run_dag, nanobanana_emulator, monkeypatch, vendor
):
    monkeypatch.setattr(polling, "OUTAGE_DELAY_CEILING", 0.2)
    extra = {"max_retries": 0}
    key = f"{vendor}-test-key"
    connection = {
        "conn_type": f"nanobanana_{vendor}",
        "host": nanobanana_emulator.url,
        "password": key,
        "extra": extra,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_NANOBANANA_{vendor.upper()}_DEFAULT", json.dumps(connection))
    nanobanana_emulator.configure(processing_seconds=1.0)
    nanobanana_emulator.add_fault(
        Fault(vendor=vendor, endpoint=POLL_ENDPOINT[vendor], kind="server_error", times=8)
    )
    dag_run = run_dag(f"nanobanana_test_retry_{vendor}", deferrable=True)
    assert str(dag_run.state) == "success", task_states(dag_run)
    assert dag_run.get_task_instance("generate").try_number == 1, "eight failed polls cost no retry"
    assert nanobanana_emulator.counters()["accepted"][vendor] == 1
