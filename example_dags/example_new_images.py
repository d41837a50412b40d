"""Runs whenever the example DAGs land new images: scheduled on the ``nanobanana-images`` asset alias.

Each asset event carries the object's sha256, size, content type, vendor, job id and index.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, AssetAlias, task

with DAG(
    dag_id="nanobanana_new_images",
    schedule=[AssetAlias("nanobanana-images")],
    start_date=datetime(2026, 1, 1),
    tags=["nanobanana"],
):

    @task
    def list_new_images(triggering_asset_events=None) -> list[str]:
        uris = [event.asset.uri for events in triggering_asset_events.values() for event in events]
        for uri in uris:
            print(f"New image: {uri}")
        return uris

    list_new_images()
