"""Test-only DAG: a deferrable generate task and batch whose first try's recorded success is then
overwritten with a retry, as Airflow's scheduler does when it loses the defer-exit race (it handles
the executor's stale "success" of the process that deferred after the resumed try succeeded).

The overwrite is the race's outcome written straight into the metadata DB by a success callback
that runs after the provider's own; ``hold_the_run`` keeps the run open until the retries are done.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

OVERWRITTEN = ("generate", "batch")


def metadata_db() -> sqlite3.Connection:
    """The deployment's SQLite file (task processes are not told the database's URL)."""
    return sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db", timeout=30)


def overwrite_the_first_success(context: Any) -> None:
    ti = context["ti"]
    if ti.try_number != 1:
        return
    with closing(metadata_db()) as db, db:
        db.execute(
            "UPDATE task_instance SET state = 'up_for_retry' "
            "WHERE dag_id = ? AND task_id = ? AND run_id = ? AND map_index = ?",
            (ti.dag_id, ti.task_id, ti.run_id, ti.map_index),
        )


with DAG(
    dag_id="nanobanana_success_overwritten",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    default_args={"retries": 2, "retry_delay": timedelta(seconds=2)},
):
    s3_output = {"bucket": "nanobanana-images", "prefix": "success-overwritten"}
    NanoBananaGenerateImageOperator(
        task_id="generate",
        conn_id="nanobanana_acedata_default",
        prompt="a banana whose success the scheduler overwrote",
        deferrable=True,
        poll_interval=1,
        s3_output=s3_output,
        on_success_callback=overwrite_the_first_success,
    )
    NanoBananaBatchImageOperator(
        task_id="batch",
        conn_id="nanobanana_acedata_default",
        items=[f"catalogue item {number} whose success the scheduler overwrote" for number in range(3)],
        deferrable=True,
        poll_interval=1,
        s3_output=s3_output,
        on_success_callback=overwrite_the_first_success,
    )

    @task
    def hold_the_run(run_id: str | None = None) -> None:
        """The run stays open until both tasks' retries succeeded."""
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with closing(metadata_db()) as db:
                rows = db.execute(
                    "SELECT task_id, state, try_number FROM task_instance "
                    "WHERE run_id = ? AND task_id IN (?, ?)",
                    (run_id, *OVERWRITTEN),
                ).fetchall()
            if sorted(rows) == [("batch", "success", 2), ("generate", "success", 2)]:
                return
            time.sleep(1)
        raise TimeoutError(f"the overwritten tasks did not succeed again: {rows}")

    hold_the_run()
