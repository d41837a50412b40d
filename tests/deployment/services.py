"""Throwaway PostgreSQL and Redis servers on loopback for the scale tier, as Debian ships them.

Each lives in its own temporary directory on a free port, persists nothing it does not have to,
can be restarted in place (same port, same data) to show what Airflow does when its database or
broker goes away, and is removed by :meth:`stop`. PostgreSQL refuses to run as root, so as root
the cluster belongs to an unprivileged system user created for it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .debian import ensure_installed
from .deployment import free_port
from .reaper import reap_with_pytest

if TYPE_CHECKING:
    from typing import Self

PG_USER = "nanobanana-pg"  # the OS user owning the cluster when the tests run as root
DATABASE = "airflow"


def _postgres_bindir() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def wait_for_port(port: int, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on {port} within {timeout:.0f}s:\n{log.read_text()[-2000:]}")


class ThrowawayServer:
    """``with Server() as server:`` starts it, and stops and removes it however the block ends
    (a start that failed half way included)."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class PostgreSQLServer(ThrowawayServer):
    """A cluster made by ``initdb`` with one database, ``airflow``, trusted on loopback only."""

    def __init__(self) -> None:
        if _postgres_bindir() is None:
            ensure_installed("postgresql", "/usr/lib/postgresql/15/bin/pg_ctl")
        self.bindir = _postgres_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="nanobanana-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgresql.log"
        self.url = f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/{DATABASE}"
        self.dsn = f"host=127.0.0.1 port={self.port} user=airflow dbname={DATABASE}"
        self._owner = self._unprivileged_owner()

    def _unprivileged_owner(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            owner = pwd.getpwnam(PG_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                check=True,
                capture_output=True,
            )
            owner = pwd.getpwnam(PG_USER)
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        return owner

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.bindir / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            user=self._owner.pw_uid if self._owner else None,
            group=self._owner.pw_gid if self._owner else None,
            cwd=self.root,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")
        return done

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "airflow", "--auth=trust", "-E", "UTF8")
        self._pg_ctl("start")
        reap_with_pytest(self.postmaster_pid())
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow", DATABASE)

    def _pg_ctl(self, action: str) -> None:
        # fsync off: a throwaway cluster; the restart test stops it cleanly (fast), so nothing is lost.
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-m", "fast", "-w", action
        )

    def postmaster_pid(self) -> int:
        """The server's first process, which pg_ctl makes the leader of a session of its own."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def restart(self) -> None:
        """Stop the server (every client connection is cut) and start it again on the same port."""
        self._pg_ctl("restart")
        reap_with_pytest(self.postmaster_pid())

    def dump(self) -> str:
        """Every row of every table, as ``pg_dump --data-only`` writes it."""
        return self._run(
            "pg_dump", "--data-only", "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow", DATABASE
        ).stdout

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer(ThrowawayServer):
    """``redis-server`` without persistence: a restart loses every message it held, as a real one
    restarted without AOF would."""

    def __init__(self) -> None:
        ensure_installed("redis-server", "redis-server")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="nanobanana-redis-"))
        self.log = self.root / "redis.log"
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.root), "--logfile", str(self.log)]
        self._process = subprocess.Popen(command, start_new_session=True)
        reap_with_pytest(self.session_id)
        wait_for_port(self.port, 30, "redis-server", self.log)

    @property
    def session_id(self) -> int:
        assert self._process is not None
        return self._process.pid

    def restart(self, down_seconds: float = 0) -> None:
        """Stop the server (losing every queued message), stay down a while, start again."""
        self._halt()
        time.sleep(down_seconds)
        self.start()

    def _halt(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    def stop(self) -> None:
        self._halt()
        shutil.rmtree(self.root, ignore_errors=True)
