"""A batch lands its images and its manifest in GCS, and the manifest describes the objects as
the store has them."""

from __future__ import annotations

import hashlib
import json

from airflow_fakes import FakeTaskInstance, FakeTaskStateStore
from airflow_versions import outlet_event_accessors

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

from .conftest import BUCKET


def test_a_batch_writes_its_images_and_manifest_to_gcs_with_matching_sha256(
    emulator, gcs, gcs_connection, prefix
):
    bucket = gcs[1]
    context = {
        "ti": FakeTaskInstance(),
        "task_state_store": FakeTaskStateStore(),
        "outlet_events": outlet_event_accessors(),
    }
    returned = NanoBananaBatchImageOperator(
        task_id="cards",
        conn_id="nanobanana_acedata_default",
        items=[f"fruit card {number}" for number in range(5)],
        destination={"uri": f"gs://{BUCKET}/{prefix}", "conn_id": gcs_connection},
        deferrable=False,
        poll_interval=0.05,
    ).execute(context)

    assert returned["manifest"].startswith(f"gs://{BUCKET}/{prefix}/")
    key = returned["manifest"].removeprefix(f"gs://{BUCKET}/")
    written = json.loads(bucket.get_blob(key).download_as_bytes())
    objects = [obj for item in written["results"] for obj in item["s3"]]
    assert len(objects) == 5 == returned["succeeded"]
    for obj in objects:
        body = bucket.get_blob(obj["key"]).download_as_bytes()
        assert (hashlib.sha256(body).hexdigest(), len(body)) == (obj["sha256"], obj["size"])
    stored = {blob.name for blob in bucket.list_blobs(prefix=prefix)}
    assert stored == {obj["key"] for obj in objects} | {key}
