"""A real Airflow deployment in a temporary AIRFLOW_HOME: API server, scheduler, DAG processor and
triggerer as separate processes on one SQLite metadata DB, as ``airflow standalone`` runs them;
or, given other components, settings and a database, any other shape (the scale tier's Celery
cluster on PostgreSQL).

Each process writes to its own log file; :meth:`AirflowDeployment.logs_tail` is printed when
something does not come up. Every process starts in its own session, so stopping (or killing,
as a machine failure would) reaches every process it spawned too. A component given a home of
its own gets its own AIRFLOW_HOME, log folder and working directory, as a separate machine has.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from .reaper import reap_with_pytest, session_members

USER, PASSWORD = "admin", "nanobanana-admin"
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Component:
    """One long-running process: its ``airflow`` arguments, its own settings, whether it is a
    machine of its own (own home and working directory), and the log line that says it is up."""

    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    own_home: bool = False
    ready_text: str | None = None


STANDALONE = {name: Component((name,)) for name in ("api-server", "scheduler", "dag-processor", "triggerer")}


class SQLiteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of one read, as the deployment's own processes see the file."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            return db.execute(sql, params).fetchall()

    def dump(self) -> str:
        """Every row of every table, as text (what ``pg_dump --data-only`` shows)."""
        with closing(sqlite3.connect(self.path)) as db:
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return "\n".join(
                f"{table}: {row!r}" for table in tables for row in db.execute(f'SELECT * FROM "{table}"')
            )


class AirflowDeployment:
    """Start with :meth:`start`, talk to it with :attr:`api` (a logged-in REST client), stop with
    :meth:`stop` (safe to call whatever state it is in)."""

    def __init__(
        self,
        home: Path,
        dags_folders: list[Path],
        components: dict[str, Component] = STANDALONE,
        settings: dict[str, str] | None = None,
        database: Any = None,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.components = components
        self.database = database or SQLiteDatabase(home / "airflow.db")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_offsets: dict[str, int] = {}  # where each component's latest start begins in its log
        passwords = home / "passwords.json"
        home.mkdir(parents=True, exist_ok=True)
        passwords.write_text(json.dumps({USER: PASSWORD}))
        dags_folder = home / "dags"  # the DAG files of every given folder, side by side
        dags_folder.mkdir()
        for folder in dags_folders:
            for dag_file in folder.glob("*.py"):
                shutil.copy(dag_file, dags_folder / dag_file.name)
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
        self.env = {
            **inherited,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "2",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database.url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "PYTHONUNBUFFERED": "1",
            **(settings or {}),
        }
        self._api: httpx.Client | None = None

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run one ``airflow`` CLI command in this deployment's environment."""
        return subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, timeout: float = 240) -> None:
        migrated = self.airflow("db", "migrate")
        if migrated.returncode != 0:
            raise RuntimeError(
                f"airflow db migrate failed:\n{migrated.stdout[-3000:]}\n{migrated.stderr[-3000:]}"
            )
        for component in self.components:
            self._launch(component)
        self._wait_healthy(timeout)

    def component_home(self, name: str) -> Path:
        return self.home / "machines" / name if self.components[name].own_home else self.home

    def log_path(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def _launch(self, name: str) -> None:
        component = self.components[name]
        env = {**self.env, **component.env}
        home = self.component_home(name)
        log = self.log_path(name)
        self._log_offsets[name] = log.stat().st_size if log.exists() else 0
        if component.own_home:
            home.mkdir(parents=True, exist_ok=True)
            env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs")}
        self.processes[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), *component.args],
            env=env,
            cwd=home,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        reap_with_pytest(self.processes[name].pid)

    def session_pids(self, name: str) -> list[int]:
        """Every live process of a component's session: it and all it spawned, even those that
        moved to process groups of their own (task runners)."""
        return session_members(self.processes[name].pid)

    def cpu_seconds(self, name: str) -> float:
        """CPU time of a component so far: its live processes and the children they reaped."""
        total_ticks = 0
        for pid in self.session_pids(name):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total_ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        return total_ticks / os.sysconf("SC_CLK_TCK")

    def kill(self, name: str) -> None:
        """SIGKILL a component and everything it started, as a machine failure would."""
        for pid in self.session_pids(name):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.processes[name].wait()

    def restart(self, *components: str, timeout: float = 240) -> None:
        """Start killed or exited components again, then wait until the deployment is healthy
        (all of them first: the health wait fails on any component that is still down)."""
        for component in components:
            self._launch(component)
        self._wait_healthy(timeout)

    @staticmethod
    def task_runners() -> dict[str, int]:
        """Running task processes by task instance id: the task SDK titles each
        ``airflow worker -- <ti id>``."""
        found = {}
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                title = cmdline.read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if title.startswith("airflow worker -- "):
                found[title.removeprefix("airflow worker -- ").strip()] = int(cmdline.parent.name)
        return found

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            for component, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{component} exited with {process.returncode}\n{self.logs_tail()}")
            try:
                last = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                if all(last.get(name, {}).get("status") == "healthy" for name in HEALTHY_COMPONENTS) and all(
                    self._says_ready(name) for name in self.processes
                ):
                    return
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy after {timeout:.0f}s: {last}\n{self.logs_tail()}")

    @property
    def api(self) -> httpx.Client:
        """A REST client holding a JWT from ``/auth/token``, as a script or CI job would."""
        if self._api is None:
            answer = httpx.post(f"{self.url}/auth/token", json={"username": USER, "password": PASSWORD})
            answer.raise_for_status()
            token = answer.json()["access_token"]
            self._api = httpx.Client(
                base_url=f"{self.url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
        return self._api

    def _says_ready(self, name: str) -> bool:
        ready_text = self.components[name].ready_text
        if ready_text is None:
            return True
        with self.log_path(name).open("rb") as log:
            log.seek(self._log_offsets[name])
            return ready_text.encode() in log.read()

    def metadata_db_text(self) -> str:
        return self.database.dump()

    def logs_tail(self, lines: int = 40) -> str:
        parts = []
        for component in self.components:
            path = self.log_path(component)
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"----- {component} -----\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        if self._api is not None:
            self._api.close()
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, process in self.processes.items():
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            self.kill(name)  # whatever did not stop, and any process of its session left behind
