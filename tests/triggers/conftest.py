"""Trigger tests drive ``run()`` against the emulator, with connections whose hooks never retry."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_nanobanana.hooks.registry import hook_for_connection
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState
from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

CONN_IDS = {"modelslab": "nanobanana_modelslab_default", "acedata": "nanobanana_acedata_default"}
# Same emulator, but max_retries=0: every failed poll reaches the trigger's own tolerance.
NO_RETRY_CONN_IDS = {"modelslab": "nanobanana_modelslab_noretry", "acedata": "nanobanana_acedata_noretry"}


@pytest.fixture
def emulator(nanobanana_connections, monkeypatch):
    for vendor in ("modelslab", "acedata"):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{NO_RETRY_CONN_IDS[vendor].upper()}",
            nanobanana_connections.connection_json(vendor, max_retries=0),
        )
    return nanobanana_connections


def submit(vendor: str, **request: Any) -> str:
    with hook_for_connection(CONN_IDS[vendor]) as hook:
        result = hook.submit(ImageJobRequest(kind=JobKind.GENERATE, prompt="a ripe banana", **request))
    assert result.state is JobState.PENDING
    return result.job_id


def trigger_for(vendor: str, job_ids: list[str], *, conn_id: str | None = None, **kwargs: Any):
    kwargs = {"end_time": time.time() + 30, "poll_interval": 0.05, **kwargs}
    return NanoBananaJobTrigger(vendor=vendor, conn_id=conn_id or CONN_IDS[vendor], job_ids=job_ids, **kwargs)


async def events_of(trigger: NanoBananaJobTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


async def in_thread(function, *args, **kwargs):
    """Run blocking set-up (a sync hook call) off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)
