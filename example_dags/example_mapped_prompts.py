"""One generation job per prompt with dynamic task mapping, then one transfer for all of them.

Each mapped task submits and waits itself; the transfer receives the list of their summaries.
It runs once all of them are done, whatever became of each (``trigger_rule="all_done"``): one
refused prompt must not strand the images its siblings paid for. It lands those, then fails
naming the mapped tasks that delivered nothing.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator

PROMPTS = [
    "A lighthouse made of bananas, oil painting",
    "A robot watering a vertical garden, isometric",
    "A paper-craft city at night, soft light",
]

with DAG(
    dag_id="nanobanana_mapped_prompts",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["nanobanana", "acedata"],
    params={"s3_bucket": "nanobanana-images"},
):
    generate = NanoBananaGenerateImageOperator.partial(
        task_id="generate",
        conn_id="nanobanana_acedata_default",
        aspect_ratio="1:1",
        poll_interval=2,
        timeout=600,
    ).expand(prompt=PROMPTS)
    NanoBananaImagesToS3Operator(
        task_id="to_s3",
        jobs=generate.output,
        s3_bucket="{{ params.s3_bucket }}",
        s3_prefix="mapped",
        trigger_rule="all_done",
    )
