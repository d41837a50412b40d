"""Every transition of a batch item, and what a new try makes of each state it ended in."""

from __future__ import annotations

import re

import pytest

from airflow_provider_nanobanana.batch.state import BatchState


def fresh(size: int = 4) -> BatchState:
    return BatchState("fp", "acedata", size, 1, deadline=1e12, started_at=1000.0)


def test_an_item_the_ledger_does_not_list_is_queued_and_sendable():
    state = fresh()
    assert state.indexes("queued") == [0, 1, 2, 3]
    assert state.sendable(now=1000.0) == [0, 1, 2, 3]


def test_intent_then_job_id_makes_an_item_running_and_its_job_waited_for():
    state = fresh()
    state.intend([0, 1], now=1001.0)
    assert state.indexes("sent") == [0, 1]
    assert state.polled() == {}, "an intent has no job to wait for"
    state.submitted(0, "job-a")
    assert state.state_of(0) == "running"
    assert state.items[0]["sent_at"] == 1001.0, "the intent's time is kept for a lost-answer search"
    assert state.polled() == {"job-a": [0]}


def test_items_of_one_bulk_job_are_waited_for_through_it_and_forget_it_when_requeued():
    state = fresh(3)
    state.intend([0, 1, 2], now=1000.0, display_name="nanobanana-x")
    assert {state.items[index]["display_name"] for index in range(3)} == {"nanobanana-x"}
    for index in range(3):
        state.submitted(index, f"b1-{index}", batch="batches/b1")
    assert state.polled() == {"batches/b1": [0, 1, 2]}
    state.end(1, "failed", "line failed")
    state.begin_try(2, deadline=5000.0)
    assert state.state_of(1) == "queued"
    assert not {"job_id", "batch", "display_name"} & set(state.items[1]), "a new wave makes a new batch"
    assert state.polled() == {"batches/b1": [0, 2]}


def test_a_requeued_item_waits_until_its_hold_passes_or_is_released():
    state = fresh(2)
    state.intend([0], now=1000.0)
    state.requeue(0, not_before=1030.0, reason="429")
    assert state.sendable(now=1010.0) == [1]
    assert state.next_wake() == 1030.0
    assert state.sendable(now=1030.0) == [0, 1]
    state.release_holds()
    assert state.sendable(now=1010.0) == [0, 1]


@pytest.mark.parametrize(
    ("ended_as", "after_retry", "keeps_job"),
    [
        ("failed", "queued", False),
        ("not_submitted", "queued", False),
        ("timed_out", "running", True),
        ("refused", "refused", True),
        ("possibly_billed", "possibly_billed", True),
        ("succeeded", "succeeded", True),
        ("landed", "landed", True),
        ("sent", "sent", True),
    ],
)
def test_a_new_try_gives_each_final_state_only_the_second_chance_it_allows(ended_as, after_retry, keeps_job):
    state = fresh(1)
    state.intend([0], now=1000.0)
    state.submitted(0, "job-a")
    state.end(0, ended_as, "why")
    state.begin_try(2, deadline=2e12)
    assert state.state_of(0) == after_retry
    assert ("job_id" in state.items[0]) is keeps_job
    assert state.deadline == 2e12


def test_the_same_try_resuming_changes_nothing():
    state = fresh(1)
    state.end(0, "failed", "why")
    state.begin_try(1, deadline=5.0)
    assert state.state_of(0) == "failed"
    assert state.deadline == 1e12


def test_the_state_survives_json_as_the_ledger_stores_it():
    import json

    state = fresh()
    state.intend([2], now=1000.0)
    state.submitted(2, "job-c")
    again = BatchState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state


def test_the_progress_line_counts_done_in_flight_failed_landed_and_an_eta(monkeypatch):
    state = fresh(10)
    state.intend([0, 1, 2, 3], now=1000.0)
    for index in range(3):
        state.submitted(index, f"job-{index}")
    monkeypatch.setattr("time.time", lambda: 1060.0)
    state.end(
        0, "landed", objects=[{"key": "k", "size": 3 * 1024**3, "sha256": "s", "content_type": "image/png"}]
    )
    state.end(1, "refused", "moderation")
    line = state.progress_line(now=1060.0)
    assert re.fullmatch(r"2/10 done, 2 in flight, 1 failed, 3\.0 GiB landed, eta 4 min", line), line
