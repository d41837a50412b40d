"""Runs whenever the example DAGs land images: scheduled on the alias every landing reports through.

Each landing is one asset event on its destination (``s3://<bucket>/<prefix>``), whose extra lists
the objects (uri, key, size, sha256, content type, vendor, job id, index). To follow one destination
only, schedule on ``Asset("s3://my-bucket/generated")`` instead.
"""

from __future__ import annotations

import json
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, AssetAlias, task

from airflow_provider_nanobanana.stores.operator_mixin import DESTINATIONS_ALIAS

with DAG(
    dag_id="nanobanana_new_images",
    schedule=[AssetAlias(DESTINATIONS_ALIAS)],
    start_date=datetime(2026, 1, 1),
    tags=["nanobanana"],
):

    @task
    def list_new_images(triggering_asset_events=None) -> list[str]:
        uris = []
        for events in triggering_asset_events.values():
            for event in events:
                objects = event.extra["objects"]
                if isinstance(objects, str):  # JSON text on Airflow 2 and 3.0, whose alias events need it
                    objects = json.loads(objects)
                uris += [item["uri"] for item in objects]
        for uri in uris:
            print(f"New image: {uri}")
        return uris

    list_new_images()
