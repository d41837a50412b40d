"""Test session set-up: a throwaway AIRFLOW_HOME and DAGs folder, set before anything imports Airflow."""

from __future__ import annotations

import os
import tempfile

AIRFLOW_HOME = tempfile.mkdtemp(prefix="nanobanana-airflow-home-")
# DAG runs in tests parse this folder; integration fixtures fill it with the example DAGs.
DAGS_FOLDER = os.path.join(AIRFLOW_HOME, "dags")
os.makedirs(DAGS_FOLDER)
os.environ["AIRFLOW_HOME"] = AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = DAGS_FOLDER
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

pytest_plugins = ["airflow_provider_nanobanana.emulator.pytest_plugin"]
