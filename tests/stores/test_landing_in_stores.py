"""Images land in GCS, Azure Blob / ADLS and local files with S3's guarantees: through the
operators (``destination={"uri": ...}``) and the transfer (``destination_uri``), verified, never
partial, once per key across retries, checked before payment, with assets and lineage naming
the real store. Each store is its real API on loopback (gcp-storage-emulator, Azurite) or the
file system."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from airflow_fakes import FakeTaskInstance, FakeTaskStateStore
from airflow_versions import alias_events, asset_uri, outlet_event_accessors

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError, NanoBananaImageTruncatedError
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.landing import land_jobs
from airflow_provider_nanobanana.stores.operator_mixin import DESTINATIONS_ALIAS
from airflow_provider_nanobanana.stores.writers import open_writer
from airflow_provider_nanobanana.task_instance import TaskInstanceKey
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator

ACEDATA = "nanobanana_acedata_default"
RUN = TaskInstanceKey(dag_id="images", run_id="manual__2026-12-04", task_id="land", map_index=-1)
LOG = logging.getLogger("tests.stores")


@pytest.fixture
def context() -> dict:
    return {
        "ti": FakeTaskInstance(),
        "task_state_store": FakeTaskStateStore(),
        "outlet_events": outlet_event_accessors(),
    }


def paid(emulator) -> int:
    return sum(emulator.counters()["accepted"].values())


def test_a_generate_task_lands_in_each_store_with_its_asset_and_lineage(emulator, store, prefix, context):
    operator = NanoBananaGenerateImageOperator(
        task_id="draw",
        conn_id=ACEDATA,
        prompt="a ripe banana",
        count=2,
        deferrable=False,
        poll_interval=0.05,
        destination={"uri": store.uri(prefix), "conn_id": store.conn_id},
    )
    landed = operator.execute(context)["s3"]

    stored = store.objects(prefix)
    assert sorted(stored) == sorted(item["key"] for item in landed)
    for item in landed:
        assert hashlib.sha256(stored[item["key"]]).hexdigest() == item["sha256"]
        assert item["uri"] == store.object_uri(item["key"])
        if store.scheme != "file":  # a file system keeps no object metadata
            assert store.metadata(item["key"])["sha256"] == item["sha256"]
    ((asset, extra),) = alias_events(context, DESTINATIONS_ALIAS)
    assert asset == asset_uri(store.uri(prefix))
    assert extra["count"] == 2
    outputs = operator.get_openlineage_facets_on_complete(None).outputs
    assert [f"{dataset.namespace}/{dataset.name}" for dataset in outputs] == [item["uri"] for item in landed]


def test_the_transfer_lands_a_finished_job_in_each_store_by_uri(
    emulator, finished_job, store, prefix, context
):
    job = finished_job("modelslab", count=2)
    landed = NanoBananaImagesToS3Operator(
        task_id="land", jobs=job, destination_uri=store.uri(prefix), conn_id=store.conn_id
    ).execute(context)

    stored = store.objects(prefix)
    assert {item["key"]: item["sha256"] for item in landed} == {
        key: hashlib.sha256(body).hexdigest() for key, body in stored.items()
    }


def test_a_missing_bucket_or_container_fails_before_anything_is_paid(emulator, store, context):
    missing = store.root.replace("images", "no-such-box")
    if store.scheme == "file":  # a path whose nearest existing part is a file, not a directory
        Path(store.root.removeprefix("file://"), "not-a-directory").write_text("")
        missing = f"{store.root}/not-a-directory/images"
    operator = NanoBananaGenerateImageOperator(
        task_id="draw",
        conn_id=ACEDATA,
        prompt="a ripe banana",
        deferrable=False,
        destination={"uri": missing, "conn_id": store.conn_id},
    )

    with pytest.raises(NanoBananaDestinationError, match=r"does not exist|not a directory") as caught:
        operator.execute(context)

    assert caught.value.conn_id == store.conn_id
    assert paid(emulator) == 0


def test_a_body_cut_short_leaves_nothing_in_the_store(emulator, finished_job, store, prefix):
    job = finished_job("acedata")
    emulator.add_fault(Fault(vendor="acedata", endpoint="files", kind="truncated", times=10))
    destination = Destination(uri=store.uri(prefix), conn_id=store.conn_id).checked()

    with pytest.raises(NanoBananaImageTruncatedError):
        land_jobs([job], destination, RUN, prompt=None, log=LOG)

    assert store.objects(prefix) == {}


def test_a_retry_after_a_worker_died_mid_upload_lands_each_object_once(emulator, finished_job, store, prefix):
    job = finished_job("acedata")
    destination = Destination(uri=store.uri(prefix), conn_id=store.conn_id).checked()
    (first,) = land_jobs([job], destination, RUN, prompt=None, log=LOG)
    # The try before: its worker died halfway through writing the same key (nothing aborted).
    dead = open_writer(destination, LOG).upload(first["key"], "image/png", {})
    dead.write(b"\x89PNG half of an image")

    (again,) = land_jobs([job], destination, RUN, prompt=None, log=LOG)

    stored = store.objects(prefix)
    assert list(stored) == [first["key"]] == [again["key"]]
    assert hashlib.sha256(stored[first["key"]]).hexdigest() == first["sha256"] == again["sha256"]


def test_the_extra_link_opens_a_gcs_object_in_the_cloud_console():
    from airflow_provider_nanobanana.stores.gcs import GCS_ENDPOINT, GcsWriter

    writer = GcsWriter(None, None, GCS_ENDPOINT, "images", None, 0, LOG)

    assert writer.link("posters/a b.png") == (
        "https://console.cloud.google.com/storage/browser/_details/images/posters/a%20b.png"
    )
