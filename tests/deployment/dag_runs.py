"""Drive DAG runs through the REST API and collect what the deployment tests assert on."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

TERMINAL = {"success", "failed"}


@dataclass
class Run:
    """One DAG run and every state its task instances were seen in while it ran."""

    dag_id: str
    run_id: str
    conf: dict[str, Any] = field(default_factory=dict)
    state: str = "queued"
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    task_instances: list[dict[str, Any]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/dags/{self.dag_id}/dagRuns/{self.run_id}"


def trigger(api: httpx.Client, dag_id: str, timeout: float = 120, conf: dict[str, Any] | None = None) -> Run:
    """Trigger ``dag_id`` (with ``conf``, if given) once the DAG processor has parsed it.

    The run id is chosen here so that a 5xx can be retried without starting a second run: on one
    SQLite file the API server's audit-log write sometimes waits out SQLite's 5 s lock timeout
    while a task's own API call holds the lock, and answers 500 with no run created; a 409 on the
    retry means the first attempt did create it."""
    deadline = time.monotonic() + timeout
    while api.get(f"/dags/{dag_id}").status_code != 200:
        if time.monotonic() > deadline:
            errors = api.get("/importErrors").json()
            raise TimeoutError(f"{dag_id} was never parsed; import errors: {errors}")
        time.sleep(1)
    run = Run(dag_id, f"manual__{datetime.now(timezone.utc).isoformat()}", conf or {})
    body = {"dag_run_id": run.run_id, "logical_date": None, "conf": run.conf}
    for attempt in range(3):
        answer = api.post(f"/dags/{dag_id}/dagRuns", json=body)
        if answer.status_code == 200 or (answer.status_code == 409 and attempt):
            return run
        if answer.status_code < 500:
            break
        time.sleep(1)
    raise AssertionError(f"triggering {dag_id} failed: {answer.status_code} {answer.text}")


def task_instances(api: httpx.Client, run: Run) -> list[dict[str, Any]]:
    """Every task instance of ``run``, page by page (the API answers at most 100 at a time)."""
    found: list[dict[str, Any]] = []
    while True:
        answer = api.get(f"{run.path}/taskInstances", params={"limit": 100, "offset": len(found)})
        answer.raise_for_status()
        page = answer.json()
        found += page["task_instances"]
        if len(found) >= page["total_entries"] or not page["task_instances"]:
            return found


def wait_for(api: httpx.Client, runs: list[Run], timeout: float = 300, every: float = 0.5) -> None:
    """Poll until every run is terminal, recording each task instance's states on the way."""
    deadline = time.monotonic() + timeout
    while True:
        for run in runs:
            if run.state in TERMINAL:
                continue
            run.state = api.get(run.path).json()["state"]
            run.task_instances = task_instances(api, run)
            for ti in run.task_instances:
                run.seen[ti["task_id"]].add(ti["state"])
        if all(run.state in TERMINAL for run in runs):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"runs still going after {timeout:.0f}s: {[(r.dag_id, r.state) for r in runs]}"
            )
        time.sleep(every)


def refresh(api: httpx.Client, runs: list[Run]) -> None:
    """Read each run's task instances now, recording the states seen."""
    for run in runs:
        run.task_instances = task_instances(api, run)
        for ti in run.task_instances:
            run.seen[ti["task_id"]].add(ti["state"])


def wait_until_deferred(
    api: httpx.Client, runs: list[Run], count: int, timeout: float = 120, every: float = 0.5
) -> None:
    """Poll until ``count`` task instances of ``runs`` are deferred at once."""
    deadline = time.monotonic() + timeout
    while True:
        refresh(api, runs)
        deferred = sum(ti["state"] == "deferred" for run in runs for ti in run.task_instances)
        if deferred >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {deferred} of {count} task instances deferred after {timeout:.0f}s")
        time.sleep(every)


def instances(run: Run, task_id: str) -> list[dict[str, Any]]:
    return sorted(
        (ti for ti in run.task_instances if ti["task_id"] == task_id), key=lambda ti: ti["map_index"]
    )


def xcom(api: httpx.Client, run: Run, task_id: str, map_index: int = -1) -> Any:
    answer = api.get(
        f"{run.path}/taskInstances/{task_id}/xcomEntries/return_value", params={"map_index": map_index}
    )
    answer.raise_for_status()
    value = answer.json()["value"]
    return json.loads(value) if isinstance(value, str) else value


def extra_links(api: httpx.Client, run: Run, task_id: str, map_index: int = -1) -> dict[str, str | None]:
    """The extra links the UI shows for a task instance: name -> URL."""
    answer = api.get(f"{run.path}/taskInstances/{task_id}/links", params={"map_index": map_index})
    answer.raise_for_status()
    return answer.json()["extra_links"]


def producing_tasks(api: httpx.Client, uri: str) -> list[tuple[str, str]]:
    """``(dag_id, task_id)`` of each task Airflow's Assets page names as the producer of ``uri``."""
    answer = api.get("/assets", params={"uri_pattern": uri})
    answer.raise_for_status()
    (asset,) = [asset for asset in answer.json()["assets"] if asset["uri"] == uri]
    return [(task["dag_id"], task["task_id"]) for task in asset["producing_tasks"]]


def asset_events_with_consumers(api: httpx.Client, run: Run, timeout: float = 60) -> list[dict[str, Any]]:
    """The asset events ``run`` recorded, once the first has started a run of a consuming DAG
    (listed in ``created_dagruns``). Airflow 3.3's events endpoint answers 500 while such a run is
    still queued (its null ``start_date`` fails the response model), so that is asked again too."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api.get("/assets/events", params={"source_run_id": run.run_id})
        if answer.status_code != 500:
            answer.raise_for_status()
            events = answer.json()["asset_events"]
            if events and events[0]["created_dagruns"]:
                return events
        if time.monotonic() > deadline:
            raise AssertionError(f"{run.dag_id}: no consuming run started within {timeout} s: {answer.text}")
        time.sleep(1)


def task_logs(api: httpx.Client, run: Run) -> dict[tuple[str, int, int], str]:
    """Every try's log of every task instance of ``run``, as the UI would fetch it.

    A try Airflow has no record of (a task failed by its executor before it ran: 404 "TaskInstance
    not found") has no log to read and is left out."""
    logs = {}
    for ti in task_instances(api, run):
        for try_number in range(1, ti["try_number"] + 1):
            answer = api.get(
                f"{run.path}/taskInstances/{ti['task_id']}/logs/{try_number}",
                params={"full_content": True, "map_index": ti["map_index"]},
                headers={"Accept": "application/json"},
            )
            if answer.status_code == 404:
                continue
            answer.raise_for_status()
            logs[(ti["task_id"], ti["map_index"], try_number)] = json.dumps(answer.json())
    return logs
