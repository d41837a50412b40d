"""Edit images kept in S3 on each vendor: submit, wait in a sensor, transfer the results to S3.

The inputs are ``s3://`` objects (templated from the ``s3_bucket`` param; upload them first, as
``make demo`` does). ModelsLab receives presigned URLs; AceData receives them inline as data URIs
(up to 10 MB each), so the vendor never needs access to the bucket.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.edit import NanoBananaEditImageOperator
from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator

INPUTS = ["s3://{{ params.s3_bucket }}/inputs/bananas.png", "s3://{{ params.s3_bucket }}/inputs/cat.png"]

for vendor in ("modelslab", "acedata"):
    conn_id = f"nanobanana_{vendor}_default"
    with DAG(
        dag_id=f"nanobanana_edit_{vendor}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        tags=["nanobanana", vendor],
        params={
            "prompt": "The cat from image 2 wearing the bananas from image 1 as a hat",
            "s3_bucket": "nanobanana-images",
        },
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
        to_s3 = NanoBananaImagesToS3Operator(
            task_id="to_s3",
            jobs=wait.output,
            s3_bucket="{{ params.s3_bucket }}",
            s3_prefix="edited",
            prompt="{{ params.prompt }}",
        )
        submit >> wait >> to_s3
