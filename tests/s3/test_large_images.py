"""A large image streams from the vendor to S3 as it arrives: parts go up while the download goes
on, memory stays bounded (measured in a separate process, the transfer benchmark's child, so the
emulator and the S3 endpoint in this one do not count), and no partial object or part survives a
body that fails verification."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import NanoBananaImageTruncatedError
from airflow_provider_nanobanana.s3.upload import ObjectUpload
from benchmarks.transfer import measure_transfer

from .conftest import stored_objects

MIB = 1024 * 1024
LARGE = 96 * MIB


def open_uploads(s3, bucket: str) -> list[dict]:
    return s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


@pytest.fixture
def parts_sent(monkeypatch) -> list[int]:
    """The part numbers ObjectUpload sent, as S3 took them (parts go up side by side)."""
    sent: list[int] = []
    upload_part = ObjectUpload._upload_part

    def counting(self, number, body):
        part = upload_part(self, number, body)
        sent.append(number)
        return part

    monkeypatch.setattr(ObjectUpload, "_upload_part", counting)
    return sent


def test_a_96_mib_image_lands_through_multipart_with_under_64_mib_of_memory_growth(
    finished_job, nanobanana_s3, nanobanana_bucket, emulator
):
    job = finished_job("acedata")
    report = measure_transfer("ours", job, emulator, LARGE, nanobanana_bucket)
    (item,) = report["landed"]
    assert item["size"] > LARGE
    stored = stored_objects(nanobanana_s3, nanobanana_bucket)[item["key"]]
    assert hashlib.sha256(stored["body"]).hexdigest() == item["sha256"]
    assert hashlib.sha256(httpx.get(job["images"][0]).content).hexdigest() == item["sha256"]
    head = nanobanana_s3.client().head_object(Bucket=nanobanana_bucket, Key=item["key"])
    assert head["ETag"].endswith('-13"'), "96 MiB and the image in 8 MiB parts: 13 parts"
    assert stored["metadata"]["job-id"] == job["job_id"]
    assert "sha256" not in stored["metadata"], "unknown when the upload started; in the record instead"
    assert report["rss_growth_mib"] < 64, report
    assert open_uploads(nanobanana_s3, nanobanana_bucket) == []


def test_parts_go_up_while_the_body_is_still_downloading(
    finished_job, land, emulator, nanobanana_s3, nanobanana_bucket, parts_sent, monkeypatch
):
    job = finished_job("modelslab")
    emulator.configure(image_padding_bytes=40 * MIB)
    received_when_sent: list[int] = []
    from airflow_provider_nanobanana.images import download

    write = download._VerifiedStream.write

    def watching(self, data):
        write(self, data)
        received_when_sent.append((self.size, len(parts_sent)))

    monkeypatch.setattr(download._VerifiedStream, "write", watching)
    (item,) = land(job)

    assert sorted(parts_sent) == [1, 2, 3, 4, 5, 6], "40 MiB and the image in 8 MiB parts"
    downloaded_by_first_part = min(size for size, sent in received_when_sent if sent >= 1)
    assert downloaded_by_first_part < item["size"], "part 1 was in S3 before the body had all arrived"


def test_a_large_body_cut_short_after_parts_went_up_leaves_no_object_and_no_parts(
    finished_job, land, emulator, nanobanana_s3, nanobanana_bucket, parts_sent
):
    job = finished_job("modelslab")
    emulator.configure(image_padding_bytes=40 * MIB)
    emulator.add_fault(Fault(vendor="modelslab", endpoint="files", kind="truncated", times=10))

    with pytest.raises(NanoBananaImageTruncatedError, match="the body ended after"):
        land(job)

    assert len(parts_sent) >= 4, "each attempt sent the parts of its first half before the cut"
    assert stored_objects(nanobanana_s3, nanobanana_bucket) == {}
    assert open_uploads(nanobanana_s3, nanobanana_bucket) == [], "every attempt's upload was aborted"


def test_a_large_body_cut_short_once_lands_whole_on_the_retry(
    finished_job, land, emulator, nanobanana_s3, nanobanana_bucket
):
    job = finished_job("acedata")
    emulator.configure(image_padding_bytes=20 * MIB)
    emulator.add_fault(Fault(vendor="acedata", endpoint="files", kind="truncated"))

    (item,) = land(job)

    body = stored_objects(nanobanana_s3, nanobanana_bucket)[item["key"]]["body"]
    assert hashlib.sha256(body).hexdigest() == item["sha256"]
    assert len(body) == item["size"] > 20 * MIB
    assert open_uploads(nanobanana_s3, nanobanana_bucket) == []
