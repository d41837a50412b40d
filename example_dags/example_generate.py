"""Generate images on each vendor and land them in S3: submit, wait in a sensor, transfer.

The connection decides the vendor; only the sizing fields differ between the two DAGs. While the
job runs, the sensor defers (when deferrable) so the triggerer waits and no worker slot is held.
Each landing is one event on the destination asset (``s3://<bucket>/generated``) with the objects
in its extra; ``example_new_images.py`` is scheduled on every such event.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator

VENDORS = {
    "modelslab": ("nanobanana_modelslab_default", {"width": 1024, "height": 1024}),
    "acedata": ("nanobanana_acedata_default", {"aspect_ratio": "16:9"}),
}

for vendor, (conn_id, size) in VENDORS.items():
    with DAG(
        dag_id=f"nanobanana_generate_{vendor}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        tags=["nanobanana", vendor],
        params={
            "prompt": "A banana-shaped airship over a data centre at dawn",
            "s3_bucket": "nanobanana-images",
        },
    ):
        submit = NanoBananaGenerateImageOperator(
            task_id="submit",
            conn_id=conn_id,
            prompt="{{ params.prompt }}",
            count=2,
            wait_for_completion=False,
            **size,
        )
        wait = NanoBananaJobSensor(
            task_id="wait",
            conn_id=conn_id,
            job_id="{{ ti.xcom_pull(task_ids='submit')['job_id'] }}",
            requested_count=2,
            poke_interval=2,
            timeout=600,
        )
        to_s3 = NanoBananaImagesToS3Operator(
            task_id="to_s3",
            jobs=wait.output,
            s3_bucket="{{ params.s3_bucket }}",
            s3_prefix="generated",
            prompt="{{ params.prompt }}",
        )
        submit >> wait >> to_s3
