"""Test-only DAGs: one generate task per vendor with a retry, to prove a retried task reattaches."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

SIZES = {"modelslab": {"width": 1024, "height": 1024}, "acedata": {"aspect_ratio": "1:1"}}

for vendor, size in SIZES.items():
    with DAG(dag_id=f"nanobanana_test_retry_{vendor}", schedule=None, start_date=datetime(2026, 1, 1)):
        NanoBananaGenerateImageOperator(
            task_id="generate",
            conn_id=f"nanobanana_{vendor}_default",
            prompt="a retried fox",
            poll_interval=0.2,
            timeout=60,
            retries=1,
            retry_delay=timedelta(0),
            **size,
        )
