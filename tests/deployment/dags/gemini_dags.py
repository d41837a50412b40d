"""Gemini batches of twenty prompts whose retries start at once, for the worker-death tests.

The dag.test() tier (tests/integration) reads this file too: ``..._retried`` waits as the
configured default says (it runs in both modes), ``..._in_worker`` polls in its worker slot for
the deployment's task-runner-kill test, and ``..._partial`` lets two of its items fail for good
(a batch that ends PARTIALLY_SUCCEEDED).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

VARIANTS = {"retried": {}, "in_worker": {"deferrable": False}, "partial": {"max_failed_items": 2}}

for name, variant in VARIANTS.items():
    with DAG(
        dag_id=f"nanobanana_test_gemini_batch_{name}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        default_args={"retries": 1, "retry_delay": timedelta(seconds=0)},
    ):
        NanoBananaBatchImageOperator(
            task_id="fruit_cards",
            conn_id="nanobanana_gemini_default",
            items=[f"fruit card {index}" for index in range(20)],
            s3_output={"bucket": "nanobanana-images", "prefix": f"gemini/{name.replace('_', '-')}"},
            poll_interval=0.5,
            **variant,
        )
