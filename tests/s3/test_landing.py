"""Images of finished emulator jobs land in the local S3 endpoint: exact bytes, metadata, keys, and
failures that name the image and leave nothing behind."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaImageExpiredError,
    NanoBananaImageTransferError,
    NanoBananaImageTruncatedError,
    NanoBananaInvalidRequestError,
    NanoBananaNotAnImageError,
    NanoBananaS3DestinationError,
)
from airflow_provider_nanobanana.stores import landing

from .conftest import PROMPT, stored_objects


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("vendor", ["modelslab", "acedata"])
def test_objects_hold_the_vendor_bytes_with_checksum_metadata_and_content_type(
    finished_job, land, nanobanana_s3, nanobanana_bucket, vendor
):
    job = finished_job(vendor, count=2)
    landed = land(job)
    stored = stored_objects(nanobanana_s3, nanobanana_bucket)
    assert [item["index"] for item in landed] == [0, 1]
    for item, url in zip(landed, job["images"], strict=True):
        vendor_bytes = httpx.get(url).content
        obj = stored[item["key"]]
        assert sha256(obj["body"]) == sha256(vendor_bytes) == item["sha256"]
        assert item["size"] == len(vendor_bytes)
        assert item["uri"] == f"s3://{nanobanana_bucket}/{item['key']}"
        assert obj["content_type"] == "image/png"
        assert obj["metadata"] == {
            "sha256": item["sha256"],
            "vendor": vendor,
            "job-id": job["job_id"],
            "image-index": str(item["index"]),
            **({"seed": str(job["seed"])} if job["seed"] is not None else {}),
            "prompt-sha256": sha256(PROMPT.encode()),
        }
        assert PROMPT not in str(obj["metadata"])


def test_default_keys_follow_the_task_instance_and_job(finished_job, land):
    job = finished_job("acedata")
    (item,) = land(job, prefix="/images/")
    assert item["key"] == f"images/images/manual__2026-11-20T10:00:00+00:00/to_s3/-1/{job['job_id']}_0.png"


def test_keys_follow_a_custom_template(finished_job, land):
    job = finished_job("modelslab", count=2)
    landed = land(job, prefix="art", key_template="{prefix}/{vendor}/{job_id}/{index}.{ext}")
    assert [item["key"] for item in landed] == [f"art/modelslab/{job['job_id']}/{i}.png" for i in (0, 1)]


def test_jpeg_images_land_as_jpeg_under_jpg_keys(finished_job, land, emulator):
    emulator.configure(image_format="jpeg")
    (item,) = land(finished_job("modelslab"))
    assert item["content_type"] == "image/jpeg"
    assert item["key"].endswith(".jpg")


def test_the_prompt_itself_is_stored_only_when_asked(finished_job, land, nanobanana_s3, nanobanana_bucket):
    (item,) = land(finished_job("acedata"), prompt="Un éléphant, 100% banane", include_prompt=True)
    metadata = stored_objects(nanobanana_s3, nanobanana_bucket)[item["key"]]["metadata"]
    assert metadata["prompt"] == "Un %C3%A9l%C3%A9phant, 100%25 banane"
    assert metadata["prompt-sha256"] == sha256("Un éléphant, 100% banane".encode())


def test_landing_again_rewrites_the_same_keys_without_duplicates(
    finished_job, land, nanobanana_s3, nanobanana_bucket
):
    job = finished_job("modelslab", count=2)
    first = land(job)
    second = land(job)
    assert first == second
    assert sorted(stored_objects(nanobanana_s3, nanobanana_bucket)) == sorted(item["key"] for item in first)


@pytest.mark.parametrize("shape", ["raw", "url"])
def test_base64_output_is_decoded_and_lands_as_the_image(finished_job, land, emulator, shape):
    emulator.configure(modelslab_base64_shape=shape)
    job = finished_job("modelslab", options={"base64": "yes"})
    reference = job["images"][0]
    assert reference.startswith("nanobanana+base64://") if shape == "raw" else reference.endswith(".base64")
    (item,) = land(job)
    assert item["content_type"] == "image/png"
    assert item["key"].endswith(".png")
    assert item["size"] > 1000


def test_a_truncated_body_is_retried_once_then_lands(finished_job, land, emulator):
    job = finished_job("acedata")
    emulator.add_fault(Fault(vendor="acedata", endpoint="files", kind="truncated"))
    (item,) = land(job)
    assert item["sha256"] == sha256(httpx.get(job["images"][0]).content)
    assert emulator.counters()["requests"]["acedata:files"] == 3  # truncated, retried, and our check


@pytest.mark.parametrize(
    ("kind", "error_class", "problem"),
    [
        ("truncated", NanoBananaImageTruncatedError, "the body ended after"),
        ("expired", NanoBananaImageExpiredError, "HTTP 404: the link has expired"),
        ("not_image", NanoBananaNotAnImageError, "not a PNG, JPEG, WebP or GIF image"),
    ],
)
def test_bad_bodies_fail_naming_job_index_and_host_and_leave_nothing_in_s3(
    finished_job, land, emulator, nanobanana_s3, nanobanana_bucket, kind, error_class, problem
):
    job = finished_job("modelslab")
    emulator.add_fault(Fault(vendor="modelslab", endpoint="files", kind=kind, times=10))
    with pytest.raises(error_class) as caught:
        land(job)
    error = caught.value
    assert (error.job_id, error.index, error.host) == (job["job_id"], 0, "127.0.0.1")
    assert f"modelslab job {job['job_id']} image 0 (from 127.0.0.1)" in str(error)
    assert problem in str(error)
    assert stored_objects(nanobanana_s3, nanobanana_bucket) == {}
    uploads = nanobanana_s3.client().list_multipart_uploads(Bucket=nanobanana_bucket)
    assert uploads.get("Uploads", []) == []


def test_an_expired_link_is_not_retried(finished_job, land, emulator):
    job = finished_job("acedata")
    emulator.add_fault(Fault(vendor="acedata", endpoint="files", kind="expired", times=10))
    with pytest.raises(NanoBananaImageExpiredError):
        land(job)
    assert emulator.counters()["requests"]["acedata:files"] == 1


def test_errors_and_task_logs_never_show_a_signed_query_string(
    finished_job, land, emulator, caplog, capsys, monkeypatch
):
    # The emulator's access log is the vendor's side of the wire: leave it out of the task's log.
    monkeypatch.setattr(logging.getLogger("airflow_provider_nanobanana.emulator.server"), "propagate", False)
    job = finished_job("acedata")
    job["images"] = [job["images"][0] + "?X-Amz-Signature=very-secret-signature"]
    emulator.add_fault(Fault(vendor="acedata", endpoint="files", kind="expired", times=10))
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # Airflow quiets it to WARNING; a user may not
    with pytest.raises(NanoBananaImageExpiredError) as caught:
        land(job)
    assert "very-secret-signature" not in str(caught.value)
    client_side = [r.getMessage() for r in caplog.records]
    assert any("HTTP Request: GET" in message for message in client_side), "httpx request lines were seen"
    assert not any("very-secret-signature" in message for message in client_side)
    assert "very-secret-signature" not in capsys.readouterr().out


def test_a_partial_failure_names_the_missing_image_and_keeps_the_landed_one(
    finished_job, land, emulator, nanobanana_s3, nanobanana_bucket
):
    job = finished_job("modelslab", count=2)
    emulator.add_fault(Fault(vendor="modelslab", endpoint="files", kind="expired"))
    with pytest.raises(NanoBananaImageExpiredError) as caught:
        land(job, max_concurrency=1)
    assert caught.value.index == 0
    assert str(caught.value).startswith("1 of 2 images were not landed")
    assert "The 1 others are in s3://" in str(caught.value)
    assert [key.rsplit("/", 1)[1] for key in stored_objects(nanobanana_s3, nanobanana_bucket)] == [
        f"{job['job_id']}_1.png"
    ]


def test_a_pending_job_is_refused_before_any_download(land, emulator):
    pending = {"vendor": "acedata", "conn_id": "x", "job_id": "t1", "state": "pending", "images": []}
    with pytest.raises(NanoBananaInvalidRequestError, match="a succeeded job"):
        land(pending)


def test_a_key_escaping_the_prefix_fails_before_any_download(finished_job, land, emulator):
    job = finished_job("acedata")
    job["job_id"] = ".."
    before = emulator.counters()["requests"].get("acedata:files", 0)
    with pytest.raises(NanoBananaInvalidRequestError, match="key value job_id"):
        land(job)
    assert emulator.counters()["requests"].get("acedata:files", 0) == before


def test_images_of_a_job_upload_concurrently_within_the_bound(finished_job, land, monkeypatch):
    job = finished_job("acedata", count=4)
    fetch = landing.fetch_image
    active, peak, lock = [0], [0], threading.Lock()

    def counting_fetch(*args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        try:
            return fetch(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(landing, "fetch_image", counting_fetch)
    assert len(land(job, max_concurrency=2)) == 4
    assert peak[0] == 2


def test_encryption_acl_and_storage_class_reach_the_objects(
    finished_job, land, nanobanana_s3, nanobanana_bucket
):
    (item,) = land(
        finished_job("acedata"),
        encrypt=True,
        acl_policy="bucket-owner-full-control",
        storage_class="STANDARD_IA",
    )
    head = nanobanana_s3.client().head_object(Bucket=nanobanana_bucket, Key=item["key"])
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"


def test_a_bucket_gone_at_upload_fails_without_retries_naming_the_paid_images(finished_job, land, task_log):
    job = finished_job("acedata")
    with pytest.raises(NanoBananaS3DestinationError) as caught:
        land(job, bucket="deleted-meanwhile")

    assert isinstance(caught.value, AirflowFailException)
    message = str(caught.value)
    assert "'deleted-meanwhile' does not exist" in message
    assert f"acedata job {job['job_id']} image 0" in message, "the paid image is named"
    assert "S3 did not take" not in task_log(), "not ridden out as an outage"


def test_a_short_s3_outage_is_ridden_out_and_every_image_lands(
    finished_job, land, nanobanana_s3, nanobanana_bucket, task_log
):
    job = finished_job("acedata", count=2)
    back = nanobanana_s3.outage(3.0)
    try:
        records = land(job, s3_retry_seconds=30)
    finally:
        back.join()

    assert len(records) == 2
    assert set(stored_objects(nanobanana_s3, nanobanana_bucket)) == {record["key"] for record in records}
    assert "S3 did not take" in task_log(), "the retries were logged"


def test_an_s3_outage_past_the_retry_window_fails_naming_the_paid_images_and_where_they_are(
    finished_job, land, nanobanana_s3
):
    job = finished_job("modelslab", count=1)
    back = nanobanana_s3.outage(4.0)
    try:
        with pytest.raises(NanoBananaImageTransferError) as error:
            land(job, s3_retry_seconds=1)
    finally:
        back.join()

    message = str(error.value)
    assert "paid for and still at the vendor" in message
    assert f"modelslab job {job['job_id']} image 0: {job['images'][0]}" in message
    assert "24 hours" in message, "it says how long the vendor keeps the image"
