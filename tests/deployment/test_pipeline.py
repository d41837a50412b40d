"""The example DAGs, triggered through the REST API of a real deployment, land their images in S3.

The waiting is done by the triggerer (tasks seen ``deferred``), every job is paid for once, and a
run with injected vendor faults ends as designed with no API key in any task log.
"""

from __future__ import annotations

import hashlib
import urllib.parse

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator, Fault
from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, LocalS3

from .dag_runs import (
    Run,
    asset_events_with_consumers,
    extra_links,
    producing_tasks,
    task_logs,
    trigger,
    wait_for,
    xcom,
)
from .deployment import AirflowDeployment
from .evidence import assert_no_secret_anywhere

pytestmark = pytest.mark.deployment

SUBMIT_SENSOR_S3 = [
    f"nanobanana_{kind}_{vendor}" for kind in ("generate", "edit") for vendor in ("modelslab", "acedata")
]
MAPPED = "nanobanana_mapped_prompts"


def landed_objects(airflow: AirflowDeployment, run: Run) -> list[dict]:
    return xcom(airflow.api, run, "to_s3")


def summaries(airflow: AirflowDeployment, run: Run) -> list[dict]:
    """The job summaries the run's waiting tasks returned (one per mapped prompt)."""
    if run.dag_id == MAPPED:
        mapped = [ti for ti in run.task_instances if ti["task_id"] == "generate"]
        return [xcom(airflow.api, run, "generate", ti["map_index"]) for ti in mapped]
    return [xcom(airflow.api, run, "wait")]


def test_example_dags_land_every_image_in_s3_waiting_in_the_triggerer(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    runs = [trigger(airflow.api, dag_id) for dag_id in [*SUBMIT_SENSOR_S3, MAPPED]]

    wait_for(airflow.api, runs)

    assert {run.dag_id: run.state for run in runs} == dict.fromkeys([*SUBMIT_SENSOR_S3, MAPPED], "success")
    for run in runs:
        waiting_task = "generate" if run.dag_id == MAPPED else "wait"
        assert "deferred" in run.seen[waiting_task], f"{run.dag_id}: {waiting_task} was never deferred"
    jobs = {vendor_name: set() for vendor_name in ("modelslab", "acedata")}
    client = s3.client()
    for run in runs:
        by_job = {summary["job_id"]: summary for summary in summaries(airflow, run)}
        for summary in by_job.values():
            jobs[summary["vendor"]].add(summary["job_id"])
        objects = landed_objects(airflow, run)
        assert len(objects) == sum(len(summary["images"]) for summary in by_job.values())
        for landed in objects:
            stored = client.get_object(Bucket=EXAMPLE_BUCKET, Key=landed["key"])
            body = stored["Body"].read()
            original = httpx.get(by_job[landed["job_id"]]["images"][landed["index"]]).content
            assert hashlib.sha256(body).hexdigest() == landed["sha256"] == stored["Metadata"]["sha256"]
            assert body == original, f"{landed['uri']} differs from the image the vendor served"
        assert extra_links(airflow.api, run, "to_s3") == {"Nano Banana image": objects[0]["link"]}
        quoted_key = urllib.parse.quote(objects[0]["key"])
        assert objects[0]["link"] == f"{s3.endpoint_url}/{EXAMPLE_BUCKET}/{quoted_key}"
        if run.dag_id != MAPPED:
            first_vendor_image = summaries(airflow, run)[0]["images"][0]
            assert extra_links(airflow.api, run, "wait") == {"Nano Banana image": first_vendor_image}
    assert vendor.counters()["accepted"] == {"gemini": 0, **{name: len(ids) for name, ids in jobs.items()}}
    assert len(jobs["acedata"]) == 5, "2 single-job DAGs and 3 mapped prompts"
    assert assert_no_secret_anywhere(airflow, runs) >= 5 * 3


def test_faults_end_as_designed_without_paying_twice_or_leaking_keys(
    airflow: AirflowDeployment, vendor: Emulator
):
    vendor.reset()
    vendor.add_fault(
        Fault(vendor="modelslab", endpoint="text2img", kind="rate_limit", times=2, retry_after=0.5)
    )
    vendor.add_fault(Fault(vendor="acedata", endpoint="images", kind="server_error", times=2, status=503))
    vendor.add_fault(Fault(vendor="modelslab", endpoint="multi_ref", kind="job_fails", times=1))
    generate = [trigger(airflow.api, f"nanobanana_generate_{name}") for name in ("modelslab", "acedata")]
    failing = trigger(airflow.api, "nanobanana_edit_modelslab")

    wait_for(airflow.api, [*generate, failing])

    assert [run.state for run in generate] == ["success", "success"]
    for run in generate:
        submit = next(ti for ti in run.task_instances if ti["task_id"] == "submit")
        assert submit["try_number"] == 2, f"{run.dag_id}: the error burst should cost one task retry"
    assert failing.state == "failed"
    wait = next(ti for ti in failing.task_instances if ti["task_id"] == "wait")
    assert wait["state"] == "failed"
    last_log = task_logs(airflow.api, failing)[("wait", -1, wait["try_number"])]
    assert "NanoBananaJobFailedError" in last_log
    assert vendor.counters()["accepted"] == {"modelslab": 2, "acedata": 1, "gemini": 0}, (
        "each job paid for once"
    )
    assert assert_no_secret_anywhere(airflow, [*generate, failing]) >= 6


def test_the_gemini_examples_land_images_with_one_paid_request_and_one_batch(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    runs = [
        trigger(airflow.api, dag_id)
        for dag_id in ("nanobanana_gemini_interactive", "nanobanana_gemini_batch")
    ]

    wait_for(airflow.api, runs)

    interactive, batch = runs
    assert (interactive.state, batch.state) == ("success", "success")
    assert "deferred" in batch.seen["fruit_cards"], "the batch waited for Gemini in the triggerer"
    counters = vendor.counters()
    assert counters["accepted"]["gemini"] == 2, "one interactive answer and one batch, each paid once"
    assert counters["requests"]["gemini:generate"] == 1
    client = s3.client()
    (poster,) = xcom(airflow.api, interactive, "poster")["s3"]
    body = client.get_object(Bucket=EXAMPLE_BUCKET, Key=poster["key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == poster["sha256"]
    manifest = xcom(airflow.api, batch, "fruit_cards")
    assert (manifest["items"], manifest["succeeded"]) == (20, 20)
    for key in (key for item in manifest["results"] for key in item["s3"]):
        assert client.get_object(Bucket=EXAMPLE_BUCKET, Key=key)["Body"].read().startswith(b"\x89PNG")
    assert assert_no_secret_anywhere(airflow, runs) >= 2
    # Their destinations are known when the DAGs are parsed: the Assets page names each producer,
    # and each landing is still one event, which wakes the DAG scheduled on the destinations alias.
    for run, task, prefix in ((interactive, "poster", "posters"), (batch, "fruit_cards", "fruit")):
        destination = f"s3://{EXAMPLE_BUCKET}/gemini/{prefix}"
        assert producing_tasks(airflow.api, destination) == [(run.dag_id, task)]
        events = asset_events_with_consumers(airflow.api, run)
        assert [event["uri"] for event in events] == [destination], "one event per landing"
        assert {created["dag_id"] for created in events[0]["created_dagruns"]} == {"nanobanana_new_images"}
