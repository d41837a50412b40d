"""Waiting at scale: many jobs in flight at once, waited on in one event loop as one triggerer would.

The emulator gives every job its own duration (uniform between ``shortest`` and ``longest``
seconds) and reports ModelsLab's ``eta`` with noise, re-estimated on every poll. Half the jobs are
ModelsLab's, half AceData's. Each strategy runs in its own child process against a freshly reset
emulator:

- ``ours``: one ``NanoBananaJobTrigger`` per job, as each deferred task would hand the triggerer
  (serialized and rebuilt), all running in one event loop;
- ``fixed N s``: what a sensor or the AceData SDK does: ask about each job every N seconds, here
  with the same hooks and pooled clients, so only the strategy differs.

Detection lag is the time from the emulator's ``ready_at`` of a job to the moment the waiter
knows it finished (the trigger's event). Requests are the emulator's count of status requests.
CPU and peak RSS are the child's own during the wait (the emulator runs in this parent process).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from benchmarks.report import Figure

CONNECTIONS = {"modelslab": "bench_modelslab", "acedata": "bench_acedata"}
STATUS_ENDPOINTS = {"modelslab": ("fetch", "v7_fetch"), "acedata": ("tasks",)}
OURS = "ours"
LAG_P50_TARGET, LAG_P95_TARGET = 1.0, 3.0
REQUESTS_TARGET = 6.0
RSS_TARGET_MIB = 150.0
CPU_SHARE_TARGET = 20.0


@dataclass(frozen=True)
class Submitted:
    vendor: str
    job_id: str
    eta: float | None


def _submit(jobs: int) -> list[Submitted]:
    from airflow_provider_nanobanana.hooks.registry import hook_for_vendor
    from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind

    submitted = []
    for vendor, conn_id in CONNECTIONS.items():
        with hook_for_vendor(vendor, conn_id) as hook:
            for number in range(jobs // 2):
                request = ImageJobRequest(kind=JobKind.GENERATE, prompt=f"Banana number {number}")
                result = hook.submit(request)
                submitted.append(Submitted(vendor, result.job_id, result.eta_seconds))
    return submitted


async def _wait_with_triggers(jobs: list[Submitted], noticed: dict[str, float]) -> None:
    from airflow_provider_nanobanana.polling import delay_for_eta
    from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger

    async def wait(job: Submitted) -> None:
        handed_over = NanoBananaJobTrigger(
            vendor=job.vendor,
            conn_id=CONNECTIONS[job.vendor],
            job_ids=[job.job_id],
            end_time=time.time() + 900,
            first_poll_at=time.time() + delay_for_eta(job.eta) if job.eta else None,
        )
        trigger = NanoBananaJobTrigger(**handed_over.serialize()[1])
        async for event in trigger.run():
            assert event.payload["status"] == "success", event.payload
            noticed[job.job_id] = time.time()

    await asyncio.gather(*(wait(job) for job in jobs))


async def _wait_at_fixed_interval(jobs: list[Submitted], noticed: dict[str, float], interval: float) -> None:
    from airflow_provider_nanobanana.hooks.registry import hook_for_vendor
    from airflow_provider_nanobanana.jobs import JobState

    hooks = {vendor: hook_for_vendor(vendor, conn_id) for vendor, conn_id in CONNECTIONS.items()}

    async def wait(job: Submitted) -> None:
        while True:
            if (await hooks[job.vendor].aget_job(job.job_id)).state is not JobState.PENDING:
                noticed[job.job_id] = time.time()
                return
            await asyncio.sleep(interval)

    try:
        await asyncio.gather(*(wait(job) for job in jobs))
    finally:
        for hook in hooks.values():
            await hook.aclose()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(strategy: str, jobs: int, log_path: str) -> None:
    """Runs in the child process: submit the jobs, then wait for all of them and report."""
    from benchmarks.memory import peak_rss_mib, reset_peak_rss

    # A triggerer writes every trigger's log lines somewhere; a file is the honest stand-in.
    logging.basicConfig(filename=log_path, level=logging.INFO, force=True)
    # Imported before the clock starts, as a running triggerer already has it.
    from airflow_provider_nanobanana.triggers.image_job import NanoBananaJobTrigger  # noqa: F401

    submitted = _submit(jobs)
    noticed: dict[str, float] = {}
    reset_peak_rss()
    cpu_before, started = _cpu_seconds(), time.perf_counter()
    if strategy == OURS:
        asyncio.run(_wait_with_triggers(submitted, noticed))
    else:
        asyncio.run(_wait_at_fixed_interval(submitted, noticed, float(strategy)))
    wall = time.perf_counter() - started
    result = {"noticed": noticed, "cpu_seconds": _cpu_seconds() - cpu_before, "wall_seconds": wall}
    print(json.dumps({**result, "peak_rss_mib": peak_rss_mib()}))


def measure_waiting(strategy: str, jobs: int, emulator: Emulator) -> dict[str, Any]:
    """Run one strategy (``ours`` or a fixed interval in seconds) in a child process; return lags,
    requests per job by vendor, CPU and peak RSS."""
    emulator.reset()
    with tempfile.NamedTemporaryFile(prefix="nanobanana-waiting-", suffix=".log") as log:
        answer = subprocess.run(
            [sys.executable, "-m", "benchmarks.waiting", strategy, str(jobs), log.name],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
            timeout=900,
        )
    child = json.loads(answer.stdout.strip().splitlines()[-1])
    timeline = {job["job_id"]: job for job in emulator.timeline()}
    missing = set(timeline) - set(child["noticed"])
    if missing:
        raise RuntimeError(f"{strategy}: {len(missing)} jobs were never noticed as finished")
    lags = sorted(child["noticed"][job_id] - job["ready_at"] for job_id, job in timeline.items())
    requests = emulator.counters()["requests"]
    per_vendor = {}
    for vendor, endpoints in STATUS_ENDPOINTS.items():
        count = sum(requests.get(f"{vendor}:{endpoint}", 0) for endpoint in endpoints)
        per_vendor[vendor] = count / sum(1 for job in timeline.values() if job["vendor"] == vendor)
    return {
        "lag_p50": statistics.median(lags),
        "lag_p95": lags[min(len(lags) - 1, round(0.95 * len(lags)))],
        "lag_max": lags[-1],
        "requests_per_job": per_vendor,
        "cpu_seconds": child["cpu_seconds"],
        "wall_seconds": child["wall_seconds"],
        "cpu_share": 100 * child["cpu_seconds"] / child["wall_seconds"],
        "peak_rss_mib": child["peak_rss_mib"],
    }


def run(
    jobs: int = 1000,
    shortest: float = 5.0,
    longest: float = 60.0,
    peer_intervals: tuple[float, ...] = (3, 60),
) -> list[Figure]:
    settings = EmulatorSettings(processing_seconds=shortest, processing_seconds_max=longest, eta_noise=0.25)
    with Emulator(settings=settings) as emulator:
        for vendor, conn_id in CONNECTIONS.items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = emulator.connection_json(vendor)
        ours = measure_waiting(OURS, jobs, emulator)
        peers = {
            f"fixed {interval:g} s": measure_waiting(f"{interval:g}", jobs, emulator)
            for interval in peer_intervals
        }
    scale = f"Waiting x{jobs}"
    rows = [
        ("detection lag p50", "s", lambda m: m["lag_p50"], f"ours <= {LAG_P50_TARGET:g} s", LAG_P50_TARGET),
        ("detection lag p95", "s", lambda m: m["lag_p95"], f"ours <= {LAG_P95_TARGET:g} s", LAG_P95_TARGET),
        *(
            (
                f"requests per {vendor} job",
                "requests",
                lambda m, vendor=vendor: m["requests_per_job"][vendor],
                f"ours <= {REQUESTS_TARGET:g}",
                REQUESTS_TARGET,
            )
            for vendor in CONNECTIONS
        ),
        (
            "CPU share of one core",
            "%",
            lambda m: m["cpu_share"],
            f"ours <= {CPU_SHARE_TARGET:g}%",
            CPU_SHARE_TARGET,
        ),
        ("peak RSS", "MiB", lambda m: m["peak_rss_mib"], f"ours <= {RSS_TARGET_MIB:g} MiB", RSS_TARGET_MIB),
    ]
    return [
        Figure(
            benchmark="waiting",
            name=f"{scale}: {label}",
            unit=unit,
            ours=round(value(ours), 3),
            peer=round(value(peer), 3),
            peer_name=peer_name,
            target=target,
            met=value(ours) <= limit,
            details={"ours": ours, "peer": peer, "durations_s": [shortest, longest]},
        )
        for label, unit, value, target, limit in rows
        for peer_name, peer in peers.items()
    ]


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
