"""The checks of one Airflow version for ``make compat``, run by that version's own virtualenv.

It prints one JSON object, check name → ``"ok"`` or the failure, and exits 0 either way: the
driver (``scripts/compat.py``) collects every version into one table. The pipeline checks run the
example DAGs with ``dag.test()`` against the emulator and the local S3 endpoint, on a fresh SQLite
metadata DB, in this process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOME = Path(tempfile.mkdtemp(prefix="nanobanana-compat-"))
DAGS = HOME / "dags"
DAGS.mkdir()
TEST_DAGS = [
    REPO / "tests/integration/dags/retry_dags.py",
    REPO / "tests/integration/dags/batch_dags.py",
    REPO / "tests/integration/dags/budget_dags.py",
    REPO / "tests/deployment/dags/gemini_dags.py",
]
for source in [*(REPO / "example_dags").glob("*.py"), *TEST_DAGS]:
    shutil.copy(source, DAGS / source.name)
os.environ.update(
    AIRFLOW_HOME=str(HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="False",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{HOME / 'airflow.db'}",
)
results: dict[str, str] = {}


CHECK_SECONDS = 300  # a dag.test() that loops on a task erroring after success must not hang the table


class CheckTimeout(BaseException):
    """Not an ``Exception``: ``dag.test()`` logs and swallows those raised in a task and goes on."""


def _took_too_long(signum: int, frame: object) -> None:
    raise CheckTimeout(f"the check ran past {CHECK_SECONDS} s")


def check(name: str) -> Callable[[Callable[[], None]], None]:
    def run(function: Callable[[], None]) -> None:
        signal.signal(signal.SIGALRM, _took_too_long)
        signal.alarm(CHECK_SECONDS)
        try:
            function()
            results[name] = "ok"
        except (Exception, CheckTimeout) as error:  # a check reports its failure; the table shows it
            last = traceback.extract_tb(error.__traceback__)[-1]
            results[name] = (
                f"{type(error).__name__}: {str(error)[:300]} ({Path(last.filename).name}:{last.lineno})"
            )
        finally:
            signal.alarm(0)

    return run


def airflow_cli(*args: str) -> subprocess.CompletedProcess[str]:
    airflow = Path(sys.executable).parent / "airflow"
    return subprocess.run([str(airflow), *args], capture_output=True, text=True, timeout=600)


@check("providers list")
def providers_list() -> None:
    listed = airflow_cli("providers", "list", "-o", "json")
    start = re.search(r"\[\s*\{", listed.stdout)  # Airflow 3.0 prints log lines before the JSON
    assert start, listed.stdout[-500:] + listed.stderr[-500:]
    providers, _ = json.JSONDecoder().raw_decode(listed.stdout[start.start() :])
    names = [provider["package_name"] for provider in providers]
    assert "airflow-provider-nanobanana" in names, names


@check("every module imports")
def every_module_imports() -> None:
    import importlib
    import pkgutil

    import airflow_provider_nanobanana

    for module in pkgutil.walk_packages(airflow_provider_nanobanana.__path__, "airflow_provider_nanobanana."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def dag_bag():
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(DAGS))  # examples are off: AIRFLOW__CORE__LOAD_EXAMPLES


def example_dags_parse() -> None:
    bag = dag_bag()
    assert not bag.import_errors, bag.import_errors
    assert {"nanobanana_generate_modelslab", "nanobanana_mapped_prompts"} <= set(bag.dag_ids)


def pipeline_checks() -> None:
    migrated = airflow_cli("db", "migrate")
    if migrated.returncode != 0:
        results["pipeline"] = f"airflow db migrate failed: {migrated.stderr[-300:]}"
        return
    # After the migration: Airflow 2 resolves a DatasetAlias schedule in the DB while parsing.
    check("example DAGs parse")(example_dags_parse)
    from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
    from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, LocalS3, seed_example_bucket

    with Emulator(settings=EmulatorSettings(processing_seconds=1.0)) as emulator, LocalS3() as s3:
        seed_example_bucket(s3)
        for vendor in ("modelslab", "acedata", "gemini"):
            os.environ[f"AIRFLOW_CONN_NANOBANANA_{vendor.upper()}_DEFAULT"] = emulator.connection_json(vendor)
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = s3.connection_json()
        for vendor in ("modelslab", "acedata"):
            for deferrable in (False, True):
                mode = "deferrable" if deferrable else "sync"
                check(f"pipeline {vendor} {mode}")(
                    lambda vendor=vendor, deferrable=deferrable: run_pipeline(
                        emulator, s3, EXAMPLE_BUCKET, vendor, deferrable
                    )
                )
            check(f"retry reattaches {vendor}")(lambda vendor=vendor: retry_reattaches(emulator, vendor))
        check("retry after the work pays nothing")(lambda: retry_after_the_work_pays_nothing(emulator))
        for deferrable in (False, True):
            mode = "deferrable" if deferrable else "sync"
            check(f"batch catalogue {mode}")(
                lambda deferrable=deferrable: run_catalogue(emulator, s3, EXAMPLE_BUCKET, deferrable)
            )
        check("batch retry reattaches")(
            lambda: batch_retry_reattaches(
                emulator, "nanobanana_test_batch_mapped_upstream", "draw", "job_id", "modelslab", 3
            )
        )
        check("gemini interactive")(lambda: gemini_interactive(emulator, s3, EXAMPLE_BUCKET))
        check("budget: dry run, gate, capped batch")(lambda: budgeted_batch(emulator))
        check("budget: a batch stops at its cap")(lambda: batch_stops_at_its_cap(emulator))
        check("gemini batch retry reattaches")(
            lambda: batch_retry_reattaches(
                emulator, "nanobanana_test_gemini_batch_retried", "fruit_cards", "batch", "gemini", 1
            )
        )
        check("gcs landing")(lambda: gcs_landing(emulator))


def run_dag(dag_id: str, *, deferrable: bool, succeeds: bool = True, **test_kwargs):
    os.environ["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] = str(deferrable)
    os.environ["AIRFLOW__NANOBANANA__MIN_DEFERRAL_SECONDS"] = "0"  # dag.test() has no scheduler to race
    bag = dag_bag()
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    if hasattr(dag, "sync_to_db"):
        # Airflow 2's dag.test() does not write the DAG to the DB; its DAG processor would, and
        # asset-alias events need the alias row that creates.
        dag.sync_to_db()
    dag_run = dag.test(**test_kwargs)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert ("success" in str(dag_run.state)) is succeeds, states
    return dag_run


def run_pipeline(emulator, s3, bucket: str, vendor: str, deferrable: bool) -> None:
    import httpx

    emulator.reset()
    dag_run = run_dag(f"nanobanana_generate_{vendor}", deferrable=deferrable)
    assert emulator.counters()["accepted"][vendor] == 1, emulator.counters()["accepted"]
    summary = dag_run.get_task_instance("wait").xcom_pull(task_ids="wait")
    landed = dag_run.get_task_instance("to_s3").xcom_pull(task_ids="to_s3")
    assert len(landed) == len(summary["images"]) == 2, (summary, landed)
    for item, url in zip(landed, summary["images"], strict=True):
        body = s3.client().get_object(Bucket=bucket, Key=item["key"])["Body"].read()
        assert body == httpx.get(url).content, f"{item['key']} differs from the vendor's image"
        assert hashlib.sha256(body).hexdigest() == item["sha256"]


def retry_reattaches(emulator, vendor: str) -> None:
    """The first try dies right after the job id is recorded; the retry must reattach."""
    from airflow_provider_nanobanana.ledger.job import JobLedger

    emulator.reset()
    remember, deaths = JobLedger.remember, []

    def remember_then_die(self, entry):
        remember(self, entry)
        if not deaths and entry["job_id"] is not None:
            deaths.append(entry["job_id"])
            raise SystemExit("worker killed right after submission")

    JobLedger.remember = remember_then_die
    try:
        dag_run = run_dag(f"nanobanana_test_retry_{vendor}", deferrable=True)
    finally:
        JobLedger.remember = remember
    assert dag_run.get_task_instance("generate").try_number == 2, "the first try died"
    assert emulator.counters()["accepted"][vendor] == 1, emulator.counters()["accepted"]


def retry_after_the_work_pays_nothing(emulator) -> None:
    """The first try dies right after its ledger records the finished job, before Airflow records
    the success: the retry returns that job and pays nothing, and once Airflow has recorded the
    success the ledger goes (Airflow 3: the success callback; 2.11: the next task's sweep)."""
    import sqlite3
    from contextlib import closing

    from airflow_provider_nanobanana.ledger.finished import sweep_confirmed_entries
    from airflow_provider_nanobanana.ledger.job import JobLedger

    emulator.reset()
    finish, deaths = JobLedger.finish, []

    def finish_then_die(self, entry, summary):
        finish(self, entry, summary)
        if not deaths:
            deaths.append(summary["job_id"])
            raise SystemExit("worker lost after the work, before Airflow recorded it")

    JobLedger.finish = finish_then_die
    try:
        dag_run = run_dag("nanobanana_test_retry_acedata", deferrable=False)
    finally:
        JobLedger.finish = finish
    assert dag_run.get_task_instance("generate").try_number == 2, "the first try died"
    assert emulator.counters()["accepted"]["acedata"] == 1, emulator.counters()["accepted"]
    sweep_confirmed_entries()
    dag_id = "nanobanana_test_retry_acedata"
    with closing(sqlite3.connect(HOME / "airflow.db")) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        # This run's only: a resumed try's recorded success (the deferrable runs of this DAG
        # above) keeps its ledger, marked confirmed, until the state store's retention.
        query = "SELECT count(*) FROM variable WHERE description LIKE ?"
        described = f"Nano Banana ledger % of {dag_id} / % / {dag_run.run_id} /%"
        left = db.execute(query, (described,)).fetchone()[0]
        if "task_state_store" in tables:
            query = "SELECT count(*) FROM task_state_store WHERE dag_id = ? AND run_id = ?"
            left += db.execute(query, (dag_id, dag_run.run_id)).fetchone()[0]
    assert left == 0, f"{left} ledger values left after Airflow recorded the success"


def run_catalogue(emulator, s3, bucket: str, deferrable: bool) -> None:
    """Eight CSV rows in one batch task: eight paid jobs, each image in S3 with the vendor's bytes."""
    import httpx

    from airflow_provider_nanobanana.hooks.registry import hook_for_connection

    emulator.reset()
    dag_run = run_dag("nanobanana_catalogue_batch", deferrable=deferrable)
    assert emulator.counters()["accepted"]["acedata"] == 8, emulator.counters()["accepted"]
    manifest = dag_run.get_task_instance("draw_catalogue").xcom_pull(task_ids="draw_catalogue")
    assert manifest["succeeded"] == 8, manifest
    with hook_for_connection("nanobanana_acedata_default") as hook:
        for item in manifest["results"]:
            (key,) = item["s3"]
            (image,) = hook.get_job(item["job_id"]).images
            body = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
            assert body == httpx.get(image.url).content, f"{key} differs from the vendor's image"


def batch_retry_reattaches(emulator, dag_id: str, task_id: str, field: str, vendor: str, paid: int) -> None:
    """The batch's first try dies once a page of its ledger records ``field`` (job ids, or the
    Gemini batch); the retry reattaches and pays for nothing again."""
    from airflow_provider_nanobanana.batch.state import HEAD
    from airflow_provider_nanobanana.ledger.store import TaskInstanceStore

    emulator.reset()
    set_value, deaths = TaskInstanceStore.set, []

    def set_then_die(self, name, value):
        set_value(self, name, value)
        if not deaths and name.startswith(f"{HEAD}.p") and any(r.get(field) for r in value.values()):
            deaths.append(True)
            raise SystemExit("worker killed mid-batch")

    TaskInstanceStore.set = set_then_die
    try:
        dag_run = run_dag(dag_id, deferrable=True)
    finally:
        TaskInstanceStore.set = set_value
    assert dag_run.get_task_instance(task_id).try_number == 2, "the first try died"
    assert emulator.counters()["accepted"][vendor] == paid, emulator.counters()["accepted"]


def gemini_interactive(emulator, s3, bucket: str) -> None:
    """One Gemini answer, paid once, its image landed in S3 from the answer itself."""
    emulator.reset()
    dag_run = run_dag("nanobanana_gemini_interactive", deferrable=True)
    assert emulator.counters()["accepted"]["gemini"] == 1, emulator.counters()["accepted"]
    (landed,) = dag_run.get_task_instance("poster").xcom_pull(task_ids="poster")["s3"]
    body = s3.client().get_object(Bucket=bucket, Key=landed["key"])["Body"].read()
    assert body.startswith(b"\x89PNG")
    assert hashlib.sha256(body).hexdigest() == landed["sha256"]


def budgeted_batch(emulator) -> None:
    """The dry run sends nothing and estimates; the gate (an approval on 3.1+, marked done as
    `airflow dags test` lets; a short-circuit before) lets the capped batch pay about that."""
    emulator.reset()
    dag_run = run_dag("nanobanana_budgeted_batch", deferrable=True, mark_success_pattern="approve")
    estimate = dag_run.get_task_instance("estimate").xcom_pull(task_ids="estimate")
    manifest = dag_run.get_task_instance("draw").xcom_pull(task_ids="draw")
    assert (estimate["images"], manifest["succeeded"]) == (40, 40), (estimate, manifest)
    assert abs(manifest["cost_usd"] - estimate["cost_usd"]) < 0.01 * estimate["cost_usd"], manifest
    assert emulator.counters()["accepted"]["gemini"] == 1, "one batch: the dry run sent none"


def batch_stops_at_its_cap(emulator) -> None:
    """40 items at $0.04 under a $1.00 cap: 25 paid and landed, 15 not sent (budget), no retry."""
    emulator.reset()
    priced = emulator.connection_json("acedata", prices={"nano-banana": 0.04})
    os.environ["AIRFLOW_CONN_ACEDATA_PRICED"] = priced
    dag_run = run_dag("nanobanana_test_batch_budget", deferrable=True, succeeds=False)
    ti = dag_run.get_task_instance("draw")
    manifest = ti.xcom_pull(task_ids="draw", key="manifest")
    assert (ti.try_number, manifest["not_submitted"]) == (1, {"budget": 15}), manifest
    assert emulator.counters()["accepted"]["acedata"] == 25, emulator.counters()["accepted"]


def gcs_landing(emulator) -> None:
    """The GCS example lands its two images in a GCS emulator through google_cloud_default,
    each whole, verified and recorded with a gs:// URI."""
    from gcp_storage_emulator.server import create_server
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET

    emulator.reset()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=EXAMPLE_BUCKET)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        os.environ["STORAGE_EMULATOR_HOST"] = endpoint
        os.environ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": "local"}}
        )
        dag_run = run_dag("nanobanana_generate_to_gcs", deferrable=False)
        landed = dag_run.get_task_instance("generate").xcom_pull(task_ids="generate")["s3"]
        bucket = storage.Client(
            project="local", credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint}
        ).bucket(EXAMPLE_BUCKET)
        assert len(landed) == 2, landed
        for item in landed:
            assert item["uri"].startswith(f"gs://{EXAMPLE_BUCKET}/generated/"), item["uri"]
            body = bucket.get_blob(item["key"]).download_as_bytes()
            assert hashlib.sha256(body).hexdigest() == item["sha256"]
        assert emulator.counters()["accepted"]["acedata"] == 1, emulator.counters()["accepted"]
    finally:
        server.stop()


if __name__ == "__main__":
    try:
        pipeline_checks()
    finally:
        shutil.rmtree(HOME, ignore_errors=True)
        print("COMPAT-RESULTS " + json.dumps(results))
