"""Land images in Google Cloud Storage, Azure Blob Storage (or ADLS) and local files.

A destination is a URI; its connection is Airflow's own for the store (``google_cloud_default``,
``wasb_default``, ``azure_data_lake_default``) unless ``conn_id`` names another. GCS and Azure
need this package's ``[gcs]`` and ``[azure]`` extras; a missing one fails the task before it
pays, naming the extra. Images stream to the store and appear only once whole and verified, as
in S3. Trigger with ``{"uri": "gs://my-bucket/generated"}`` to land elsewhere; a local
directory must be one every worker shares (a mounted volume).
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

DESTINATIONS = {
    "gcs": "gs://nanobanana-images/generated",
    "azure": "wasb://nanobanana-images@devstoreaccount1/generated",
    "local": "file:///tmp/nanobanana-images/generated",
}

for store, uri in DESTINATIONS.items():
    with DAG(
        dag_id=f"nanobanana_generate_to_{store}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        tags=["nanobanana", store],
        params={"prompt": "A banana-shaped airship over a data centre at dawn", "uri": uri},
    ):
        NanoBananaGenerateImageOperator(
            task_id="generate",
            conn_id="nanobanana_acedata_default",
            prompt="{{ params.prompt }}",
            aspect_ratio="16:9",
            count=2,
            destination={"uri": "{{ params.uri }}/{{ run_id }}"},
        )
