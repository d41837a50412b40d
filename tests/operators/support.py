"""Shared pieces of the operator tests: the operator classes, their endpoints, and a trigger runner."""

from __future__ import annotations

import asyncio
from typing import Any

from airflow_provider_nanobanana.operators.edit import NanoBananaEditImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.operators.img2img import NanoBananaImageToImageOperator
from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

IMAGE = "https://example.com/a.png"
VENDORS = ("modelslab", "acedata")
OTHER_VENDOR = {"modelslab": "acedata", "acedata": "modelslab"}

# kind -> (operator class, arguments it needs besides conn_id and prompt)
OPERATORS: dict[str, tuple[type, dict[str, Any]]] = {
    "generate": (NanoBananaGenerateImageOperator, {}),
    "edit": (NanoBananaEditImageOperator, {"images": [IMAGE]}),
    "img2img": (NanoBananaImageToImageOperator, {"images": [IMAGE]}),
}

# (vendor, kind) -> the emulator endpoint that bills the job
GENERATION_ENDPOINT = {
    ("modelslab", "generate"): "modelslab:text2img",
    ("modelslab", "edit"): "modelslab:multi_ref",
    ("modelslab", "img2img"): "modelslab:img2img",
    ("acedata", "generate"): "acedata:images",
    ("acedata", "edit"): "acedata:images",
    ("acedata", "img2img"): "acedata:images",
}


def run_trigger(trigger: NanoBananaJobTrigger) -> list[dict[str, Any]]:
    """Drive a trigger to its end the way the triggerer would; return every event payload."""

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())
