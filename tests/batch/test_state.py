"""Every transition of a batch item, what a new try makes of each state it ended in, and the pages
the ledger keeps them in: no stored value grows with the batch, nor do the bytes written per item."""

from __future__ import annotations

import json
import re

import pytest
from airflow_fakes import FakeTaskInstance, FakeTaskStateStore

from airflow_provider_nanobanana.batch.pages import PAGE_ITEMS
from airflow_provider_nanobanana.batch.state import HEAD, BatchState
from airflow_provider_nanobanana.ledger.store import VALUE_BUDGET, TaskInstanceStore


def new_store() -> TaskInstanceStore:
    return TaskInstanceStore({"ti": FakeTaskInstance(), "task_state_store": FakeTaskStateStore()})


def fresh(size: int = 4, *, lands: bool = False, store: TaskInstanceStore | None = None) -> BatchState:
    state = BatchState(store or new_store(), "fp", "acedata", size, lands=lands)
    state.begin_try(1, deadline=1e12)
    return state


def reloaded(state: BatchState) -> BatchState:
    """The ledger as the next step reads it back."""
    state.save()
    again = BatchState.load(state.store, expected=False)
    assert again is not None
    return again


def test_an_item_never_sent_is_queued_and_sendable_in_order():
    state = fresh()
    assert [state.state_of(index) for index in range(4)] == ["queued"] * 4
    assert state.sendable(now=1000.0, limit=3) == [0, 1, 2]


def test_intent_then_job_id_makes_an_item_running_and_its_job_waited_for():
    state = fresh()
    state.intend([0, 1], now=1001.0)
    assert state.open_indexes("sent") == [0, 1]
    assert state.polled() == {}, "an intent has no job to wait for"
    state.submitted(0, "job-a")
    assert state.state_of(0) == "running"
    assert state.record(0)["sent_at"] == 1001.0, "the intent's time is kept for a lost-answer search"
    assert reloaded(state).polled() == {"job-a": [0]}


def test_items_of_one_bulk_job_are_waited_for_through_it_and_forget_it_when_requeued():
    state = fresh(3)
    state.intend([0, 1, 2], now=1000.0, display_name="nanobanana-x")
    assert {state.record(index)["display_name"] for index in range(3)} == {"nanobanana-x"}
    for index in range(3):
        state.submitted(index, f"b1-{index}", batch="batches/b1")
    assert state.polled() == {"batches/b1": [0, 1, 2]}
    state.end(1, "failed", "line failed")
    state = reloaded(state)
    state.begin_try(2, deadline=5000.0)
    assert state.state_of(1) == "queued"
    assert not {"job_id", "batch", "display_name"} & set(state.record(1)), "a new wave makes a new batch"
    assert state.polled() == {"batches/b1": [0, 2]}


def test_a_requeued_item_waits_until_its_hold_passes_or_is_released():
    state = fresh(2)
    state.intend([0], now=1000.0)
    state.requeue(0, not_before=1030.0, reason="429")
    assert state.sendable(now=1010.0, limit=2) == [1]
    assert state.next_wake() == 1030.0
    assert state.sendable(now=1030.0, limit=2) == [0, 1]
    state.release_holds()
    assert reloaded(state).sendable(now=1010.0, limit=2) == [0, 1]


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
    state = reloaded(state)
    state.begin_try(2, deadline=2e12)
    assert state.state_of(0) == after_retry
    assert ("job_id" in state.record(0)) is keeps_job
    assert state.deadline == 2e12


def test_the_same_try_resuming_changes_nothing():
    state = fresh(1)
    state.intend([0], now=1000.0)
    state.end(0, "failed", "why")
    state.begin_try(1, deadline=5.0)
    assert state.state_of(0) == "failed"
    assert state.deadline == 1e12


def test_items_never_sent_before_the_deadline_are_not_submitted_and_queued_again_by_a_retry():
    state = fresh(60)
    state.intend(range(3), now=1000.0)
    state.time_out()
    assert [state.state_of(index) for index in (0, 59)] == ["sent", "not_submitted"]
    assert state.count("not_submitted") == 57
    state = reloaded(state)
    state.begin_try(2, deadline=2e12)
    assert state.state_of(59) == "queued"
    assert state.sendable(now=1000.0, limit=2) == [3, 4]


def test_the_progress_line_counts_done_in_flight_failed_landed_and_an_eta(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1000.0)
    state = fresh(10, lands=True)
    state.intend([0, 1, 2, 3], now=1000.0)
    for index in range(3):
        state.submitted(index, f"job-{index}")
    state.landed(0, [{"key": "k", "size": 3 * 1024**3, "sha256": "s", "content_type": "image/png"}])
    state.end(1, "refused", "moderation")
    line = state.progress_line(now=1060.0)
    assert re.fullmatch(r"2/10 done, 2 in flight, 1 failed, 3\.0 GiB landed, eta 4 min", line), line


def test_the_head_is_the_authority_a_page_written_for_a_wave_never_sent_is_ignored():
    """A worker lost between writing a wave's intents (pages first) and the head that records them
    left nothing at the vendor: the next step sees those items as never sent."""
    state = fresh(30)
    state.intend([0], now=1000.0)
    state.save()
    state.intend([1, 2], now=1001.0)
    state.records.flush(lambda record: True)  # the pages went out, the head did not
    again = BatchState.load(state.store, expected=False)
    assert [again.state_of(index) for index in (0, 1, 2)] == ["sent", "queued", "queued"]
    assert again.sendable(now=1001.0, limit=2) == [1, 2]


def land_every_item(state: BatchState, key_length: int) -> None:
    """Send, run and land every item, four images each, a wave of ten at a time, saving each step."""
    for start in range(0, state.size, 10):
        wave = list(range(start, min(start + 10, state.size)))
        state.intend(wave, now=1000.0)
        state.save()
        for index in wave:
            state.submitted(index, f"job-{index:08d}-{'x' * 28}")
        state.save()
        for index in wave:
            objects = [
                {
                    "key": f"{'k' * key_length}/{index}_{n}.png",
                    "size": 10,
                    "sha256": "f" * 64,
                    "content_type": "image/png",
                }
                for n in range(4)
            ]
            state.landed(index, objects)
        state.save()


def test_no_stored_value_outgrows_the_budget_even_when_items_hold_four_long_keys_each():
    store = new_store()
    state = fresh(300, lands=True, store=store)
    land_every_item(state, key_length=400)

    assert state.all_done()
    assert store.largest_value <= VALUE_BUDGET, "a page that outgrew the budget was split"
    assert state.records.splits, "2 KB records do not fit 25 to a page"
    again = BatchState.load(store, expected=False)
    assert [record["state"] for _, record in again.every_record()] == ["landed"] * 300
    assert len(again.head()["open_pages"]) == 0


def test_bytes_written_per_item_do_not_grow_with_the_batch():
    per_item = {}
    for size in (200, 2000):
        store = new_store()
        land_every_item(fresh(size, lands=True, store=store), key_length=40)
        per_item[size] = store.bytes_written / size
        assert store.largest_value <= VALUE_BUDGET

    assert per_item[2000] <= per_item[200] * 1.1, per_item


def test_forgetting_deletes_every_page_and_the_head():
    store = new_store()
    state = fresh(3 * PAGE_ITEMS, store=store)
    state.intend(range(3 * PAGE_ITEMS), now=1000.0)
    state.save()
    assert len(store._store.data) == 4
    state.forget()
    assert store._store.data == {}


def test_the_ledger_survives_json_as_the_store_keeps_it():
    state = fresh()
    state.intend([0, 1], now=1000.0)
    state.submitted(1, "job-b")
    state.save()
    stored = json.loads(json.dumps(state.store._store.data))
    assert sorted(stored) == [HEAD, f"{HEAD}.p0"]
    assert stored[HEAD]["cursor"] == 2
    assert stored[f"{HEAD}.p0"]["1"]["job_id"] == "job-b"


def test_a_page_the_ledger_never_wrote_is_not_read(monkeypatch):
    """On Airflow's Variables an absent value is looked for again for 15 s: a new page must not be."""
    store = new_store()
    reads = []
    get = store.get
    monkeypatch.setattr(store, "get", lambda name, expected=False: reads.append(name) or get(name))
    state = fresh(3 * PAGE_ITEMS, store=store)
    state.intend(range(3 * PAGE_ITEMS), now=1000.0)
    state.save()
    assert reads == []
