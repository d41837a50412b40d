"""A large image streams from the vendor to S3 in bounded memory, measured in a separate process so
the emulator and the S3 endpoint (both in this one) do not count, with the peak of the large
landing alone (``benchmarks.memory``)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import httpx

from .conftest import stored_objects

MIB = 1024 * 1024
LARGE = 96 * MIB
CHILD = """
import json, logging, sys
import httpx
from benchmarks.memory import peak_rss_mib, reset_peak_rss, rss_mib
from airflow_provider_nanobanana.s3.destination import S3Destination
from airflow_provider_nanobanana.s3.landing import RunKeys, land_jobs

job, bucket, emulator_url, large = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
def land(prefix):
    destination = S3Destination(bucket=bucket, prefix=prefix)
    return land_jobs([job], destination, RunKeys("d", "r", "t", -1), prompt=None, log=logging.getLogger())
land("warm-up")  # imports, clients and one small image
httpx.patch(f"{emulator_url}/_emulator/settings", json={"image_padding_bytes": large})
before = rss_mib()
reset_peak_rss()
(item,) = land("large")
print(json.dumps({"before": before, "after": peak_rss_mib(), "item": item}))
"""


def test_a_96_mib_image_lands_through_multipart_with_under_64_mib_of_memory_growth(
    finished_job, nanobanana_s3, nanobanana_bucket, emulator
):
    job = finished_job("acedata")
    answer = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(job), nanobanana_bucket, emulator.url, str(LARGE)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(answer.stdout.strip().splitlines()[-1])
    item = report["item"]
    assert item["size"] > LARGE
    body = stored_objects(nanobanana_s3, nanobanana_bucket)[item["key"]]["body"]
    assert hashlib.sha256(body).hexdigest() == item["sha256"]
    assert hashlib.sha256(httpx.get(job["images"][0]).content).hexdigest() == item["sha256"]
    head = nanobanana_s3.client().head_object(Bucket=nanobanana_bucket, Key=item["key"])
    assert "-" in head["ETag"], "a multipart upload has an ETag ending in -<parts>"
    assert report["after"] - report["before"] < 64, report
