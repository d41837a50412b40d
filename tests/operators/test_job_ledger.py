"""The job ledger: the task state store on Airflow 3.3+, an Airflow Variable before that; an entry
outlives the work it records until Airflow has recorded the task's success."""

from __future__ import annotations

import json

from airflow.models.variable import Variable as VariableModel
from airflow_fakes import FakeTaskInstance, FakeVariable
from airflow_versions import needs_airflow_3

from airflow_provider_nanobanana.ledger.finished import FINISHED, finished_by, settle_ledger_on_success
from airflow_provider_nanobanana.ledger.job import KEY, JobLedger
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

from .conftest import variable_name

ENTRY = {"vendor": "acedata", "job_id": "task-1", "submitted_at": 1_700_000_000.5}


def test_state_store_backend_remembers_recalls_and_forgets(context):
    ledger = JobLedger(context)
    assert ledger.store.uses_state_store
    assert ledger.recall() is None

    ledger.remember(ENTRY)
    assert context["task_state_store"].data == {KEY: ENTRY}
    assert JobLedger(context).recall() == ENTRY, "a new try sees what the earlier one stored"

    ledger.forget()
    assert context["task_state_store"].data == {}


def test_variable_backend_is_keyed_by_the_task_instance(legacy_context):
    ledger = JobLedger(legacy_context)
    assert not ledger.store.uses_state_store

    ledger.remember(ENTRY)
    name = variable_name(legacy_context["ti"])
    assert json.loads(FakeVariable.store[name]) == ENTRY
    assert JobLedger(legacy_context).recall() == ENTRY

    other_ti = FakeTaskInstance()
    other_ti.map_index = 3
    assert JobLedger({"ti": other_ti}).recall() is None, "each mapped task instance has its own entry"

    ledger.forget()
    assert FakeVariable.store == {}
    ledger.forget()  # forgetting twice (nothing stored) must not raise


def test_variable_key_fits_the_variable_key_column(legacy_context):
    ti = legacy_context["ti"]
    ti.dag_id = "marketing_" + "campaign_assets_" * 6  # 106 characters, well under the 250 allowed
    ti.task_id = "render_group.per_locale_group." + "draw_hero_image_" * 5  # 110 characters
    ti.run_id = "scheduled__2026-01-01T00:00:00+00:00"
    JobLedger(legacy_context).remember(ENTRY)
    (name,) = FakeVariable.store
    assert len(name) <= VariableModel.__table__.c.key.type.length


def test_a_retry_looks_again_before_believing_its_variable_absent(legacy_context, monkeypatch):
    """Airflow reads a Variable as absent when its database does not answer; a retry that believed
    it would submit (and pay for) a second job."""
    from airflow_provider_nanobanana import airflow_lookups

    monkeypatch.setattr(airflow_lookups, "RECHECK_DELAYS", (0.0, 0.0))
    JobLedger(legacy_context).remember(ENTRY)
    answers = iter([None, json.dumps(ENTRY)])  # the database was restarting at the first read
    monkeypatch.setattr(FakeVariable, "get", classmethod(lambda cls, key, default=None, /: next(answers)))
    legacy_context["ti"].try_number = 2

    assert JobLedger(legacy_context).recall() == ENTRY


def test_a_first_try_reads_its_variable_once(legacy_context, monkeypatch):
    reads = []
    monkeypatch.setattr(FakeVariable, "get", classmethod(lambda cls, key, default=None, /: reads.append(key)))

    assert JobLedger(legacy_context).recall() is None
    assert len(reads) == 1, "a first try has no entry to miss: no waiting"


def test_a_finished_entry_records_the_try_and_the_task_instance_it_belongs_to(context):
    context["ti"].try_number = 3
    JobLedger(context).finish(ENTRY, {"job_id": "task-1"})

    entry = JobLedger(context).recall()
    assert finished_by(entry) == 3
    assert entry["summary"] == {"job_id": "task-1"}
    assert (entry[FINISHED]["dag_id"], entry[FINISHED]["map_index"]) == ("nanobanana_dag", -1)


@needs_airflow_3  # Airflow 3's success callback; on 2.11 the next task's start sweeps
def test_the_success_callback_deletes_the_entry_only_once_airflow_reads_the_task_as_successful(context):
    operator = NanoBananaGenerateImageOperator(task_id="draw", conn_id="c", prompt="a banana")
    context["task"] = operator
    JobLedger(context).finish(ENTRY, {"job_id": "task-1"})
    (callback, *_) = operator.on_success_callback

    callback(context)  # Airflow has not recorded the success (it reads "running")
    assert finished_by(JobLedger(context).recall()) == 1, "kept: a retry must not pay again"

    context["ti"].recorded_state = "success"
    callback(context)
    assert JobLedger(context).recall() is None


def test_a_finished_entry_records_max_tries_so_a_clear_tells_a_rerun_from_a_retry(context):
    context["ti"].max_tries = 3
    JobLedger(context).finish(ENTRY, {"job_id": "task-1"})
    assert JobLedger(context).recall()[FINISHED]["max_tries"] == 3


def test_the_cleanup_runs_before_the_dags_own_success_callbacks(context):
    seen = []
    operator = NanoBananaGenerateImageOperator(
        task_id="draw", conn_id="c", prompt="a banana", on_success_callback=seen.append
    )
    assert operator.on_success_callback[0] is settle_ledger_on_success
    assert len(operator.on_success_callback) == 2, "the DAG's callback is kept"
