"""The provider on the deployment data platforms run: CeleryExecutor on PostgreSQL with a Redis
broker, two workers and two triggerers (see :mod:`.cluster`), with machine and service failures.

Every run goes through ``nanobanana_faults`` (its prompts dealt out to both vendors) over REST,
and every test checks what the provider promises: each job paid once, every image of every
succeeded job in S3 with the vendor's bytes. The last test searches the PostgreSQL dump and every
log of every component for a key. Figures are printed (``-s`` shows them).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator, Fault
from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, LocalS3

from ..dag_runs import Run, instances, refresh, trigger, wait_for, wait_until_deferred, xcom
from ..deployment import AirflowDeployment
from ..evidence import assert_every_image_landed, assert_no_secret_anywhere
from ..services import PostgreSQLServer, RedisServer
from .cluster import TRIGGERERS, WORKERS, TriggerPlacement, machine_of, task_log
from .conftest import JOB_SECONDS

pytestmark = pytest.mark.scale

PROMPTS = int(os.environ.get("NANOBANANA_SCALE_PROMPTS", "40"))
# Waits deferred when a triggerer is killed: 50 in the full run, fewer in make test's.
KILL_WAITS = 50 if PROMPTS >= 200 else PROMPTS // 2
BOTH = ["nanobanana_modelslab_default", "nanobanana_acedata_default"]
# Jobs that outlast a failure and its recovery (re-homing waits 30 s, a lost worker's tasks 30 s).
LONG_JOBS = {"processing_seconds": 60.0, "processing_seconds_max": 90.0}
RUNS: list[Run] = []  # every run of the module, for the secrets check at the end


def start(cluster: AirflowDeployment, label: str, count: int, **conf: Any) -> Run:
    dag_id = conf.pop("dag_id", "nanobanana_faults")
    prompts = [f"{label} banana number {number}" for number in range(count)]
    conf = {"conn_id": BOTH, "prompts": prompts, "s3_prefix": f"scale-{label}", **conf}
    run = trigger(cluster.api, dag_id, conf=conf, timeout=240)
    RUNS.append(run)
    return run


def states(run: Run) -> list[tuple[str, int]]:
    return [(ti["state"], ti["try_number"]) for ti in instances(run, "generate")]


def paid(vendor: Emulator) -> dict[str, int]:
    return vendor.counters()["accepted"]


def split(count: int) -> dict[str, int]:
    """What ``count`` prompts dealt out in turn to ModelsLab then AceData pay each."""
    return {"modelslab": (count + 1) // 2, "acedata": count // 2}


def assert_all_landed(
    cluster: AirflowDeployment, s3: LocalS3, run: Run, count: int, *, retries_allowed: bool = False
) -> None:
    """Every task succeeded (in its first try unless ``retries_allowed``) and landed its image once."""
    assert run.state == "success", states(run)
    if retries_allowed:
        assert {state for state, _ in states(run)} == {"success"}, states(run)
    else:
        assert states(run) == [("success", 1)] * count, "no task needed a second try"
    assert assert_every_image_landed(cluster, s3, run, run.conf["s3_prefix"]) == count
    listed = s3.client().list_objects_v2(Bucket=EXAMPLE_BUCKET, Prefix=f"{run.conf['s3_prefix']}/")
    assert listed["KeyCount"] == count, "one object per image, nothing else"


def components_alive(cluster: AirflowDeployment) -> dict[str, bool]:
    return {name: process.poll() is None for name, process in cluster.processes.items()}


@pytest.fixture
def long_jobs(vendor: Emulator):
    vendor.configure(**LONG_JOBS)
    yield
    shortest, longest = JOB_SECONDS
    vendor.configure(processing_seconds=shortest, processing_seconds_max=longest)


def test_a_mapped_run_on_both_vendors_lands_every_image_with_its_waits_on_both_triggerers(
    cluster: AirflowDeployment, vendor: Emulator, s3: LocalS3, postgres: PostgreSQLServer
):
    vendor.reset()
    cpu_before = {name: cluster.cpu_seconds(name) for name in cluster.processes}
    started = time.monotonic()
    with TriggerPlacement(postgres.dsn) as placement:
        run = start(cluster, "load", PROMPTS)
        wait_for(cluster.api, [run], timeout=300 + 6 * PROMPTS, every=2)
    wall = time.monotonic() - started
    cpu = {name: cluster.cpu_seconds(name) - before for name, before in cpu_before.items()}

    assert_all_landed(cluster, s3, run, PROMPTS)
    assert paid(vendor) == {**split(PROMPTS), "gemini": 0}, "every job paid once"
    assert len(placement.holders) == PROMPTS, "every wait was seen deferred in a triggerer"
    by_triggerer = placement.waits_by_triggerer()
    assert set(by_triggerer) == set(TRIGGERERS), f"waits ran on both triggerers: {by_triggerer}"
    by_worker: dict[str, int] = {}
    for ti in instances(run, "generate"):
        by_worker[machine_of(ti["hostname"])] = by_worker.get(machine_of(ti["hostname"]), 0) + 1
    assert set(by_worker) == set(WORKERS), f"tasks ran on both workers: {by_worker}"
    print(
        f"\n{PROMPTS} prompts ({split(PROMPTS)}), jobs {JOB_SECONDS[0]:.0f}-{JOB_SECONDS[1]:.0f} s: "
        f"wall {wall:.0f} s, peak deferred {placement.peak_deferred}, waits by triggerer {by_triggerer}, "
        f"tasks finished by worker {by_worker}\nCPU seconds: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
        + f" (total {sum(cpu.values()):.1f}, {sum(cpu.values()) / PROMPTS:.2f} per image)"
    )


def test_a_triggerer_killed_with_waits_deferred_hands_them_to_the_other_one(
    cluster: AirflowDeployment, vendor: Emulator, s3: LocalS3, postgres: PostgreSQLServer, long_jobs
):
    vendor.reset()
    count = KILL_WAITS + 10
    with TriggerPlacement(postgres.dsn) as placement:
        run = start(cluster, "triggerer", count)
        wait_until_deferred(cluster.api, [run], KILL_WAITS, timeout=300, every=1)
        time.sleep(1)  # a sample of the placement after the last deferral
        victim = max(TRIGGERERS, key=lambda machine: len(placement.held_by(machine)))
        orphans = placement.held_by(victim)
        deferred_at_kill = placement.samples[-1].deferred
        killed_at = time.time()
        cluster.kill(victim)
        wait_for(cluster.api, [run], timeout=600, every=2)
    cluster.restart(victim)

    assert orphans, "the killed triggerer held waits"
    assert_all_landed(cluster, s3, run, count)
    assert paid(vendor) == {**split(count), "gemini": 0}, "0 paid twice"
    rehomed = placement.rehomed_after(orphans, victim, killed_at)
    print(
        f"\nkilled {victim} holding {len(orphans)} of {deferred_at_kill} deferred waits; the last was "
        f"re-homed {rehomed:.1f} s after the kill ([triggerer] triggerer_health_check_threshold is 30 s)"
    )


def test_a_celery_worker_killed_after_submission_leaves_the_retry_to_the_other_worker_to_reattach(
    cluster: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    vendor.reset()
    vendor.configure(processing_seconds=60.0, processing_seconds_max=None)
    try:
        run = start(
            cluster, "worker", 1, dag_id="nanobanana_faults_in_worker", conn_id="nanobanana_acedata_default"
        )
        deadline = time.monotonic() + 180
        while paid(vendor)["acedata"] < 1:
            assert time.monotonic() < deadline, "the job was never submitted"
            time.sleep(0.2)
        refresh(cluster.api, [run])
        (ti,) = instances(run, "generate")
        victim = machine_of(ti["hostname"])
        cluster.kill(victim)
        wait_for(cluster.api, [run], timeout=400, every=2)
    finally:
        vendor.configure(processing_seconds=JOB_SECONDS[0], processing_seconds_max=JOB_SECONDS[1])
    cluster.restart(victim)

    (ti,) = instances(run, "generate")
    survivor = next(name for name in WORKERS if name != victim)
    assert states(run) == [("success", 2)], "the dead worker's try failed by heartbeat, the retry succeeded"
    assert machine_of(ti["hostname"]) == survivor, "the retry ran on the other worker"
    assert "Reattaching to job" in task_log(cluster, run.dag_id, run.run_id, "generate", 0, 2)
    assert paid(vendor)["acedata"] == 1, "accepted stays 1"
    assert assert_every_image_landed(cluster, s3, run, run.conf["s3_prefix"]) == 1
    print(f"\nkilled {victim} while it waited for its accepted job; try 2 ran on {survivor} and reattached")


BATCH_ITEMS = int(os.environ.get("NANOBANANA_BATCH_ITEMS", "500"))


def wait_for_batch(
    cluster: AirflowDeployment, vendor: Emulator, run: Run, *, paid_at_least: int, state: str
) -> dict:
    """Poll until the emulator accepted ``paid_at_least`` jobs and the batch task is in ``state``."""
    deadline = time.monotonic() + 600
    while True:
        assert time.monotonic() < deadline, f"the batch never reached {paid_at_least} paid while {state}"
        refresh(cluster.api, [run])
        (ti,) = instances(run, "draw")
        if paid(vendor)["acedata"] >= paid_at_least and ti["state"] == state:
            return ti
        assert run.state not in ("success", "failed"), f"the batch ended first: {run.state}"
        time.sleep(0.1)


def test_a_batch_of_500_in_one_task_survives_a_killed_worker_and_a_killed_triggerer(
    cluster: AirflowDeployment, vendor: Emulator, s3: LocalS3, postgres: PostgreSQLServer, monkeypatch
):
    """One task for every item; its worker is killed while it lands and submits, later the
    triggerer holding its wait; the retry reattaches to every recorded job. While jobs end every
    few seconds the task polls in its worker, so a wave of long jobs is what makes it defer."""
    from airflow_provider_nanobanana.hooks.registry import hook_for_connection

    quick = {"processing_seconds": 2.0, "processing_seconds_max": 4.0}
    long = {"processing_seconds": 40.0, "processing_seconds_max": 45.0}
    vendor.reset()
    vendor.configure(**quick)
    try:
        with TriggerPlacement(postgres.dsn) as placement:
            run = trigger(
                cluster.api,
                "nanobanana_batch",
                conf={"count": BATCH_ITEMS, "s3_prefix": "scale-batch"},
                timeout=240,
            )
            RUNS.append(run)
            ti = wait_for_batch(cluster, vendor, run, paid_at_least=BATCH_ITEMS // 5, state="running")
            worker = machine_of(ti["hostname"])
            cluster.kill(worker)
            worker_killed_at_paid = paid(vendor)["acedata"]
            vendor.configure(**long)
            wait_for_batch(cluster, vendor, run, paid_at_least=worker_killed_at_paid + 1, state="deferred")
            time.sleep(1)  # a placement sample with the trigger on its triggerer
            triggerer = next(machine for machine in TRIGGERERS if placement.held_by(machine))
            orphans = placement.held_by(triggerer)
            killed_at = time.time()
            cluster.kill(triggerer)
            triggerer_killed_at_paid = paid(vendor)["acedata"]
            vendor.configure(**quick)
            wait_for(cluster.api, [run], timeout=1200, every=2)
            rehomed = placement.rehomed_after(orphans, triggerer, killed_at)
    finally:
        vendor.configure(processing_seconds=JOB_SECONDS[0], processing_seconds_max=JOB_SECONDS[1])
    cluster.restart(worker, triggerer)

    assert run.state == "success", states(run)
    (ti,) = instances(run, "draw")
    assert ti["try_number"] >= 2, "the killed worker's try failed and a retry finished the batch"
    assert paid(vendor)["acedata"] == BATCH_ITEMS, "accepted == items: nothing paid twice"
    manifest = xcom(cluster.api, run, "draw")
    assert (manifest["items"], manifest["succeeded"], manifest["failed"]) == (BATCH_ITEMS, BATCH_ITEMS, 0)
    client = s3.client()
    stored = client.get_object(Bucket=EXAMPLE_BUCKET, Key=manifest["manifest"].split("/", 3)[3])["Body"]
    monkeypatch.setenv("AIRFLOW_CONN_NANOBANANA_ACEDATA_DEFAULT", vendor.connection_json("acedata"))
    with hook_for_connection("nanobanana_acedata_default") as hook:
        for item in json.loads(stored.read())["results"]:
            (landed,) = item["s3"]
            body = client.get_object(Bucket=EXAMPLE_BUCKET, Key=landed["key"])["Body"].read()
            (image,) = hook.get_job(item["job_id"]).images
            assert body == httpx.get(image.url).content, f"{landed['key']} differs from the vendor's image"
    listed = [
        obj["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=EXAMPLE_BUCKET, Prefix="scale-batch/"
        )
        for obj in page.get("Contents", ())
    ]
    assert len(listed) == BATCH_ITEMS + 1, "one object per item, and the manifest"
    print(
        f"\nbatch of {BATCH_ITEMS} in one task: killed {worker} at {worker_killed_at_paid} paid, "
        f"{triggerer} at {triggerer_killed_at_paid} paid (its wait re-homed {rehomed:.1f} s later); "
        f"finished in try {ti['try_number']}, accepted {paid(vendor)['acedata']}, every image verified"
    )


def last_error(cluster: AirflowDeployment, name: str) -> str:
    """The last exception line a component logged: why it exited."""
    lines = cluster.log_path(name).read_text(errors="replace").splitlines()
    return next((line for line in reversed(lines) if re.match(r"^[\w.]+(Error|Exception): ", line)), "?")


@pytest.mark.parametrize("service", ["redis", "postgres"])
def test_a_broker_or_database_restart_mid_run_loses_nothing_and_pays_nothing_twice(
    service: str,
    cluster: AirflowDeployment,
    vendor: Emulator,
    s3: LocalS3,
    postgres: PostgreSQLServer,
    redis: RedisServer,
    long_jobs,
):
    vendor.reset()
    count = max(10, PROMPTS // 4)
    run = start(cluster, f"{service}-restart", count)
    wait_until_deferred(cluster.api, [run], count * 3 // 4, timeout=300, every=1)
    restarted_at = time.monotonic()
    (redis if service == "redis" else postgres).restart()
    # What a process supervisor (systemd Restart=always, a Kubernetes pod) does: start again
    # whatever exited. Airflow's components ride out a broker restart; one caught mid-query by a
    # database restart exits on the cut connection.
    time.sleep(20)
    exited = {name: last_error(cluster, name) for name, up in components_alive(cluster).items() if not up}
    if exited:
        cluster.restart(*exited)
    wait_for(cluster.api, [run], timeout=600, every=2)

    # A task handed to Celery while the database is down can be failed by its worker before it
    # runs (it cannot load its task instance); Airflow retries it. Paid counts prove no try paid twice.
    assert_all_landed(cluster, s3, run, count, retries_allowed=True)
    assert paid(vendor) == {**split(count), "gemini": 0}
    retried = sum(1 for _, try_number in states(run) if try_number > 1)
    if service == "redis":
        assert not exited, f"components that exited on the broker restart: {exited}"
    for name, error in exited.items():
        assert error.startswith("sqlalchemy.exc.OperationalError"), f"{name} exited on {error}"
    done_after = time.monotonic() - restarted_at
    print(
        f"\n{service} restarted with {count * 3 // 4}+ waits deferred: run done {done_after:.0f} s later; "
        f"exited and restarted: {exited or 'none'}; tasks that needed a second try: {retried}"
    )


def test_no_key_in_the_postgresql_dump_or_any_log_of_any_component(
    cluster: AirflowDeployment, vendor: Emulator, postgres: PostgreSQLServer, redis: RedisServer
):
    vendor.reset()
    vendor.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="job_fails_echoing_key"))
    vendor.add_fault(Fault(vendor="acedata", endpoint="images", kind="job_fails_echoing_key"))
    run = start(cluster, "secrets", 4)
    wait_for(cluster.api, [run], timeout=300, every=2)

    assert run.state == "success", states(run)
    dump = postgres.dump()
    assert "request key ***" in dump, "the vendors' echo reached the DB, scrubbed"
    checked = assert_no_secret_anywhere(cluster, RUNS, other_files=(postgres.log, redis.log))
    print(f"\nno key in the {len(dump) / 1e6:.1f} MB PostgreSQL dump nor in {checked} other places")
