"""A batch that knows its price before it pays: a dry run, a person's approval, then a capped run.

The dry run validates every item and renders every S3 key without sending anything, and returns
the estimate: how many images, and about how much at Google's published prices (Gemini Batch
bills half). On Airflow 3.1+ an ``ApprovalOperator`` shows that estimate to a person, who approves
or rejects it in the UI, and the batch runs only if approved. Airflow 2.11 and 3.0 have no
human-in-the-loop operators: there a short-circuit task is the gate, and the batch runs only if
the estimate fits ``params.max_cost_usd`` (or pause the DAG after the dry run and read its XCom).

Either way the batch carries the cap itself: it never pays more than ``max_cost_usd``, whatever
the estimate said. If it stops at the cap, the items it did not send are listed in its manifest
(``not_submitted``, reason ``budget``); raise ``max_cost_usd`` in the run's params and clear the
task, and it sends only those.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, AirflowOptionalProviderFeatureException, Param, task

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

BUCKET = "nanobanana-images"
# The run's date, also on a run triggered by hand (Airflow 3 gives that no logical date, so no ds).
RUN_DATE = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
FRUITS = ("banana", "mango", "fig", "lychee", "papaya", "quince", "durian", "kiwi")
STYLES = ("watercolour", "linocut", "neon sign", "botanical plate", "mosaic")
ESTIMATE = "ti.xcom_pull(task_ids='estimate')"

try:
    from airflow.providers.standard.operators.hitl import ApprovalOperator
except (ImportError, AirflowOptionalProviderFeatureException):  # before Airflow 3.1
    ApprovalOperator = None

with DAG(
    dag_id="nanobanana_budgeted_batch",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={
        "max_cost_usd": Param(
            2.0, type="number", minimum=0, description="The most this run may pay, in US dollars."
        )
    },
    tags=["nanobanana", "gemini", "batch", "budget"],
):
    batch = {
        "conn_id": "nanobanana_gemini_default",
        "items": [f"A {fruit} drawn as a {style}" for fruit in FRUITS for style in STYLES],
        "model": "gemini-3.1-flash-image",
        "s3_output": {
            "bucket": BUCKET,
            "prefix": "budgeted/" + RUN_DATE,
        },
        "max_cost_usd": "{{ params.max_cost_usd }}",
    }
    estimate = NanoBananaBatchImageOperator(task_id="estimate", dry_run=True, **batch)
    draw = NanoBananaBatchImageOperator(task_id="draw", retries=2, **batch)

    if ApprovalOperator is not None:
        gate = ApprovalOperator(
            task_id="approve",
            subject="Pay about ${{ '%.2f' % " + ESTIMATE + "['cost_usd'] }} for fruit cards?",
            body="This run draws {{ " + ESTIMATE + "['items'] }} fruit cards with Nano Banana 2 "
            "through Gemini Batch: at most {{ " + ESTIMATE + "['images'] }} images, about "
            "${{ '%.2f' % " + ESTIMATE + "['cost_usd'] }} at prices checked "
            "{{ " + ESTIMATE + "['prices_checked'] }}. The run is capped at "
            "${{ params.max_cost_usd }} whatever happens.",
        )
        estimate >> gate
    else:

        @task.short_circuit
        def within_budget(estimate: dict, cap: str) -> bool:
            """Go on only if the dry run's estimate fits the cap (the approval on Airflow 3.1+)."""
            return estimate["cost_usd"] is not None and estimate["cost_usd"] <= float(cap)

        gate = within_budget(estimate.output, "{{ params.max_cost_usd }}")

    gate >> draw
