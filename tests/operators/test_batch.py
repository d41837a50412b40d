"""The batch operator over real HTTP against the emulator (and moto's S3 server): bounded in flight,
polling in the worker while jobs keep ending and one trigger per wait otherwise, a ledger that
makes retries reattach and outlives the work until Airflow records the success, refusals counted
against ``max_failed_items``, and a manifest next to the images with a bounded one in XCom."""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow_versions import AIRFLOW_3

from airflow_provider_nanobanana.batch.state import HEAD, BatchState
from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaBatchItemsFailedError,
    NanoBananaBatchItemsRefusedError,
    NanoBananaInvalidRequestError,
)
from airflow_provider_nanobanana.hooks.registry import hook_for_connection
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind
from airflow_provider_nanobanana.ledger.store import TaskInstanceStore
from airflow_provider_nanobanana.operators import batch as batch_operator
from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator
from airflow_provider_nanobanana.triggers.batch import NanoBananaBatchTrigger

from .conftest import CONN_IDS, airflow_records_success
from .support import VENDORS, run_trigger

SUBMIT_ENDPOINT = {"modelslab": "text2img", "acedata": "images"}


@pytest.fixture
def defers_at_once(monkeypatch):
    """The task defers as soon as a poll finds nothing ended, instead of polling on in its worker."""
    monkeypatch.setattr(batch_operator, "STAY_IN_WORKER", 0.0)


def batch(vendor: str, items: Any, **kwargs: Any) -> NanoBananaBatchImageOperator:
    kwargs = {"deferrable": True, "poll_interval": 0.05, "timeout": 60, **kwargs}
    return NanoBananaBatchImageOperator(task_id="draw", conn_id=CONN_IDS[vendor], items=items, **kwargs)


def prompts(count: int) -> list[str]:
    return [f"product photo {number}" for number in range(count)]


def drive(operator: NanoBananaBatchImageOperator, context: dict[str, Any]) -> tuple[dict[str, Any], list]:
    """Run the task as Airflow would: execute, then each trigger to its event and resume."""
    triggers = []
    try:
        return operator.execute(context), triggers
    except TaskDeferred as deferred:
        pending = deferred
    while True:
        triggers.append(pending.trigger)
        (event,) = run_trigger(pending.trigger)
        try:
            return getattr(operator, pending.method_name)(context, event=event), triggers
        except TaskDeferred as deferred:
            pending = deferred


def saved_state(context: dict[str, Any]) -> BatchState:
    return BatchState.load(TaskInstanceStore(context), expected=False)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_batch_lands_every_item_keeping_at_most_max_in_flight_jobs(
    emulator, nanobanana_s3, nanobanana_bucket, context, defers_at_once, vendor
):
    operator = batch(
        vendor, prompts(7), max_in_flight=3, s3_output={"bucket": nanobanana_bucket, "prefix": "cat"}
    )
    manifest, triggers = drive(operator, context)

    assert emulator.counters()["accepted"][vendor] == 7
    assert max(len(trigger.job_ids) for trigger in triggers) <= 3
    assert all(isinstance(trigger, NanoBananaBatchTrigger) for trigger in triggers)
    assert (manifest["items"], manifest["succeeded"], manifest["failed"], manifest["images"]) == (7, 7, 0, 7)
    client = nanobanana_s3.client()
    for item in manifest["results"]:
        assert item["state"] == "landed"
        (key,) = item["s3"]
        assert client.get_object(Bucket=nanobanana_bucket, Key=key)["Body"].read()[:4] == b"\x89PNG"
    assert manifest["manifest"].startswith(f"s3://{nanobanana_bucket}/cat/")
    stored = json.loads(
        client.get_object(Bucket=nanobanana_bucket, Key=manifest["manifest"].split("/", 3)[3])["Body"].read()
    )
    landed = [obj for item in stored["results"] for obj in item["s3"]]
    assert len(landed) == 7
    body = client.get_object(Bucket=nanobanana_bucket, Key=landed[0]["key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == landed[0]["sha256"]
    assert saved_state(context).finished["manifest"] == manifest, "kept until the success is recorded"
    airflow_records_success(operator, context)
    if AIRFLOW_3:  # Airflow 2 runs callbacks before it commits: the next task's start sweeps the ledger
        assert context["task_state_store"].data == {}, "then every page and the head go"


def test_while_jobs_keep_ending_the_batch_polls_in_its_worker_and_never_defers(emulator, context):
    manifest, triggers = drive(batch("acedata", prompts(12), max_in_flight=4), context)

    assert manifest["succeeded"] == 12
    assert triggers == [], "each deferral is a task start, and a race with the scheduler"
    assert emulator.counters()["accepted"]["acedata"] == 12


def test_a_batch_defers_only_after_a_quiet_spell_and_its_trigger_waits_out_the_minimum(
    emulator, context, monkeypatch
):
    monkeypatch.setattr(batch_operator, "STAY_IN_WORKER", 0.3)
    monkeypatch.setenv("AIRFLOW__NANOBANANA__MIN_DEFERRAL_SECONDS", "15")
    emulator.configure(processing_seconds=3)
    with pytest.raises(TaskDeferred) as deferred:
        batch("acedata", prompts(2), poll_interval=0.1).execute(context)

    trigger = deferred.value.trigger
    polls = emulator.counters()["requests"]["acedata:tasks"]
    assert polls >= 2, "the worker polled before deferring"
    assert trigger.first_poll_at >= time.time() + 14, (
        "the trigger cannot fire before the scheduler saw the deferral"
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_bad_input_in_one_item_fails_before_any_request_naming_the_item(emulator, context, vendor):
    items = ["a banana", {"prompt": "a pear", "aspect_ratio": "7:3"}]
    with pytest.raises(NanoBananaInvalidRequestError, match=r"items\[1\]\.aspect_ratio") as raised:
        batch(vendor, items).execute(context)

    assert raised.value.value == "7:3"
    assert emulator.counters()["accepted"][vendor] == 0


def test_many_bad_items_are_counted_and_the_first_ten_listed_in_row_order(emulator, context):
    items = [{"prompt": f"a pear {row}", "aspect_ratio": "4:5" if row % 2 else "1:1"} for row in range(50)]
    items[4] = {"prompt": "a fig", "colour": "purple"}  # a different mistake, still in row order
    with pytest.raises(NanoBananaInvalidRequestError) as raised:
        batch("acedata", items).execute(context)

    message = str(raised.value)
    assert message.startswith("26 of 50 items are invalid; the first 10 in row order:")
    named = re.findall(r"items\[(\d+)\]", message)
    assert named == ["1", "3", "4", "5", "7", "9", "11", "13", "15", "17"]
    assert "items[4].colour='purple'" in message
    assert "... and 16 more" in message
    assert (raised.value.field, raised.value.value) == ("items[1].aspect_ratio", "4:5")
    assert emulator.counters()["accepted"]["acedata"] == 0


def test_an_item_field_the_job_model_does_not_know_is_named(emulator, context):
    with pytest.raises(NanoBananaInvalidRequestError, match=r"items\[0\]\.colour"):
        batch("acedata", [{"prompt": "a banana", "colour": "yellow"}]).execute(context)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_retry_reattaches_to_every_recorded_job_and_pays_only_for_the_rest(
    emulator, context, defers_at_once, vendor
):
    first = batch(vendor, prompts(6), max_in_flight=4)
    with pytest.raises(TaskDeferred):
        first.execute(context)  # the first wave is in flight; the worker dies here
    assert emulator.counters()["accepted"][vendor] == 4

    context["ti"].try_number = 2
    manifest, _ = drive(batch(vendor, prompts(6), max_in_flight=4), context)

    assert emulator.counters()["accepted"][vendor] == 6
    assert manifest["succeeded"] == 6
    assert len({item["job_id"] for item in manifest["results"]}) == 6


def test_a_resumed_try_says_in_one_line_what_it_takes_over(emulator, context, defers_at_once, task_log):
    with pytest.raises(TaskDeferred):
        batch("acedata", prompts(6), max_in_flight=4).execute(context)  # the worker dies here

    context["ti"].try_number = 2
    drive(batch("acedata", prompts(6), max_in_flight=4), context)

    assert "Try 2 resumes what try 1 left: 0 succeeded, 4 jobs to reattach, 2 to send." in task_log()


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_batch_logs_a_line_per_step_not_a_line_per_image(
    emulator, context, nanobanana_bucket, task_log, vendor
):
    drive(batch(vendor, prompts(30), max_in_flight=10, s3_output={"bucket": nanobanana_bucket}), context)

    shown = re.compile(r"\[(info|warning|error)\s*\]|^(INFO|WARNING|ERROR) ")
    # Airflow 2's own lines about connections and a direct execute() call are not the batch's.
    airflows = re.compile(r"airflow\.(models|hooks|providers)\.|cannot be called outside TaskInstance")
    lines = [line for line in task_log().splitlines() if shown.search(line) and not airflows.search(line)]
    assert len(lines) < 20, "\n".join(lines)
    assert not [line for line in lines if "accepted" in line], "each job's line is DEBUG in a batch"


def test_modelslab_queue_full_answers_send_the_item_again_later_never_failing_it(emulator, context):
    emulator.configure(modelslab_queue_limit=2)
    manifest, _ = drive(batch("modelslab", prompts(5), max_in_flight=4), context)

    assert manifest["succeeded"] == 5
    counters = emulator.counters()
    assert counters["accepted"]["modelslab"] == 5
    assert counters["requests"]["modelslab:text2img"] > 5, "the emulator answered 429 to some"


@pytest.mark.parametrize("vendor", VENDORS)
def test_refusals_within_max_failed_items_are_listed_with_their_reasons(emulator, context, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="moderation", times=2))
    manifest, _ = drive(batch(vendor, prompts(5), max_in_flight=1, max_failed_items=2), context)

    assert (manifest["succeeded"], manifest["failed"]) == (3, 2)
    refused = [item for item in manifest["results"] if item["state"] == "refused"]
    assert [item["index"] for item in refused] == [0, 1]
    assert all("moderation" in item["error"].lower() or "safety" in item["error"].lower() for item in refused)


@pytest.mark.parametrize("vendor", VENDORS)
def test_refusals_beyond_max_failed_items_fail_without_retry_after_landing_the_rest(
    emulator, nanobanana_s3, nanobanana_bucket, context, vendor
):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="moderation", times=2))
    operator = batch(
        vendor, prompts(4), max_in_flight=1, max_failed_items=1, s3_output={"bucket": nanobanana_bucket}
    )
    with pytest.raises(NanoBananaBatchItemsRefusedError, match="2 of 4 items failed") as raised:
        drive(operator, context)

    assert "item 0:" in str(raised.value)
    listed = nanobanana_s3.client().list_objects_v2(Bucket=nanobanana_bucket)["Contents"]
    assert len([obj for obj in listed if obj["Key"].endswith(".png")]) == 2
    assert any(obj["Key"].endswith("manifest.json") for obj in listed)
    (manifest,) = [value for key, value in context["ti"].xcom if key == "manifest"]
    assert (manifest["succeeded"], manifest["failed"]) == (2, 2)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_failed_vendor_job_is_sent_again_by_the_retry_and_nothing_else_is(emulator, context, vendor):
    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails", times=1))
    with pytest.raises(NanoBananaBatchItemsFailedError) as raised:
        drive(batch(vendor, prompts(3), max_in_flight=1), context)
    assert not isinstance(raised.value, NanoBananaBatchItemsRefusedError), "a retry may fix it"
    assert emulator.counters()["accepted"][vendor] == 3

    context["ti"].try_number = 2
    manifest, _ = drive(batch(vendor, prompts(3), max_in_flight=1), context)

    assert manifest["succeeded"] == 3
    assert emulator.counters()["accepted"][vendor] == 4, "only the failed item was paid again"


def test_an_item_sent_without_a_recorded_job_id_is_found_at_acedata(emulator, context):
    """A worker killed between the intent and the job id: AceData is searched, nothing is resent."""
    with hook_for_connection(CONN_IDS["acedata"]) as hook:
        sent_at = time.time() - 1
        hook.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="product photo 0"))
    operator = batch("acedata", prompts(2))
    earlier_try_sent(context, operator, "acedata", sent_at)
    context["ti"].try_number = 2

    manifest, _ = drive(operator, context)

    assert emulator.counters()["accepted"]["acedata"] == 2
    assert manifest["succeeded"] == 2


def test_an_item_whose_lost_answer_matches_two_acedata_tasks_is_possibly_billed_and_the_rest_lands(
    emulator, context
):
    """Two identical requests around that time (another run's, say): which one was ours cannot be
    told, so that item is not sent again, and the batch goes on with the others."""
    with hook_for_connection(CONN_IDS["acedata"]) as hook:
        sent_at = time.time() - 1
        for _ in range(2):
            hook.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="product photo 0"))
    operator = batch("acedata", prompts(3), max_failed_items=1)
    earlier_try_sent(context, operator, "acedata", sent_at)
    context["ti"].try_number = 2

    manifest, _ = drive(operator, context)

    assert emulator.counters()["accepted"]["acedata"] == 2 + 2, "the two others, nothing resent"
    assert [item["state"] for item in manifest["results"]] == ["possibly_billed", "succeeded", "succeeded"]
    assert "2 tasks with this request" in manifest["results"][0]["error"]


def test_an_item_sent_without_a_recorded_job_id_at_modelslab_is_possibly_billed_not_resent(emulator, context):
    operator = batch("modelslab", prompts(2), max_failed_items=1)
    earlier_try_sent(context, operator, "modelslab", 1_700_000_000.0)
    context["ti"].try_number = 2

    manifest, _ = drive(operator, context)

    assert emulator.counters()["accepted"]["modelslab"] == 1
    assert manifest["results"][0]["state"] == "possibly_billed"
    assert "may exist and be billed" in manifest["results"][0]["error"]


def test_a_retry_whose_items_changed_refuses_to_reattach_by_index(emulator, context, defers_at_once):
    with pytest.raises(TaskDeferred):
        batch("acedata", prompts(3)).execute(context)
    context["ti"].try_number = 2
    with pytest.raises(NanoBananaInvalidRequestError, match="earlier try"):
        batch("acedata", prompts(4)).execute(context)
    assert emulator.counters()["accepted"]["acedata"] == 3


@pytest.mark.parametrize("vendor", VENDORS)
def test_without_deferral_the_batch_polls_in_the_worker(emulator, context, vendor):
    manifest = batch(vendor, prompts(4), max_in_flight=2, deferrable=False).execute(context)

    assert manifest["succeeded"] == 4
    assert all(item["images"][0].startswith(emulator.url) for item in manifest["results"])
    assert emulator.counters()["accepted"][vendor] == 4


def fingerprint_of(operator: NanoBananaBatchImageOperator) -> str:
    from airflow_provider_nanobanana.batch.items import fingerprint, item_requests

    requests = item_requests(operator.items, operator.kind, operator.shared_settings())
    return fingerprint(requests, operator.conn_id)


def earlier_try_sent(context: dict[str, Any], operator: Any, vendor: str, sent_at: float) -> None:
    """The ledger as a first try leaves it when its worker dies between item 0's intent and its
    job id."""
    size = len(operator.items)
    state = BatchState(TaskInstanceStore(context), fingerprint_of(operator), vendor, size, lands=False)
    state.begin_try(1, time.time() + 60)
    state.intend([0], sent_at)
    state.save()


def test_a_landed_batch_is_one_asset_event_on_its_destination_naming_the_manifest(
    emulator, nanobanana_s3, nanobanana_bucket, context
):
    from airflow_versions import alias_events

    from airflow_provider_nanobanana.stores.operator_mixin import DESTINATIONS_ALIAS

    operator = batch("acedata", prompts(3), s3_output={"bucket": nanobanana_bucket, "prefix": "cat/{{ ds }}"})
    manifest, _ = drive(operator, context)

    ((uri, extra),) = alias_events(context, DESTINATIONS_ALIAS)
    assert uri == f"s3://{nanobanana_bucket}/cat"
    assert (extra["count"], extra["manifest"]) == (3, manifest["manifest"])
    assert extra["bytes"] == manifest["bytes"] > 0


def test_the_ledger_is_variables_before_airflow_3_3_and_a_retry_reattaches_through_them(
    emulator, legacy_context, variables, defers_at_once
):
    with pytest.raises(TaskDeferred):
        batch("acedata", prompts(4), max_in_flight=2).execute(legacy_context)
    (page,) = [json.loads(raw) for name, raw in variables.items() if name.startswith(f"{HEAD}.p0__")]
    assert sorted(page) == ["0", "1"]
    assert any(name.startswith(f"{HEAD}__") for name in variables), "and a head beside its pages"

    legacy_context["ti"].try_number = 2
    operator = batch("acedata", prompts(4), max_in_flight=2)
    manifest, _ = drive(operator, legacy_context)

    assert manifest["succeeded"] == 4
    assert emulator.counters()["accepted"]["acedata"] == 4
    airflow_records_success(operator, legacy_context)
    if AIRFLOW_3:  # Airflow 2 runs callbacks before it commits: the next task's start sweeps the ledger
        assert variables == {}, "once Airflow records the success, every Variable of the ledger goes"


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_try_past_its_deadline_fails_and_its_retry_reattaches_to_the_running_jobs(
    emulator, context, vendor
):
    emulator.configure(processing_seconds=3)
    with pytest.raises(NanoBananaBatchItemsFailedError, match="still running at the deadline"):
        drive(batch(vendor, prompts(2), timeout=1), context)
    assert [saved_state(context).state_of(index) for index in (0, 1)] == ["timed_out"] * 2

    context["ti"].try_number = 2
    manifest, _ = drive(batch(vendor, prompts(2), timeout=60), context)

    assert manifest["succeeded"] == 2
    assert emulator.counters()["accepted"][vendor] == 2, "the timed-out jobs were reattached, not resent"


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_echoing_the_key_in_a_failed_item_leaves_no_key_in_the_manifest(emulator, context, vendor):
    from airflow_provider_nanobanana.emulator.settings import DEFAULT_ACEDATA_TOKEN, DEFAULT_MODELSLAB_KEY

    emulator.add_fault(Fault(vendor=vendor, endpoint=SUBMIT_ENDPOINT[vendor], kind="job_fails_echoing_key"))
    manifest, triggers = drive(batch(vendor, prompts(2), max_failed_items=1), context)

    text = json.dumps([manifest, [trigger.serialize() for trigger in triggers]])
    assert manifest["failed"] == 1
    assert DEFAULT_MODELSLAB_KEY not in text
    assert DEFAULT_ACEDATA_TOKEN not in text


def test_each_step_logs_the_batch_progress_a_person_can_follow(emulator, context, task_log, defers_at_once):
    drive(batch("acedata", prompts(3), max_in_flight=2), context)

    lines = [line for line in task_log().splitlines() if "Batch:" in line]
    assert any("3/3 done, 0 in flight, 0 failed" in line for line in lines)
    assert any(re_search(r"\d/3 done, \d in flight, 0 failed(, eta \d+ s)?\.", line) for line in lines)


def test_include_prompt_is_refused_for_a_batch_before_any_request(emulator, nanobanana_bucket, context):
    operator = batch("acedata", prompts(2), s3_output={"bucket": nanobanana_bucket, "include_prompt": True})
    with pytest.raises(NanoBananaInvalidRequestError, match="include_prompt"):
        operator.execute(context)
    assert emulator.counters()["accepted"]["acedata"] == 0


def re_search(pattern: str, text: str) -> bool:
    import re

    return re.search(pattern, text) is not None
