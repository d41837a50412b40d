"""Landing tests run against the emulator and the local S3 endpoint, both over real HTTP."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_nanobanana.hooks.registry import hook_for_vendor
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind
from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.landing import land_jobs
from airflow_provider_nanobanana.summary import summarize
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

PROMPT = "A banana-shaped airship over a data centre"
CONN_IDS = {"modelslab": "nanobanana_modelslab_default", "acedata": "nanobanana_acedata_default"}
SIZES = {"modelslab": {"width": 1024, "height": 1024}, "acedata": {"aspect_ratio": "1:1"}}
RUN = TaskInstanceKey(
    dag_id="images", run_id="manual__2026-11-20T10:00:00+00:00", task_id="to_s3", map_index=-1
)
LOG = logging.getLogger("tests.s3")


@pytest.fixture
def finished_job(emulator):
    """Run a real job on the emulator and return its XCom summary."""

    def run(vendor: str, *, count: int = 1, **fields: Any) -> dict[str, Any]:
        with hook_for_vendor(vendor, CONN_IDS[vendor]) as hook:
            request = ImageJobRequest(
                kind=JobKind.GENERATE, prompt=PROMPT, count=count, **SIZES[vendor], **fields
            )
            result = hook.wait_for_job(hook.submit(request).job_id, poll_interval=0.1, timeout=30)
        return summarize(result, conn_id=CONN_IDS[vendor], prompt=PROMPT)

    return run


@pytest.fixture
def land(nanobanana_s3, nanobanana_bucket):
    """Land summaries in this test's bucket; settings override the destination's defaults."""

    def run(*jobs: dict[str, Any], prompt: str | None = None, **settings: Any) -> list[dict[str, Any]]:
        destination = Destination(**{"bucket": nanobanana_bucket, **settings})
        return land_jobs(list(jobs), destination, RUN, prompt=prompt, log=LOG)

    return run


def stored_objects(s3, bucket: str) -> dict[str, dict[str, Any]]:
    """Every object in ``bucket``: key -> body, content type and metadata."""
    client = s3.client()
    objects = {}
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        answer = client.get_object(Bucket=bucket, Key=item["Key"])
        objects[item["Key"]] = {
            "body": answer["Body"].read(),
            "content_type": answer["ContentType"],
            "metadata": answer["Metadata"],
        }
    return objects
