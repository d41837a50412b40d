"""Deferrable operators submit once, record the job id, then hand the wait to the trigger."""

from __future__ import annotations

import time

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

from .conftest import CONN_IDS, FakeVariable, ledger_entry, variable_name
from .support import GENERATION_ENDPOINT, OPERATORS, OTHER_VENDOR, VENDORS

TIMEOUT = 600.0


@pytest.mark.parametrize("kind", sorted(OPERATORS))
@pytest.mark.parametrize("vendor", VENDORS)
def test_deferrable_execute_records_the_job_then_defers_to_the_trigger(emulator, context, vendor, kind):
    operator_class, arguments = OPERATORS[kind]
    operator = operator_class(
        task_id="draw",
        conn_id=CONN_IDS[vendor],
        prompt="a ripe banana",
        deferrable=True,
        poll_interval=0.1,
        timeout=TIMEOUT,
        **arguments,
    )
    started = time.time()
    with pytest.raises(TaskDeferred) as raised:
        operator.execute(context)
    deferred = raised.value
    entry = deferred.kwargs["entry"]
    job_id = entry["job_id"]

    assert job_id
    trigger = deferred.trigger
    assert isinstance(trigger, NanoBananaJobTrigger)
    assert trigger.vendor == vendor
    assert trigger.conn_id == CONN_IDS[vendor]
    assert trigger.job_ids == [job_id]
    assert trigger.poll_interval == 0.1
    # ModelsLab announces an eta (1 s here): the first poll is at 3/4 of it, as an epoch time, so
    # a trigger resumed by another triggerer does not start that wait over. AceData gives none:
    # the first poll comes after the minimum deferral (none in-process).
    if vendor == "modelslab":
        assert started + 0.75 <= trigger.first_poll_at <= time.time() + 0.75
    else:
        assert started <= trigger.first_poll_at <= time.time()
    assert started + TIMEOUT <= trigger.end_time <= time.time() + TIMEOUT
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout.total_seconds() == pytest.approx(TIMEOUT + 60, abs=5)

    # Raising TaskDeferred ended execute(), so the entry was stored before the deferral.
    assert ledger_entry(context) == entry
    assert entry["vendor"] == vendor
    assert started <= entry["submitted_at"] <= time.time()
    assert context["ti"].xcom == [("job_id", job_id)]

    counters = emulator.counters()
    assert counters["accepted"] == {vendor: 1, OTHER_VENDOR[vendor]: 0, "gemini": 0}
    assert counters["requests"][GENERATION_ENDPOINT[(vendor, kind)]] == 1
    assert counters["polls"] == {}, "a deferring operator leaves every poll to the trigger"


def test_deferrable_execute_without_state_store_records_the_job_in_a_variable(emulator, legacy_context):
    operator_class, _ = OPERATORS["generate"]
    operator = operator_class(
        task_id="draw", conn_id=CONN_IDS["acedata"], prompt="a ripe banana", deferrable=True
    )
    with pytest.raises(TaskDeferred) as raised:
        operator.execute(legacy_context)
    entry = raised.value.kwargs["entry"]
    assert ledger_entry(legacy_context) == entry
    assert variable_name(legacy_context["ti"]) in FakeVariable.store
    assert emulator.counters()["accepted"]["acedata"] == 1
