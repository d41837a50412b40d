"""The Gemini examples in dag.test() on a real SQLite metadata DB: an interactive generate and a
batch of twenty prompts land in S3 with one paid request per interactive job and exactly one
batch created, also when the worker dies mid-task and the task is retried."""

from __future__ import annotations

import base64
import hashlib

import pytest

from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET

from .conftest import task_states

MODES = [pytest.param(False, id="sync"), pytest.param(True, id="deferrable")]


def stored(s3, key: str) -> bytes:
    return s3.client().get_object(Bucket=EXAMPLE_BUCKET, Key=key)["Body"].read()


@pytest.mark.parametrize("deferrable", MODES)
def test_an_interactive_gemini_image_lands_in_s3_from_its_one_paid_answer(
    run_dag, nanobanana_emulator, nanobanana_s3, deferrable
):
    dag_run = run_dag("nanobanana_gemini_interactive", deferrable=deferrable)

    assert str(dag_run.state) == "success", task_states(dag_run)
    summary = dag_run.get_task_instance("poster").xcom_pull(task_ids="poster")
    assert nanobanana_emulator.counters()["accepted"]["gemini"] == 1
    assert nanobanana_emulator.counters()["requests"]["gemini:generate"] == 1
    (landed,) = summary["s3"]
    body = stored(nanobanana_s3, landed["key"])
    assert body.startswith(b"\x89PNG")
    assert hashlib.sha256(body).hexdigest() == landed["sha256"]
    assert summary["images"] == [f"nanobanana+base64://{summary['job_id']}/0"], "no bytes in XCom"
    assert summary["text"].startswith("Here is your image")


@pytest.mark.parametrize("deferrable", MODES)
def test_twenty_prompts_go_as_exactly_one_gemini_batch_and_all_land(
    run_dag, nanobanana_emulator, nanobanana_s3, deferrable
):
    dag_run = run_dag("nanobanana_gemini_batch", deferrable=deferrable)

    assert str(dag_run.state) == "success", task_states(dag_run)
    manifest = dag_run.get_task_instance("fruit_cards").xcom_pull(task_ids="fruit_cards")
    counters = nanobanana_emulator.counters()
    assert counters["accepted"]["gemini"] == 1, "one batch for twenty items"
    assert counters["requests"]["gemini:download"] == 1
    assert (manifest["items"], manifest["succeeded"]) == (20, 20)
    keys = [key for item in manifest["results"] for key in item["s3"]]
    assert len(set(keys)) == 20
    assert all(stored(nanobanana_s3, key).startswith(b"\x89PNG") for key in keys)


@pytest.fixture
def worker_dies_once_the_batch_is_recorded(kill_worker_once_recorded):
    return kill_worker_once_recorded("batch")


@pytest.mark.parametrize("deferrable", MODES)
def test_a_retried_gemini_batch_task_reattaches_to_its_batch(
    run_dag, nanobanana_emulator, nanobanana_s3, worker_dies_once_the_batch_is_recorded, deferrable
):
    dag_run = run_dag("nanobanana_test_gemini_batch_retried", deferrable=deferrable)

    assert worker_dies_once_the_batch_is_recorded == [20]
    assert str(dag_run.state) == "success", task_states(dag_run)
    ti = dag_run.get_task_instance("fruit_cards")
    assert ti.try_number == 2
    assert nanobanana_emulator.counters()["accepted"]["gemini"] == 1, "the retry created no second batch"
    assert ti.xcom_pull(task_ids="fruit_cards")["succeeded"] == 20


@pytest.fixture
def batch_creation_answer_lost(nanobanana_emulator):
    from airflow_provider_nanobanana.emulator import Fault

    nanobanana_emulator.add_fault(Fault("gemini", "batches", "drop_after_accept"))


def test_a_gemini_batch_whose_creation_answer_was_lost_is_found_by_name_not_created_again(
    run_dag, nanobanana_emulator, nanobanana_s3, batch_creation_answer_lost
):
    dag_run = run_dag("nanobanana_test_gemini_batch_retried", deferrable=True)

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert nanobanana_emulator.counters()["accepted"]["gemini"] == 1
    assert dag_run.get_task_instance("fruit_cards").xcom_pull(task_ids="fruit_cards")["succeeded"] == 20


@pytest.fixture
def answers_served(monkeypatch):
    """Every generateContent answer the emulator sends, as it sends it: a spy, the answer unchanged."""
    from airflow_provider_nanobanana.emulator import gemini as emulated

    served: list[dict] = []
    answer = emulated._answer

    def record(*args, **kwargs):
        served.append(answer(*args, **kwargs))
        return served[-1]

    monkeypatch.setattr(emulated, "_answer", record)
    return served


def test_a_nano_banana_pro_answer_with_thought_drafts_lands_only_its_final_image(
    run_dag, nanobanana_emulator, nanobanana_s3, answers_served
):
    dag_run = run_dag("nanobanana_gemini_interactive", deferrable=True)

    assert str(dag_run.state) == "success", task_states(dag_run)
    (answer,) = answers_served
    image_parts = [part for part in answer["candidates"][0]["content"]["parts"] if "inlineData" in part]
    images = [base64.b64decode(part["inlineData"]["data"]) for part in image_parts]
    drafts = [image for image, part in zip(images, image_parts, strict=True) if part.get("thought")]
    assert len(drafts) == 2, "the emulator's Pro model thought aloud"
    (landed,) = dag_run.get_task_instance("poster").xcom_pull(task_ids="poster")["s3"]
    body = stored(nanobanana_s3, landed["key"])
    assert body == images[-1], "the final image, byte for byte"
    assert body not in drafts


@pytest.fixture
def three_lines_fail_one_of_them_transiently(nanobanana_emulator):
    from airflow_provider_nanobanana.emulator import Fault

    for code in (3, 3, 13):  # INVALID_ARGUMENT twice (refused), then INTERNAL (a retry may pass)
        nanobanana_emulator.add_fault(Fault("gemini", "batches", "line_error", status=code))


def test_a_partially_succeeded_batch_lands_its_answers_and_the_retry_sends_only_the_transient_line(
    run_dag, nanobanana_emulator, nanobanana_s3, three_lines_fail_one_of_them_transiently
):
    dag_run = run_dag("nanobanana_test_gemini_batch_partial", deferrable=True)

    assert str(dag_run.state) == "success", task_states(dag_run)
    ti = dag_run.get_task_instance("fruit_cards")
    assert ti.try_number == 2, "three failures passed max_failed_items=2; one was worth a retry"
    counters = nanobanana_emulator.counters()
    assert counters["accepted"]["gemini"] == 2, "the first batch, then one more for the transient line"
    manifest = ti.xcom_pull(task_ids="fruit_cards")
    assert (manifest["succeeded"], manifest["failed"]) == (18, 2)
    refused = {item["index"]: item["error"] for item in manifest["failures"]}
    assert set(refused) == {17, 18}
    assert all("INVALID_ARGUMENT" in error for error in refused.values())
    assert manifest["results"][19]["state"] == "landed", "the transient line, sent again"
    keys = [key for item in manifest["results"] for key in item.get("s3", ())]
    assert len(keys) == 18
    assert all(stored(nanobanana_s3, key).startswith(b"\x89PNG") for key in keys)
