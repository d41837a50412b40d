"""What a batch task returns and writes next to its images: one line per item, never bytes.

The XCom manifest holds counts and, per item, its state, job id, S3 keys (or the vendor's image
references without ``s3_output``) and error, so it grows with the item count and nothing else.
The S3 manifest adds each object's size, sha256 and content type; with the default key template
it lies in the same folder as the images (``.../<map_index>/manifest.json``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow_provider_nanobanana.batch.state import FAILURES, LANDED, SUCCEEDED, BatchState
from airflow_provider_nanobanana.s3.destination import S3Destination
from airflow_provider_nanobanana.s3.keys import render_key
from airflow_provider_nanobanana.s3.landing import RunKeys, S3Connection
from airflow_provider_nanobanana.s3.retries import with_s3_retries

MANIFEST_TEMPLATE = "{prefix}/{dag_id}/{run_id}/{task_id}/{map_index}/manifest.json"


def build_manifest(state: BatchState, *, conn_id: str, detailed: bool = False) -> dict[str, Any]:
    """The XCom manifest; ``detailed`` adds every object's size, sha256 and content type (for S3)."""
    items = []
    for index in range(state.size):
        record = state.items.get(index, {})
        item: dict[str, Any] = {
            "index": index,
            "state": state.state_of(index),
            "job_id": record.get("job_id"),
        }
        if "objects" in record:
            item["s3"] = record["objects"] if detailed else [obj["key"] for obj in record["objects"]]
        elif "images" in record:
            item["images"] = record["images"]
        if "error" in record:
            item["error"] = record["error"]
        items.append(item)
    return {
        "vendor": state.vendor,
        "conn_id": conn_id,
        "items": state.size,
        "succeeded": len(state.indexes(SUCCEEDED, LANDED)),
        "failed": len(state.indexes(*FAILURES)),
        "images": sum(len(item.get("s3", item.get("images", ()))) for item in items),
        "bytes": state.landed_bytes(),
        "link": state.link,
        "results": items,
    }


def write_manifest(
    document: dict[str, Any], destination: S3Destination, run: RunKeys, log: logging.Logger
) -> str:
    """Put the manifest object (overwritten by each try, like the images); return its URI."""
    values = {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": run.task_id, "map_index": run.map_index}
    key = render_key(MANIFEST_TEMPLATE, destination.prefix, values)
    s3 = S3Connection.open(destination.aws_conn_id)
    body = json.dumps(document, indent=1).encode()
    args = destination.upload_args(s3.base_args, "application/json", {})
    with_s3_retries(
        lambda: s3.client.put_object(Bucket=destination.bucket, Key=key, Body=body, **args),
        window=destination.s3_retry_seconds,
        what=f"the manifest s3://{destination.bucket}/{key}",
        log=log,
    )
    uri = f"s3://{destination.bucket}/{key}"
    log.info("Wrote the manifest (%d items) to %s.", document["items"], uri)
    return uri
