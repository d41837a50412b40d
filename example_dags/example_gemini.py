"""Google's own Gemini API: one poster drawn interactively, and twenty in one Gemini batch.

Interactive ``generateContent`` answers with the image bytes inside the answer, once: nothing can
fetch them again, so the task lands them in S3 itself (``s3_output`` is required with this
vendor). The batch goes through Gemini's Batch API at half the interactive price: one JSONL file
uploaded, one batch created, its results file read line by line as each image lands. A retry, or
a worker lost mid-run, finds the batch it already created by its display name and never creates
a second one. The same DAGs run on ModelsLab or AceData by changing ``conn_id``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

BUCKET = "nanobanana-images"
FRUITS = ("banana", "mango", "fig", "lychee", "papaya")
STYLES = ("watercolour", "linocut", "neon sign", "botanical plate")

with DAG(
    dag_id="nanobanana_gemini_interactive",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["nanobanana", "gemini"],
):
    NanoBananaGenerateImageOperator(
        task_id="poster",
        conn_id="nanobanana_gemini_default",
        prompt="A retro travel poster of a banana plantation at dawn",
        model="gemini-3-pro-image",  # Nano Banana Pro: it thinks, drafts first; only its final image lands
        aspect_ratio="2:3",
        resolution="2K",
        s3_output={"bucket": BUCKET, "prefix": "gemini/posters"},
        retries=2,
    )

with DAG(
    dag_id="nanobanana_gemini_batch",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["nanobanana", "gemini", "batch"],
):
    NanoBananaBatchImageOperator(
        task_id="fruit_cards",
        conn_id="nanobanana_gemini_default",
        items=[f"A {fruit} drawn as a {style}" for fruit in FRUITS for style in STYLES],
        model="gemini-3.1-flash-image",  # Nano Banana 2
        aspect_ratio="4:5",
        max_failed_items=1,
        s3_output={"bucket": BUCKET, "prefix": "gemini/fruit"},
        retries=2,
    )
