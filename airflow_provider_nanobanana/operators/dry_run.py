"""What a dry run (``dry_run=True``) returns: everything a real run would check, and its estimate.

A dry run validates every request and setting, renders every S3 key its images would land under
(the job id still unknown), prices the images, and sends nothing: no vendor request, no ledger
entry. Its XCom is the estimate the real run logs before paying, so an approval step (or a
person) can read the count and the cost first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.spend.estimate import Estimate
from airflow_provider_nanobanana.stores.landing import planned_keys
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

if TYPE_CHECKING:
    from airflow_provider_nanobanana.hooks.base import NanoBananaBaseHook
    from airflow_provider_nanobanana.stores.destination import Destination

# Distinct keys listed in the XCom; all are counted (every one is rendered and checked).
KEYS_SHOWN = 10


def dry_run_result(
    log: logging.Logger,
    context: Any,
    hook: NanoBananaBaseHook,
    *,
    conn_id: str,
    estimate: Estimate,
    cap: float | None,
    destination: Destination | None,
    image_counts: Iterable[int],
    over_cap: str = "fail before sending anything",
    **extra: Any,
) -> dict[str, Any]:
    """Render the keys of every job's images (``image_counts``: one per job), log the dry run's
    findings and return them as the task's XCom; ``over_cap`` says what a real run does when the
    estimate is above the cap, ``extra`` joins the XCom."""
    keys: list[str] = []
    if destination is not None:
        run = TaskInstanceKey.from_context(context)
        for count in image_counts:
            keys += planned_keys(destination, run, hook.vendor.value, count)
    total = estimate.usd
    within = None if cap is None or total is None else total <= cap
    log.info("Dry run: nothing is sent. %s", estimate.line())
    if within is False:
        log.warning(
            "The estimate is above max_cost_usd=%s: a real run of this task would %s.",
            wording.usd(cap or 0),
            over_cap,
        )
    elif cap is not None and total is None:
        log.warning("max_cost_usd is set and a price is unknown: a real run would fail before sending.")
    # Keys differ by a job id a dry run cannot know, so many read alike: list each shape once.
    distinct = list(dict.fromkeys(keys))[:KEYS_SHOWN]
    uris = [f"s3://{destination.bucket}/{key}" for key in distinct] if destination else []
    if uris:
        log.info("The images would land at %s (%s keys rendered).", ", ".join(uris[:3]), f"{len(keys):,}")
    return {
        "dry_run": True,
        "vendor": hook.vendor.value,
        "conn_id": conn_id,
        **estimate.to_dict(),
        "max_cost_usd": cap,
        "within_cap": within,
        "s3_keys": uris,
        "s3_key_count": len(keys),
        **extra,
    }
