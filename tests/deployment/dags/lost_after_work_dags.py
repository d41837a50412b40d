"""Test-only DAG: a generate task and a batch whose first try holds its worker after the work is
done (jobs paid, images landed, ledger marked finished) and before Airflow records the success,
so the test can kill the task runner in exactly that window, as an OOM kill or a lost node would."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator


def hold_the_first_try(context: Any, result: Any) -> None:
    """``post_execute``: runs after ``execute`` returned, before Airflow records the success."""
    if context["ti"].try_number == 1:
        time.sleep(300)


with DAG(
    dag_id="nanobanana_lost_after_work",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    default_args={"retries": 2, "retry_delay": timedelta(seconds=2), "post_execute": hold_the_first_try},
):
    s3_output = {"bucket": "nanobanana-images", "prefix": "lost-after-work"}
    NanoBananaGenerateImageOperator(
        task_id="generate",
        conn_id="nanobanana_acedata_default",
        prompt="a banana whose worker is lost after landing it",
        deferrable=False,
        poll_interval=1,
        s3_output=s3_output,
    )
    NanoBananaBatchImageOperator(
        task_id="batch",
        conn_id="nanobanana_acedata_default",
        items=[f"catalogue item {number} whose worker is lost after landing it" for number in range(20)],
        max_in_flight=20,
        poll_interval=1,
        s3_output=s3_output,
    )
