"""What the deployment tests prove after a run: every paid image in S3, and no secret anywhere.

"Anywhere" is every try's task log over REST, every file the deployment wrote (component logs,
task log files, on every machine of it) and every row of the metadata DB (on SQLite its raw bytes
too), which holds trigger kwargs, trigger events (``next_kwargs``), XCom, rendered fields and
task instance history.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, SECRET_KEY, LocalS3
from airflow_provider_nanobanana.emulator.settings import (
    DEFAULT_ACEDATA_TOKEN,
    DEFAULT_GEMINI_KEY,
    DEFAULT_MODELSLAB_KEY,
)

from .dag_runs import Run, instances, task_instances, task_logs, xcom
from .deployment import AirflowDeployment

SECRETS = (DEFAULT_MODELSLAB_KEY, DEFAULT_ACEDATA_TOKEN, DEFAULT_GEMINI_KEY, SECRET_KEY)


def succeeded_summaries(airflow: AirflowDeployment, run: Run, task_id: str = "generate") -> list[dict]:
    """The job summaries of the run's mapped tasks that succeeded."""
    return [
        xcom(airflow.api, run, task_id, ti["map_index"])
        for ti in instances(run, task_id)
        if ti["state"] == "success"
    ]


def assert_every_image_landed(airflow: AirflowDeployment, s3: LocalS3, run: Run, prefix: str) -> int:
    """Each image of each succeeded job is in S3 with the vendor's exact bytes; returns how many."""
    client = s3.client()
    verified = 0
    for summary in succeeded_summaries(airflow, run):
        for index, url in enumerate(summary["images"]):
            key = f"{prefix}/{run.dag_id}/{run.run_id}/to_s3/-1/{summary['job_id']}_{index}.png"
            stored = client.get_object(Bucket=EXAMPLE_BUCKET, Key=key)
            body = stored["Body"].read()
            assert body == httpx.get(url).content, f"{key} differs from the image the vendor served"
            assert stored["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
            verified += 1
    return verified


def assert_no_secret_anywhere(
    airflow: AirflowDeployment, runs: list[Run], other_files: tuple[Path, ...] = ()
) -> int:
    """Fail on a vendor key or the AWS secret in a REST task log, a file (the deployment's and
    ``other_files``, such as a database server's log) or the DB; count places checked."""
    leaked = [secret for secret in SECRETS if secret in airflow.metadata_db_text()]
    assert not leaked, f"{leaked} in the metadata DB"
    checked = 1
    for run in runs:
        answers = {
            **{f"log {where}": text for where, text in task_logs(airflow.api, run).items()},
            "task instances": json.dumps(task_instances(airflow.api, run)),
            "XCom": json.dumps(
                [
                    airflow.api.get(f"{run.path}/taskInstances/{ti['task_id']}/xcomEntries").json()
                    for ti in run.task_instances
                ]
            ),
        }
        for where, text in answers.items():
            leaked = [secret for secret in SECRETS if secret in text]
            assert not leaked, f"{leaked} in the REST answer ({where}) of {run.dag_id}"
            checked += 1
    for path in [*Path(airflow.home).rglob("*"), *other_files]:
        if path.is_file() and path.name != "passwords.json":
            data = path.read_bytes()
            leaked = [secret for secret in SECRETS if secret.encode() in data]
            assert not leaked, f"{leaked} in {path}"
            checked += 1
    return checked
