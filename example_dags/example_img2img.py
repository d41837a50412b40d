"""Image to image on each vendor in one task: submit, wait and land the result in S3 (``s3_output``).

ModelsLab also gets its noise and aspect controls. For long jobs, prefer the submit, sensor and
transfer shape of ``example_generate.py``: a retry of this single task reattaches to its job, but
the whole task re-runs the landing.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.img2img import NanoBananaImageToImageOperator

REFERENCE = "https://upload.wikimedia.org/wikipedia/commons/4/44/Bananas_white_background_DS.jpg"
VENDORS = {
    "modelslab": {
        "noise_scale_start": 7.5,
        "noise_scale_end": 7.5,
        "keep_original_aspect": False,
        "seed": 42,
    },
    "acedata": {"aspect_ratio": "1:1"},
}

for vendor, controls in VENDORS.items():
    conn_id = f"nanobanana_{vendor}_default"
    with DAG(
        dag_id=f"nanobanana_img2img_{vendor}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        tags=["nanobanana", vendor],
        params={
            "prompt": "Turn this into a watercolor painting, soft edges",
            "s3_bucket": "nanobanana-images",
        },
    ):
        NanoBananaImageToImageOperator(
            task_id="img2img",
            conn_id=conn_id,
            prompt="{{ params.prompt }}",
            images=[REFERENCE],
            poll_interval=2,
            timeout=600,
            s3_output={
                "bucket": "{{ params.s3_bucket }}",
                "prefix": "img2img",
            },
            **controls,
        )
