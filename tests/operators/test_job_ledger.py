"""JobLedger: the task state store on Airflow 3.3+, an Airflow Variable before that."""

from __future__ import annotations

import json

from airflow.models.variable import Variable as VariableModel

from airflow_provider_nanobanana.operators.job_ledger import STATE_KEY, JobLedger

from .conftest import FakeTaskInstance, FakeVariable, variable_name

ENTRY = {"vendor": "acedata", "job_id": "task-1", "submitted_at": 1_700_000_000.5}


def test_state_store_backend_remembers_recalls_and_forgets(context):
    ledger = JobLedger(context)
    assert ledger.uses_state_store
    assert ledger.recall() is None

    ledger.remember(ENTRY)
    assert context["task_state_store"].data == {STATE_KEY: ENTRY}
    assert JobLedger(context).recall() == ENTRY, "a new try sees what the earlier one stored"

    ledger.forget()
    assert context["task_state_store"].data == {}


def test_variable_backend_is_keyed_by_the_task_instance(legacy_context):
    ledger = JobLedger(legacy_context)
    assert not ledger.uses_state_store

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
