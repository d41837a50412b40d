"""A Gemini batch of twenty prompts polled in its worker slot, whose retry starts at once: the
deployment's task-runner-kill test (tests/integration/dags has its triggerer twin)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

with DAG(
    dag_id="nanobanana_test_gemini_batch_in_worker",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    default_args={"retries": 1, "retry_delay": timedelta(seconds=0)},
):
    NanoBananaBatchImageOperator(
        task_id="fruit_cards",
        conn_id="nanobanana_gemini_default",
        items=[f"fruit card {index}" for index in range(20)],
        s3_output={"bucket": "nanobanana-images", "prefix": "gemini/in-worker"},
        poll_interval=0.5,
        deferrable=False,
    )
