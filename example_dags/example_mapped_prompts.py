"""One generation job per prompt with dynamic task mapping; each mapped task submits and waits itself."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

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
):
    NanoBananaGenerateImageOperator.partial(
        task_id="generate",
        conn_id="nanobanana_acedata_default",
        aspect_ratio="1:1",
        poll_interval=2,
        timeout=600,
    ).expand(prompt=PROMPTS)
