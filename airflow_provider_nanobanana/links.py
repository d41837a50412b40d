"""The extra link on every Nano Banana task: from a finished task to its first image.

It points at the first landed S3 object when the task landed images (the AWS console page of the
object, or the object's URL on another S3 endpoint), otherwise at the first image the vendor
published. It is read from the task's own return value (the summary, or the transfer's records),
so nothing more is stored and nothing in it can carry a key. There is no link to the vendor's job:
neither vendor has a web page for a job (their status URLs take the key, in a POST).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink

_AWS_CONSOLE = "https://s3.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}"


class NanoBananaImageLink(BaseOperatorLink):
    """Airflow 3 evaluates it on the worker when the task ends and keeps the URL as an XCom."""

    name = "Nano Banana image"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.providers.common.compat.sdk import XCom

        # On an Airflow 3 worker ``ti_key`` is the task instance itself, also when it defers or
        # fails: it has returned nothing, and asking for the value logs "XCom not found" in red.
        state = getattr(ti_key, "state", None)
        if state is not None and getattr(state, "value", state) != "success":  # an Enum: not str()
            return ""
        return first_image_link(XCom.get_value(ti_key=ti_key, key="return_value"))


def object_link(endpoint_url: str | None, region: str | None, bucket: str, key: str) -> str:
    """Where a person can look at an S3 object: the AWS console, or the object on its own endpoint."""
    host = urllib.parse.urlsplit(endpoint_url or "").hostname or ""
    if not endpoint_url or host.endswith(".amazonaws.com"):
        return _AWS_CONSOLE.format(
            bucket=bucket, region=region or "us-east-1", key=urllib.parse.quote(key, safe="")
        )
    return f"{endpoint_url.rstrip('/')}/{bucket}/{urllib.parse.quote(key)}"


def first_image_link(returned: Any) -> str:
    """The link for a task's return value: a summary (with ``s3`` when it landed) or records."""
    if isinstance(returned, dict) and returned.get("link"):
        return returned["link"]  # a batch manifest
    records = returned if isinstance(returned, list) else (returned or {}).get("s3") or []
    for record in records:
        if isinstance(record, dict) and record.get("link"):
            return record["link"]
    images = returned.get("images") if isinstance(returned, dict) else None
    if not isinstance(images, list):  # a dry run's XCom counts the images it would pay for
        return ""
    return next((url for url in images if url.startswith(("https://", "http://"))), "")
