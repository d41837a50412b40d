"""Test-only DAGs for the batch operator in the deployments: ``count`` prompts in one task, landed
under ``s3_prefix``, with retries so a lost worker's try is taken up by another. One DAG per
``max_in_flight`` the benchmark compares: ``nanobanana_batch`` (50), ``nanobanana_batch_10`` and
``nanobanana_batch_5`` (ModelsLab's documented queue)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

for in_flight in (50, 10, 5):
    with DAG(
        dag_id="nanobanana_batch" if in_flight == 50 else f"nanobanana_batch_{in_flight}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        render_template_as_native_obj=True,
        params={"conn_id": "nanobanana_acedata_default", "count": 10, "s3_prefix": "batch"},
    ):

        @task
        def prompts(params=None) -> list[str]:
            # Each run its own prompts: a lost answer is looked for by its request, and runs side
            # by side with identical requests could not tell their jobs apart.
            return [
                f"catalogue item {number} of {params['s3_prefix']}, studio product photo"
                for number in range(params["count"])
            ]

        NanoBananaBatchImageOperator(
            task_id="draw",
            conn_id="{{ params.conn_id }}",
            items=prompts(),
            max_in_flight=in_flight,
            poll_interval=0.5,
            timeout=4 * 3600,
            s3_output={"bucket": "nanobanana-images", "prefix": "{{ params.s3_prefix }}"},
            retries=3,
            retry_delay=timedelta(seconds=2),
        )
