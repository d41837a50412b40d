"""Test-only DAGs for the fault and scale runs: mapped prompts on any connection (or spread over
several: ``conn_id`` may be a list, dealt out to the prompts in turn), each run shaped by its conf.

``nanobanana_faults`` waits in the triggerer; ``nanobanana_faults_in_worker`` waits in the task
(so a task runner is alive while its job runs, to be killed). ``render_template_as_native_obj``
lets a run's conf hand dicts and lists (options, s3_output) to the operator as they are. The
transfer runs whatever became of the mapped tasks, as the README recommends, so one failed
prompt never strands its siblings' paid images.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator

for dag_id, deferrable in (("nanobanana_faults", True), ("nanobanana_faults_in_worker", False)):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        render_template_as_native_obj=True,
        params={
            "conn_id": "nanobanana_acedata_default",
            "prompts": ["A banana under fault injection"],
            "model": None,
            "options": {},
            "s3_output": None,
            "s3_prefix": "faults",
        },
        default_args={"retries": 2, "retry_delay": timedelta(seconds=2)},
    ):

        @task
        def requests(params=None) -> list[dict[str, str]]:
            conn_ids = params["conn_id"] if isinstance(params["conn_id"], list) else [params["conn_id"]]
            return [
                {"prompt": prompt, "conn_id": conn_ids[number % len(conn_ids)]}
                for number, prompt in enumerate(params["prompts"])
            ]

        generate = NanoBananaGenerateImageOperator.partial(
            task_id="generate",
            model="{{ params.model }}",
            options="{{ params.options }}",
            s3_output="{{ params.s3_output }}",
            deferrable=deferrable,
            poll_interval=2,
            timeout=900,
        ).expand_kwargs(requests())
        NanoBananaImagesToS3Operator(
            task_id="to_s3",
            jobs=generate.output,
            s3_bucket="nanobanana-images",
            s3_prefix="{{ params.s3_prefix }}",
            trigger_rule="all_done",
        )
