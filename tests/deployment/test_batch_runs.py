"""Catalogue-sized batches in the real deployment: thousands of short jobs finish in the task's first
try (no wake-up lost to the scheduler's defer-exit race), each paid once, and neither the ledger's
values nor the XCom ever exceed Airflow's 64 KB, read from the metadata DB while the runs go."""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_provider_nanobanana.emulator import Emulator
from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, LocalS3

from .dag_runs import instances, task_logs, trigger, wait_for, xcom
from .deployment import AirflowDeployment

pytestmark = pytest.mark.deployment

ITEMS = 2000
AIRFLOW_VALUE_LIMIT = 65_535  # [state_store] max_value_storage_bytes


class LargestStoredValue(threading.Thread):
    """Samples the largest value in Airflow's task state store every half second."""

    def __init__(self, airflow: AirflowDeployment) -> None:
        super().__init__(daemon=True)
        self.airflow, self.largest, self._done = airflow, 0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.5):
            ((largest,),) = self.airflow.database.query("SELECT max(length(value)) FROM task_state_store")
            self.largest = max(self.largest, largest or 0)

    def __enter__(self) -> LargestStoredValue:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self.join()


def test_three_batches_of_2000_short_jobs_at_once_each_finish_in_their_first_try(
    airflow: AirflowDeployment, vendor: Emulator, s3: LocalS3
):
    """Three catalogue runs side by side, so each step of each batch competes for two cores with
    the others: the load under which wake-ups were lost to the scheduler's race.

    A one-item run goes with them and lands long before they end, so the destination's asset
    exists by then: Airflow fails a task whose success registers a new asset at the same instant
    as another's (README, "Airflow's new-asset race"), a race this test is not about."""
    vendor.reset()
    vendor.configure(processing_seconds=2.0, processing_seconds_max=4.0)
    started = time.monotonic()
    try:
        with LargestStoredValue(airflow) as stored:
            first = trigger(airflow.api, "nanobanana_batch", conf={"count": 1, "s3_prefix": "first"})
            runs = [
                trigger(airflow.api, "nanobanana_batch", conf={"count": ITEMS, "s3_prefix": f"batch-{n}"})
                for n in range(3)
            ]
            wait_for(airflow.api, [first, *runs], timeout=1200, every=5)
        elapsed, paid = time.monotonic() - started, vendor.counters()["accepted"]["acedata"]
    finally:
        vendor.reset()
    outcomes = [(run.state, instances(run, "draw")[0]["try_number"]) for run in runs]
    assert outcomes == [("success", 1)] * 3, _warnings_of_unsuccessful(airflow, runs)
    assert first.state == "success"
    assert paid == 3 * ITEMS + 1, "each item of each run paid once"
    assert stored.largest <= AIRFLOW_VALUE_LIMIT, f"a stored value of {stored.largest} bytes"
    client = s3.client()
    for number, run in enumerate(runs):
        manifest = xcom(airflow.api, run, "draw")
        ((xcom_bytes,),) = airflow.database.query(
            "SELECT length(value) FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'draw' "
            "AND key = 'return_value'",
            run.dag_id,
            run.run_id,
        )
        assert xcom_bytes <= AIRFLOW_VALUE_LIMIT, f"run {number}: an XCom of {xcom_bytes} bytes"
        body = client.get_object(Bucket=EXAMPLE_BUCKET, Key=manifest["manifest"].split("/", 3)[3])["Body"]
        landed = [obj for item in json.loads(body.read())["results"] for obj in item["s3"]]
        listed = {
            obj["Key"]: obj["Size"]
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=EXAMPLE_BUCKET, Prefix=f"batch-{number}/"
            )
            for obj in page.get("Contents", ())
        }
        assert len(landed) == ITEMS == len(listed) - 1, "one object per item, and the manifest"
        assert all(listed[obj["key"]] == obj["size"] for obj in landed), "the manifest matches the store"
    print(
        f"\n3 x {ITEMS} items at once, each in try 1, in {elapsed:.0f} s; largest stored value "
        f"{stored.largest} bytes, XCom {xcom_bytes} bytes"
    )


def _warnings_of_unsuccessful(airflow: AirflowDeployment, runs: list) -> str:
    """The warning and error lines of every try of a run that did not succeed, for the failure text."""
    lines = [
        f"{run.run_id} {where}: {line['event']}"
        for run in runs
        if run.state != "success"
        for where, text in task_logs(airflow.api, run).items()
        for line in json.loads(text).get("content", ())
        if isinstance(line, dict) and line.get("level") in ("warning", "error", "critical")
    ]
    api_errors = [
        line
        for line in airflow.log_path("api-server").read_text(errors="replace").splitlines()
        if "[error" in line
    ]
    return "\n".join([*lines[-40:], "API server errors:", *api_errors[-10:]])
