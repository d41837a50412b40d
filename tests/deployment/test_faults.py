"""The fault run, kept in the suite: each fault a real deployment meets, and what must hold after it.

Every test drives ``nanobanana_faults`` (mapped prompts, waits in the triggerer, a transfer that
runs whatever became of its siblings) through the REST API, injects its fault into the emulator,
the local S3 endpoint or an Airflow component, and then checks: paid requests == jobs (or the
documented exception), every image of every succeeded job in S3 with the vendor's bytes, and no
key in any task log, component log or byte of the metadata DB.
"""

from __future__ import annotations

import os
import re
import signal
import time
from typing import Any

import pytest

from airflow_provider_nanobanana.emulator import Emulator, Fault
from airflow_provider_nanobanana.emulator.local_s3 import LocalS3

from .conftest import JOB_SECONDS, connection_body
from .dag_runs import Run, instances, refresh, task_logs, trigger, wait_for, wait_until_deferred, xcom
from .deployment import AirflowDeployment
from .evidence import assert_every_image_landed, assert_no_secret_anywhere

pytestmark = pytest.mark.deployment

FAULTS = "nanobanana_faults"
IN_WORKER = "nanobanana_faults_in_worker"
CONN = {"modelslab": "nanobanana_modelslab_default", "acedata": "nanobanana_acedata_default"}


def start(
    airflow: AirflowDeployment, vendor: str, prompts: list[str], dag_id: str = FAULTS, **conf: Any
) -> Run:
    conf = {"conn_id": CONN[vendor], "prompts": prompts, "s3_prefix": f"faults-{vendor}", **conf}
    return trigger(airflow.api, dag_id, conf=conf)


def prompts(label: str, count: int) -> list[str]:
    return [f"{label} banana number {number}" for number in range(count)]


def states(run: Run, task_id: str = "generate") -> list[tuple[str, int]]:
    return [(ti["state"], ti["try_number"]) for ti in instances(run, task_id)]


def log_of(airflow: AirflowDeployment, run: Run, task_id: str, map_index: int) -> str:
    ti = next(ti for ti in instances(run, task_id) if ti["map_index"] == map_index)
    return task_logs(airflow.api, run)[(task_id, map_index, ti["try_number"])]


def add_connection(
    airflow: AirflowDeployment, vendor: Emulator, conn_id: str, name: str, **extra: Any
) -> None:
    airflow.api.delete(f"/connections/{conn_id}")
    answer = airflow.api.post(
        "/connections", json=connection_body(conn_id, vendor.connection_json(name, **extra))
    )
    assert answer.status_code == 201, answer.text


def test_a_lost_submission_answer_is_found_again_or_refused_never_paid_twice(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    # AceData answers one submission later than this connection waits (6 s against 3 s) and
    # drops the answer of another after accepting it; ModelsLab drops one accepted answer.
    add_connection(airflow, vendor, "nanobanana_acedata_quick", "acedata", timeout=3, max_retries=1)
    vendor.add_fault(Fault(vendor="acedata", endpoint="images", kind="slow", delay=6))
    vendor.add_fault(Fault(vendor="acedata", endpoint="images", kind="drop_after_accept"))
    vendor.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="drop_after_accept"))
    acedata = start(airflow, "acedata", prompts("lost", 3), conn_id="nanobanana_acedata_quick")
    modelslab = start(airflow, "modelslab", prompts("lost", 3))

    wait_for(airflow.api, [acedata, modelslab], timeout=400)

    assert acedata.state == "success", states(acedata)
    assert sorted(try_number for _, try_number in states(acedata)) == [1, 2, 2], "two answers were lost"
    lost = [ti for ti in instances(modelslab, "generate") if ti["state"] == "failed"]
    assert len(lost) == 1, states(modelslab)
    # Try 1 lost the answer (a retryable error); try 2 found the intent and failed for good,
    # without the third try the DAG allows: a possibly billed job is never paid for again.
    assert lost[0]["try_number"] == 2, states(modelslab)
    refused = log_of(airflow, modelslab, "generate", lost[0]["map_index"])
    assert "NanoBananaPossiblyBilledError" in refused
    assert vendor.counters()["accepted"] == {"acedata": 3, "modelslab": 3, "gemini": 0}, "every job paid once"
    assert "generate[" in log_of(airflow, modelslab, "to_s3", -1), "the transfer names the missing task"
    assert assert_every_image_landed(airflow, s3, acedata, "faults-acedata") == 3
    assert assert_every_image_landed(airflow, s3, modelslab, "faults-modelslab") == 2

    # The error's remedy, followed as printed: one CLI command, then a clear.
    command = re.search(r"airflow variables set (nanobanana_resubmit__\w+) resubmit", refused)
    assert command, "the remedy names the command"
    assert airflow.airflow("variables", "set", command[1], "resubmit").returncode == 0
    clear = {
        "dag_run_id": modelslab.run_id,
        "task_ids": [["generate", lost[0]["map_index"]]],
        "include_downstream": True,
        "dry_run": False,
        "only_failed": False,
    }
    assert airflow.api.post(f"/dags/{FAULTS}/clearTaskInstances", json=clear).status_code == 200
    modelslab.state = "queued"
    wait_for(airflow.api, [modelslab], timeout=300)
    assert modelslab.state == "success", states(modelslab)
    assert vendor.counters()["accepted"]["modelslab"] == 4, "resubmitted once, as consented"
    assert assert_every_image_landed(airflow, s3, modelslab, "faults-modelslab") == 3
    assert airflow.api.get(f"/variables/{command[1]}").status_code == 404, "the consent is used up"
    assert_no_secret_anywhere(airflow, [acedata, modelslab])


def test_a_vendor_outage_longer_than_a_minute_is_ridden_out_by_every_deferred_wait(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    runs = [start(airflow, name, prompts("outage", 6)) for name in CONN]
    wait_until_deferred(airflow.api, runs, 12)
    for name, endpoint in (("modelslab", "fetch"), ("acedata", "tasks")):
        vendor.add_fault(Fault(vendor=name, endpoint=endpoint, kind="drop", times=None))
    time.sleep(70)
    vendor.clear_faults()

    wait_for(airflow.api, runs, timeout=300)

    for run in runs:
        assert run.state == "success", states(run)
        assert states(run) == [("success", 1)] * 6, "no wait failed, none needed a retry"
        assert assert_every_image_landed(airflow, s3, run, run.conf["s3_prefix"]) == 6
    assert vendor.counters()["accepted"] == {"modelslab": 6, "acedata": 6, "gemini": 0}
    assert "is not answering status polls" in task_logs(airflow.api, runs[0])[("generate", 0, 1)]
    assert_no_secret_anywhere(airflow, runs)


def test_a_thirty_second_s3_outage_while_landing_is_ridden_out(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    run = start(airflow, "acedata", prompts("s3 outage", 3))
    wait_until_deferred(airflow.api, [run], 3)
    back = s3.outage(30)
    try:
        wait_for(airflow.api, [run], timeout=300)
    finally:
        back.join()

    assert run.state == "success", states(run, "to_s3")
    assert states(run, "to_s3") == [("success", 1)], "the transfer rode it out in its first try"
    assert "S3 did not take" in log_of(airflow, run, "to_s3", -1)
    assert assert_every_image_landed(airflow, s3, run, "faults-acedata") == 3
    assert vendor.counters()["accepted"]["acedata"] == 3
    assert_no_secret_anywhere(airflow, [run])


def test_bad_input_fails_before_payment_and_without_retries_while_siblings_land(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    vendor.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="moderation"))
    vendor.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="quota"))
    siblings = start(airflow, "acedata", ["a", "b", "", "d", "e", "f"], s3_prefix="faults-siblings")
    bad = {
        "huge prompt": start(airflow, "modelslab", ["banana " * 15_000]),
        "NUL in prompt": start(airflow, "acedata", ["a banana\x00"]),
        "options text": start(airflow, "acedata", ["a banana"], options="async=false"),
        "empty model": start(airflow, "acedata", ["a banana"], model=""),
        "key template": start(
            airflow,
            "acedata",
            ["a banana"],
            s3_output={"bucket": "nanobanana-images", "key_template": "{prefix}/../{job_id}_{index}.{ext}"},
        ),
        "missing connection": start(airflow, "acedata", ["a banana"], conn_id="nanobanana_nowhere"),
        "refused": start(airflow, "modelslab", ["refuse me", "no credit"]),
    }

    wait_for(airflow.api, [siblings, *bad.values()], timeout=300)

    for what, run in bad.items():
        assert all(state == ("failed", 1) for state in states(run)), f"{what}: {states(run)}"
    assert "Invalid options=" in log_of(airflow, bad["options text"], "generate", 0)
    assert "does not exist" in log_of(airflow, bad["missing connection"], "generate", 0)
    refused = {log_of(airflow, bad["refused"], "generate", index) for index in (0, 1)}
    assert any("NanoBananaContentPolicyError" in text for text in refused)
    assert any("NanoBananaQuotaError" in text for text in refused)
    assert vendor.counters()["accepted"] == {"modelslab": 0, "acedata": 5, "gemini": 0}
    assert states(siblings) == [("success", 1)] * 2 + [("failed", 1)] + [("success", 1)] * 3
    assert states(siblings, "to_s3") == [("failed", 1)], "it lands the five, then fails naming the sixth"
    assert "generate[2] (failed)" in log_of(airflow, siblings, "to_s3", -1)
    assert assert_every_image_landed(airflow, s3, siblings, "faults-siblings") == 5
    assert_no_secret_anywhere(airflow, [siblings, *bad.values()])


def test_a_key_echoed_in_a_job_failure_reaches_no_log_event_or_table(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    vendor.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="job_fails_echoing_key"))
    vendor.add_fault(Fault(vendor="acedata", endpoint="images", kind="job_fails_echoing_key"))
    runs = [start(airflow, name, ["an echoing banana"]) for name in CONN]

    wait_for(airflow.api, runs, timeout=300)

    for run in runs:
        assert states(run) == [("success", 2)], "the failed job is submitted anew by the retry"
        assert "request key ***" in task_logs(airflow.api, run)[("generate", 0, 1)], "echoed, then scrubbed"
    assert vendor.counters()["accepted"] == {"modelslab": 2, "acedata": 2, "gemini": 0}
    assert "request key ***" in airflow.metadata_db_text(), "the trigger event stored the scrubbed text"
    assert_no_secret_anywhere(airflow, runs)


def test_a_triggerer_killed_with_twelve_waits_deferred_resumes_them_without_starting_over(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    # 60 s jobs: ModelsLab's first poll is due 45 s after submission (3/4 of the eta). A trigger
    # that started its wait over would poll 45 s after being re-homed, at 73 s or later.
    vendor.configure(processing_seconds=60)
    try:
        runs = [start(airflow, name, prompts("restart", 6)) for name in CONN]
        wait_until_deferred(airflow.api, runs, 12)
        time.sleep(5)
        killed_at = time.time()
        airflow.kill("triggerer")
        airflow.restart("triggerer")
        wait_for(airflow.api, runs, timeout=400)
    finally:
        vendor.configure(processing_seconds=JOB_SECONDS)

    for run in runs:
        assert states(run) == [("success", 1)] * 6
        assert assert_every_image_landed(airflow, s3, run, run.conf["s3_prefix"]) == 6
    assert vendor.counters()["accepted"] == {"modelslab": 6, "acedata": 6, "gemini": 0}
    first_poll_after_kill: dict[str, list[tuple[float, float]]] = {"modelslab": [], "acedata": []}
    for job in vendor.timeline():
        after = [t for t in job["poll_times"] if t > killed_at]
        first_poll_after_kill[job["vendor"]].append((job["created_at"], min(after)))
    # AceData triggers have no eta: each polls the moment a triggerer takes it up again.
    rehomed = max(polled for _, polled in first_poll_after_kill["acedata"])
    since_submission = [polled - created for created, polled in first_poll_after_kill["modelslab"]]
    print(
        f"triggers re-homed {rehomed - killed_at:.1f} s after the kill (Airflow waits [triggerer] "
        f"triggerer_health_check_threshold); ModelsLab's first polls came {min(since_submission):.1f}-"
        f"{max(since_submission):.1f} s after submission (due at 45 s)"
    )
    assert max(since_submission) < 62, "a resumed trigger keeps its first poll time, not 45 s after resuming"
    assert_no_secret_anywhere(airflow, runs)


def test_a_task_runner_killed_right_after_acceptance_reattaches_on_retry(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    run = start(airflow, "acedata", ["a banana whose worker dies"], dag_id=IN_WORKER)
    deadline = time.monotonic() + 120
    while vendor.counters()["accepted"]["acedata"] < 1:
        assert time.monotonic() < deadline, "the job was never submitted"
        time.sleep(0.2)
    refresh(airflow.api, [run])
    (ti,) = instances(run, "generate")
    runners = airflow.task_runners()
    assert ti["id"] in runners, "the task waits in its worker, so its runner is alive"
    os.kill(runners[ti["id"]], signal.SIGKILL)

    wait_for(airflow.api, [run], timeout=300)

    assert states(run) == [("success", 2)]
    assert "Reattaching to job" in task_logs(airflow.api, run)[("generate", 0, 2)]
    assert vendor.counters()["accepted"]["acedata"] == 1
    assert assert_every_image_landed(airflow, s3, run, "faults-acedata") == 1
    assert_no_secret_anywhere(airflow, [run])


def test_a_gemini_batch_whose_task_runner_is_killed_reattaches_to_its_one_batch(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    run = trigger(airflow.api, "nanobanana_test_gemini_batch_in_worker")
    deadline = time.monotonic() + 120
    while vendor.counters()["accepted"]["gemini"] < 1:
        assert time.monotonic() < deadline, "the batch was never created"
        time.sleep(0.2)
    time.sleep(1)  # the batch's name is in the ledger; the task polls it in its worker
    refresh(airflow.api, [run])
    (ti,) = instances(run, "fruit_cards")
    runners = airflow.task_runners()
    assert ti["id"] in runners, "the task polls in its worker, so its runner is alive"
    os.kill(runners[ti["id"]], signal.SIGKILL)

    wait_for(airflow.api, [run], timeout=300)

    assert states(run, "fruit_cards") == [("success", 2)]
    assert vendor.counters()["accepted"]["gemini"] == 1, "the retry created no second batch"
    manifest = xcom(airflow.api, run, "fruit_cards")
    assert manifest["succeeded"] == 20
    client = s3.client()
    for key in (key for item in manifest["results"] for key in item["s3"]):
        assert client.get_object(Bucket="nanobanana-images", Key=key)["Body"].read().startswith(b"\x89PNG")
    assert_no_secret_anywhere(airflow, [run])


def test_a_killed_scheduler_restarted_mid_run_pays_each_job_once(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    runs = [start(airflow, name, prompts("scheduler", 3)) for name in CONN]
    wait_until_deferred(airflow.api, runs, 6)
    airflow.kill("scheduler")
    time.sleep(5)
    airflow.restart("scheduler")

    wait_for(airflow.api, runs, timeout=300)

    for run in runs:
        assert run.state == "success", states(run)
        assert assert_every_image_landed(airflow, s3, run, run.conf["s3_prefix"]) == 3
    assert vendor.counters()["accepted"] == {"modelslab": 3, "acedata": 3, "gemini": 0}
    assert_no_secret_anywhere(airflow, runs)


def test_clearing_a_running_task_reattaches_and_clearing_a_finished_one_submits_anew(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    run = start(airflow, "acedata", ["a banana cleared twice"])
    wait_until_deferred(airflow.api, [run], 1)
    clear = {"dag_run_id": run.run_id, "task_ids": ["generate"], "dry_run": False, "only_failed": False}

    assert airflow.api.post(f"/dags/{FAULTS}/clearTaskInstances", json=clear).status_code == 200
    run.state = "queued"
    wait_for(airflow.api, [run], timeout=300)
    assert run.state == "success"
    assert vendor.counters()["accepted"]["acedata"] == 1, "the cleared running task reattached"

    assert airflow.api.post(f"/dags/{FAULTS}/clearTaskInstances", json=clear).status_code == 200
    run.state = "queued"
    wait_for(airflow.api, [run], timeout=300)
    assert run.state == "success"
    assert vendor.counters()["accepted"]["acedata"] == 2, "a cleared finished task is a re-run"
    assert_no_secret_anywhere(airflow, [run])


def finished_ledgers(airflow: AirflowDeployment, run: Run) -> set[str]:
    """Tasks of ``run`` whose ledger says their work is done (read from the metadata DB)."""
    rows = airflow.database.query(
        "SELECT task_id, value FROM task_state_store WHERE dag_id = ? AND run_id = ? AND key NOT LIKE '%.p%'",
        run.dag_id,
        run.run_id,
    )
    return {task_id for task_id, value in rows if '"finished"' in value}


def landed_pngs(s3: LocalS3, prefix: str) -> int:
    listed = s3.client().list_objects_v2(Bucket="nanobanana-images", Prefix=prefix)["Contents"]
    return len([obj for obj in listed if obj["Key"].endswith(".png")])


def test_a_finished_try_is_never_paid_again_whether_its_worker_is_lost_or_its_success_overwritten(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    """Two ways Airflow can fail a try whose work is done, side by side. ``lost``: the first try
    of each task holds after the work (``post_execute``) and its runner is killed before Airflow
    records the success, as an OOM kill would. ``overwritten``: the first try resumed from a
    deferral, its success is recorded, then overwritten with a retry, as Airflow's scheduler does
    when it loses the defer-exit race (the bench measured 2 of 1,000 mapped tasks paying twice)."""
    vendor.reset()
    lost = trigger(airflow.api, "nanobanana_lost_after_work")
    overwritten = trigger(airflow.api, "nanobanana_success_overwritten")
    deadline = time.monotonic() + 240
    while finished_ledgers(airflow, lost) != {"generate", "batch"}:
        assert time.monotonic() < deadline, f"the work never finished: {finished_ledgers(airflow, lost)}"
        time.sleep(0.5)
    refresh(airflow.api, [lost])
    runners = airflow.task_runners()
    for ti in lost.task_instances:
        os.kill(runners[ti["id"]], signal.SIGKILL)

    wait_for(airflow.api, [lost, overwritten], timeout=400)

    for run in (lost, overwritten):
        assert run.state == "success", [
            (ti["task_id"], ti["state"], ti["try_number"]) for ti in run.task_instances
        ]
        tries = {ti["task_id"]: ti["try_number"] for ti in run.task_instances}
        assert (tries["generate"], tries["batch"]) == (2, 2)
        assert finished_ledgers(airflow, run) == set(), "once Airflow records the success, the ledgers go"
    assert vendor.counters()["accepted"]["acedata"] == 21 + 4, "1 + 20 and 1 + 3 paid, none twice"
    lost_logs, overwritten_logs = task_logs(airflow.api, lost), task_logs(airflow.api, overwritten)
    for task_id in ("generate", "batch"):
        assert "Airflow never confirmed that try's success" in lost_logs[(task_id, -1, 2)]
        # Only a ledger that try 1 kept marked confirmed says this (try 1's own log is not
        # served: the overwrite bypasses the scheduler, which would record that try's history).
        assert "its scheduler then turned it into a retry" in overwritten_logs[(task_id, -1, 2)]
    assert landed_pngs(s3, "lost-after-work/") == 21, "one object per paid image"
    assert landed_pngs(s3, "success-overwritten/") == 4
    assert xcom(airflow.api, lost, "batch")["succeeded"] == 20
    assert_no_secret_anywhere(airflow, [lost, overwritten])
