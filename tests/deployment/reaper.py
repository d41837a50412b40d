"""Whatever ends the test run, the services its tests started end with it.

Every service a test starts (PostgreSQL, Redis, each Airflow component) runs in a session of its
own, so a test can kill it with all it spawned. pytest's own cleanup stops them, but not when
pytest itself is killed (SIGKILL, a CI job cut off) or interrupted mid-start. So the first service
also starts this watchdog, in a session of its own, with a pipe on its stdin; each service's
session id goes down the pipe. When the pipe closes, which happens whenever pytest exits, however
it exits, the watchdog sends SIGTERM to every process of those sessions, and SIGKILL to what is
still there after a grace period.

Run as a script: ``python reaper.py`` (it imports nothing of the tests).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_SECONDS = 10.0
_watchdog: subprocess.Popen[bytes] | None = None


def session_members(session_id: int) -> list[int]:
    """Every live process of a session: its leader and all it spawned, also those that moved to
    process groups of their own (Airflow's task runners)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":  # field 6 of stat: the session id
            found.append(int(stat.parent.name))
    return found


def reap_with_pytest(session_id: int) -> None:
    """End the session ``session_id`` when this test run ends, however it ends."""
    global _watchdog
    if _watchdog is None or _watchdog.poll() is not None:
        _watchdog = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, start_new_session=True
        )
    assert _watchdog.stdin is not None
    _watchdog.stdin.write(f"{session_id}\n".encode())
    _watchdog.stdin.flush()


def _signal_all(sessions: set[int], signum: int) -> bool:
    """Send ``signum`` to every process of ``sessions``; whether any was left."""
    members = [pid for session in sessions for pid in session_members(session)]
    for pid in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    return bool(members)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for pytest must not end the reaping
    sessions = {int(line) for line in sys.stdin if line.strip()}  # until pytest closes the pipe
    if not _signal_all(sessions, signal.SIGTERM):
        return
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if not any(session_members(session) for session in sessions):
            return
    _signal_all(sessions, signal.SIGKILL)


if __name__ == "__main__":
    main()
