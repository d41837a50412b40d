"""What a batch task returns and writes next to its images: one line per item, never bytes.

The manifest beside the images lists every item (state, job id, error, and each object's key, size, sha256 and
content type); with the default key template it lies in the same folder as the images
(``.../<map_index>/manifest.json``). It is written as the pages of the ledger are read, so
memory does not grow with the batch. The XCom manifest is bounded whatever the batch size:
counts, totals, the written manifest's URI, and the first :data:`XCOM_ITEMS` items and failures.
"""

from __future__ import annotations

import json
import logging
import tempfile
from typing import IO, Any

from airflow_provider_nanobanana.batch.state import FAILURES, LANDED, SUCCEEDED, BatchState
from airflow_provider_nanobanana.spend.prices import CATALOGUE, MIXED, UNKNOWN
from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.keys import render_key
from airflow_provider_nanobanana.stores.writers import open_writer
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

MANIFEST_TEMPLATE = "{prefix}/{dag_id}/{run_id}/{task_id}/{map_index}/manifest.json"
# Items listed in the XCom (and failures, apart): about 200 bytes each, so the XCom stays far
# below Airflow's 64 KB however large the batch. A batch without a destination writes no manifest,
# so it may not hold more items than this.
XCOM_ITEMS = 100


def manifest_item(index: int, record: dict[str, Any], *, detailed: bool) -> dict[str, Any]:
    """One item as the manifests list it; ``detailed`` keeps each object's size and sha256."""
    item: dict[str, Any] = {"index": index, "state": record["state"], "job_id": record.get("job_id")}
    if "objects" in record:
        item["s3"] = record["objects"] if detailed else [obj["key"] for obj in record["objects"]]
    elif "images" in record:
        item["images"] = record["images"]
    for name in ("cost_usd", "cost_basis", "reason", "error"):
        if name in record:
            item[name] = record[name]
    return item


def read_manifests(state: BatchState, *, conn_id: str, spool: IO[bytes] | None) -> dict[str, Any]:
    """One pass over every item: the XCom manifest, returned, and with ``spool`` the S3 manifest
    written into it as JSON."""

    def write(text: str) -> None:
        if spool is not None:
            spool.write(text.encode())

    summary: dict[str, Any] = {"vendor": state.vendor, "conn_id": conn_id, "items": state.size}
    counts = {"succeeded": 0, "failed": 0, "images": 0}
    bases: set[str] = set()
    unsent: dict[str, int] = {}  # not_submitted items by reason
    shown: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    write(json.dumps(summary)[:-1] + ', "results": [')
    for index, record in state.every_record():
        brief = manifest_item(index, record, detailed=False)
        counts["images"] += len(brief.get("s3", brief.get("images", ())))
        if "cost_basis" in record:
            bases.add(record["cost_basis"])
        if reason := brief.get("reason"):
            unsent[reason] = unsent.get(reason, 0) + 1
        if record["state"] in (SUCCEEDED, LANDED):
            counts["succeeded"] += 1
        elif record["state"] in FAILURES:
            counts["failed"] += 1
            if len(failures) < XCOM_ITEMS:
                failures.append(brief)
        if len(shown) < XCOM_ITEMS:
            shown.append(brief)
        if spool is not None:
            write(("," if index else "") + json.dumps(manifest_item(index, record, detailed=True)))
    totals = {**counts, "bytes": state.landed_bytes, "link": state.link, **_cost(state, bases)}
    if unsent:
        totals["not_submitted"] = unsent
    write("], " + json.dumps(totals)[1:])
    listed = {"results": shown, "failures": failures}
    if len(shown) < state.size:
        listed["results_omitted"] = state.size - len(shown)
    return {**summary, **totals, **listed}


def manifest_key(destination: Destination, run: TaskInstanceKey) -> str:
    values = {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": run.task_id, "map_index": run.map_index}
    return render_key(MANIFEST_TEMPLATE, destination.prefix, values)


def write_manifest(
    state: BatchState, conn_id: str, destination: Destination, run: TaskInstanceKey, log: logging.Logger
) -> dict[str, Any]:
    """Write the manifest beside the images (overwritten by each try, like them); return the
    XCom manifest with the written manifest's URI. It goes up as the images do: visible only
    when whole, an outage ridden out."""
    key = manifest_key(destination, run)
    writer = open_writer(destination, log)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b") as spool:
        manifest = read_manifests(state, conn_id=conn_id, spool=spool)
        spool.seek(0)
        upload = writer.upload(key, "application/json", {})
        try:
            while chunk := spool.read(1024 * 1024):
                upload.write(chunk)
            upload.complete({})
        except BaseException:
            upload.abort()
            raise
    manifest["manifest"] = destination.object_uri(key)
    log.info("Wrote the manifest (%d items) to %s.", state.size, manifest["manifest"])
    return manifest


def _cost(state: BatchState, bases: set[str]) -> dict[str, Any]:
    """What every try of the batch paid, on which basis, and what jobs that may still bill
    (timed out, possibly billed) are estimated at."""
    if UNKNOWN in bases:
        return {"cost_usd": None, "cost_basis": UNKNOWN}
    basis = bases.pop() if len(bases) == 1 else MIXED if bases else CATALOGUE
    cost: dict[str, Any] = {"cost_usd": round(state.paid_usd, 6), "cost_basis": basis}
    if state.reserved_usd > 0:
        cost["cost_pending_usd"] = round(state.reserved_usd, 6)
    return cost
