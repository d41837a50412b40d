"""Every service a test starts dies with the test run, however it ends: here pytest is killed
with SIGKILL (as a CI job cut off at its time limit is), so none of its own cleanup runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import REPO
from ..reaper import GRACE_SECONDS, session_members

pytestmark = pytest.mark.scale

INNER = Path(__file__).with_name("cluster_left_to_the_reaper.py")


def test_killing_pytest_leaves_no_process_of_the_cluster_behind(tmp_path: Path):
    sessions_file = tmp_path / "sessions.json"
    inner = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(INNER)],
        cwd=REPO,
        env={**os.environ, "NANOBANANA_SESSIONS_FILE": str(sessions_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while not sessions_file.exists():
            assert inner.poll() is None, "the inner pytest ended before its cluster was up"
            assert time.monotonic() < deadline, "the cluster did not come up"
            time.sleep(1)
        sessions = json.loads(sessions_file.read_text())
        assert all(session_members(session) for session in sessions.values()), "all of them up"
    finally:
        inner.send_signal(signal.SIGKILL)
        inner.wait()

    deadline = time.monotonic() + GRACE_SECONDS + 30
    while (left := {name for name, session in sessions.items() if session_members(session)}) and (
        time.monotonic() < deadline
    ):
        time.sleep(1)
    assert not left, f"still running after pytest was killed: {sorted(left)}"
    assert {"postgresql", "redis-server", "scheduler"} <= set(sessions)
