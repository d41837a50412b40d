"""A nightly catalogue: product prompts from a CSV in S3, all drawn by one batch task, landed by day.

One task instance for the whole catalogue instead of one per product: the batch keeps at most
``max_in_flight`` jobs at the vendor, waits for them in the triggerer, lands each image as its
job finishes, and writes ``manifest.json`` next to the images. A retry, or a worker lost mid-run,
reattaches to every job already paid for. Two products may be refused (moderation) without
failing the night; the manifest says which and why. Give it ``schedule="@daily"`` for a nightly
run; it has none here so that a deployment running the examples draws only when asked.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

BUCKET = "nanobanana-images"
# The run's date, also on a run triggered by hand (Airflow 3 gives that no logical date, so no ds).
RUN_DATE = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
CATALOGUE_KEY = "catalogue/products.csv"

with DAG(
    dag_id="nanobanana_catalogue_batch",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["nanobanana", "acedata", "batch"],
):

    @task
    def read_catalogue() -> list[dict[str, str]]:
        """One item per CSV row: ``prompt`` and ``aspect_ratio`` columns (the other columns are ours)."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        text = S3Hook(aws_conn_id="aws_default").read_key(CATALOGUE_KEY, bucket_name=BUCKET)
        return [
            {"prompt": row["prompt"], "aspect_ratio": row["aspect_ratio"]}
            for row in csv.DictReader(io.StringIO(text))
        ]

    NanoBananaBatchImageOperator(
        task_id="draw_catalogue",
        conn_id="nanobanana_acedata_default",
        items=read_catalogue(),
        max_in_flight=10,
        max_failed_items=2,
        s3_output={
            "bucket": BUCKET,
            "prefix": "catalogue/" + RUN_DATE,
        },
        poll_interval=2,
        timeout=6 * 3600,
        retries=2,
    )
