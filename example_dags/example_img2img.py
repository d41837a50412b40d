"""Image to image on each vendor; ModelsLab also gets its noise and aspect controls."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_nanobanana.operators.img2img import NanoBananaImageToImageOperator
from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor

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
        params={"prompt": "Turn this into a watercolor painting, soft edges"},
    ):
        submit = NanoBananaImageToImageOperator(
            task_id="submit",
            conn_id=conn_id,
            prompt="{{ params.prompt }}",
            images=[REFERENCE],
            wait_for_completion=False,
            **controls,
        )
        wait = NanoBananaJobSensor(
            task_id="wait",
            conn_id=conn_id,
            job_id="{{ ti.xcom_pull(task_ids='submit')['job_id'] }}",
            poke_interval=2,
            timeout=600,
        )
        submit >> wait
