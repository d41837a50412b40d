"""Not collected by itself (its name does not start with ``test_``): ``test_cleanup.py`` runs it
in a pytest of its own and kills that pytest once the cluster is up."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..deployment import AirflowDeployment
from ..services import PostgreSQLServer, RedisServer


def test_the_cluster_runs_until_pytest_is_killed(
    cluster: AirflowDeployment, postgres: PostgreSQLServer, redis: RedisServer
):
    sessions = {name: process.pid for name, process in cluster.processes.items()}
    sessions |= {"postgresql": postgres.postmaster_pid(), "redis-server": redis.session_id}
    Path(os.environ["NANOBANANA_SESSIONS_FILE"]).write_text(json.dumps(sessions))
    time.sleep(3600)  # the outer test kills this pytest long before
