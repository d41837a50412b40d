"""A large image streams from the vendor to S3 in bounded memory, measured in a separate process (the
transfer benchmark's child) so the emulator and the S3 endpoint, both in this one, do not count."""

from __future__ import annotations

import hashlib

import httpx

from benchmarks.transfer import measure_transfer

from .conftest import stored_objects

LARGE = 96 * 1024 * 1024


def test_a_96_mib_image_lands_through_multipart_with_under_64_mib_of_memory_growth(
    finished_job, nanobanana_s3, nanobanana_bucket, emulator
):
    job = finished_job("acedata")
    report = measure_transfer("ours", job, emulator, LARGE, nanobanana_bucket)
    (item,) = report["landed"]
    assert item["size"] > LARGE
    body = stored_objects(nanobanana_s3, nanobanana_bucket)[item["key"]]["body"]
    assert hashlib.sha256(body).hexdigest() == item["sha256"]
    assert hashlib.sha256(httpx.get(job["images"][0]).content).hexdigest() == item["sha256"]
    head = nanobanana_s3.client().head_object(Bucket=nanobanana_bucket, Key=item["key"])
    assert "-" in head["ETag"], "a multipart upload has an ETag ending in -<parts>"
    assert report["rss_growth_mib"] < 64, report
