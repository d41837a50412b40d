"""Test-only DAGs for the batch operator: a mapped upstream task feeding its items, with a retry."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

PRODUCTS = ["a teal kettle", "a cork yoga mat", "a brass door knob"]

with DAG(dag_id="nanobanana_test_batch_mapped_upstream", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def describe(product: str) -> dict[str, str]:
        return {"prompt": f"{product}, studio product photo", "width": 1024, "height": 1024}

    NanoBananaBatchImageOperator(
        task_id="draw",
        conn_id="nanobanana_modelslab_default",
        items=describe.expand(product=PRODUCTS),
        max_in_flight=2,
        poll_interval=0.2,
        timeout=120,
        retries=1,
        retry_delay=timedelta(0),
        s3_output={"bucket": "nanobanana-images", "prefix": "test-batch"},
    )
