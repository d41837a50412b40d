"""Test-only DAG for the batch's cap: 40 items at a connection price of $0.04, capped at $1.00."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

# The test sets this connection: AceData on the emulator, with {"prices": {"nano-banana": 0.04}}.
PRICED_CONN = "acedata_priced"

with DAG(dag_id="nanobanana_test_batch_budget", schedule=None, start_date=datetime(2026, 1, 1)):
    NanoBananaBatchImageOperator(
        task_id="draw",
        conn_id=PRICED_CONN,
        items=[f"catalogue photo {number}" for number in range(40)],
        max_in_flight=10,
        max_cost_usd=1.00,
        poll_interval=0.2,
        timeout=300,
        retries=2,  # a budget stop fails without them: no retry could send more under the same cap
        s3_output={"bucket": "nanobanana-images", "prefix": "test-budget"},
    )
