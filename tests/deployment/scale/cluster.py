"""The Celery cluster of the scale tier, and what it can be asked about while it runs.

Seven components as a data platform runs them, on PostgreSQL with a Redis broker: API server,
scheduler and DAG processor, two Celery workers and two triggerers. Workers and triggerers are
machines of their own (own AIRFLOW_HOME, log folder and working directory) and report their own
hostname through ``[core] hostname_callable``: a distinct loopback address each, so the metadata
DB says which worker ran a try and which triggerer holds a trigger, and the API server can still
reach the first worker's log server. One host cannot give two workers (or two triggerers) the same
log-server port, so the second of each serves logs on a port the API server does not know; their
task logs are read from their own disks (:func:`task_log`), as an operator would on that machine.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from ..deployment import AirflowDeployment, Component, free_port
from ..services import PostgreSQLServer, RedisServer

WORKERS = {"celery-worker-1": "127.0.0.11", "celery-worker-2": "127.0.0.12"}
TRIGGERERS = {"triggerer-1": "127.0.0.21", "triggerer-2": "127.0.0.22"}
MACHINES = {**WORKERS, **TRIGGERERS}
HOSTNAME_MODULE = '''"""The scale tier's [core] hostname_callable: each machine says who it is."""
import os
import socket


def hostname() -> str:
    return os.environ.get("NANOBANANA_MACHINE_HOSTNAME") or socket.getfqdn()
'''
# Tasks of dead workers are found by their missing heartbeat (default 300 s), and messages a
# restarted broker lost leave tasks queued (default 600 s): shortened so the tests see both.
HEARTBEAT_TIMEOUT_SECONDS = 30
QUEUED_TIMEOUT_SECONDS = 90


def celery_cluster(
    home: Path, dags_folders: list[Path], postgres: PostgreSQLServer, redis: RedisServer
) -> AirflowDeployment:
    pythonpath = home / "pythonpath"
    pythonpath.mkdir(parents=True)
    (pythonpath / "machine_hostname.py").write_text(HOSTNAME_MODULE)
    log_ports = {name: free_port() for name in MACHINES}
    components = {name: Component((name,)) for name in ("api-server", "scheduler", "dag-processor")}
    for name, address in WORKERS.items():
        components[name] = Component(
            ("celery", "worker", "--concurrency", "8", "--celery-hostname", f"{name}@%h"),
            env={
                "NANOBANANA_MACHINE_HOSTNAME": address,
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_ports[name]),
            },
            own_home=True,
            ready_text=" ready.",
        )
    for name, address in TRIGGERERS.items():
        components[name] = Component(
            ("triggerer",),
            env={
                "NANOBANANA_MACHINE_HOSTNAME": address,
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_ports[name]),
            },
            own_home=True,
            ready_text="Starting the triggerer",
        )
    settings = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": redis.url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres.url,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "machine_hostname.hostname",
        "PYTHONPATH": str(pythonpath),
        "AIRFLOW__CORE__PARALLELISM": "64",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "64",
        # What the API server uses to fetch live logs: the first worker's and triggerer's ports.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_ports["celery-worker-1"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_ports["triggerer-1"]),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_SECONDS),
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(QUEUED_TIMEOUT_SECONDS),
    }
    return AirflowDeployment(home, dags_folders, components, settings, database=postgres)


def machine_of(hostname: str) -> str:
    return next(name for name, address in MACHINES.items() if address == hostname)


def task_log(
    airflow: AirflowDeployment, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
) -> str:
    """A try's log file, from whichever worker's disk holds it."""
    mapped = f"map_index={map_index}" if map_index >= 0 else None
    for name in WORKERS:
        folder = (
            airflow.component_home(name)
            / "logs"
            / f"dag_id={dag_id}"
            / f"run_id={run_id}"
            / f"task_id={task_id}"
        )
        for path in folder.glob(f"**/attempt={try_number}.log"):
            if mapped is None or mapped in path.parts:
                return path.read_text(errors="replace")
    raise FileNotFoundError(
        f"no log of {dag_id}/{run_id}/{task_id}[{map_index}] try {try_number} on any worker"
    )


@dataclass
class Sample:
    at: float
    deferred: int
    triggers: dict[int, str | None]  # trigger id -> hostname of the triggerer holding it


@dataclass
class TriggerPlacement:
    """Watches the metadata DB while runs go: which triggerer holds which wait, and how many
    waits are deferred at once. A thread samples every half second until :meth:`stop`."""

    dsn: str
    samples: list[Sample] = field(default_factory=list)
    holders: dict[tuple[str, int], set[str]] = field(default_factory=lambda: defaultdict(set))
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    QUERY = """
        SELECT ti.run_id, ti.map_index, t.id, j.hostname
        FROM task_instance ti
        JOIN trigger t ON ti.trigger_id = t.id
        LEFT JOIN job j ON t.triggerer_id = j.id
        WHERE ti.state = 'deferred'
    """

    def __enter__(self) -> TriggerPlacement:
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        db = None
        while not self._stop.is_set():
            try:
                db = db or psycopg2.connect(self.dsn)
                db.autocommit = True
                with db.cursor() as cursor:
                    cursor.execute(self.QUERY)
                    rows = cursor.fetchall()
            except psycopg2.Error:  # the PostgreSQL restart test cuts this connection too
                db = None
                time.sleep(0.5)
                continue
            triggers = {}
            for run_id, map_index, trigger_id, hostname in rows:
                triggers[trigger_id] = hostname
                if hostname:
                    self.holders[(run_id, map_index)].add(machine_of(hostname))
            self.samples.append(Sample(time.time(), len(rows), triggers))
            time.sleep(0.5)
        if db is not None:
            db.close()

    @property
    def peak_deferred(self) -> int:
        return max((sample.deferred for sample in self.samples), default=0)

    def waits_by_triggerer(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for machines in self.holders.values():
            for machine in machines:
                counts[machine] += 1
        return dict(counts)

    def held_by(self, machine: str) -> set[int]:
        """The triggers the latest sample shows on ``machine``."""
        latest = self.samples[-1].triggers if self.samples else {}
        return {trigger for trigger, hostname in latest.items() if hostname == MACHINES[machine]}

    def rehomed_after(self, triggers: set[int], machine: str, since: float) -> float:
        """Seconds from ``since`` until every one of ``triggers`` was held by a triggerer other than
        ``machine`` (or was done: no longer deferred); raises if some never were."""
        pending = set(triggers)
        for sample in self.samples:
            if sample.at < since:
                continue
            for trigger in list(pending):
                hostname = sample.triggers.get(trigger)
                if trigger not in sample.triggers or (hostname and hostname != MACHINES[machine]):
                    pending.discard(trigger)
            if not pending:
                return sample.at - since
        raise AssertionError(
            f"{len(pending)} triggers of {machine} were never picked up by another triggerer"
        )
