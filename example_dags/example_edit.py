"""Edit images on each vendor: the prompt is applied to the input images, then a sensor waits."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_nanobanana.operators.edit import NanoBananaEditImageOperator
from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor

INPUTS = [
    "https://upload.wikimedia.org/wikipedia/commons/4/44/Bananas_white_background_DS.jpg",
    "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg",
]

for vendor in ("modelslab", "acedata"):
    conn_id = f"nanobanana_{vendor}_default"
    with DAG(
        dag_id=f"nanobanana_edit_{vendor}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        tags=["nanobanana", vendor],
        params={"prompt": "The cat from image 2 wearing the bananas from image 1 as a hat"},
    ):
        submit = NanoBananaEditImageOperator(
            task_id="submit",
            conn_id=conn_id,
            prompt="{{ params.prompt }}",
            images=INPUTS,
            wait_for_completion=False,
        )
        wait = NanoBananaJobSensor(
            task_id="wait",
            conn_id=conn_id,
            job_id="{{ ti.xcom_pull(task_ids='submit')['job_id'] }}",
            poke_interval=2,
            timeout=600,
        )
        submit >> wait
