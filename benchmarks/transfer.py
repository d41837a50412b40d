"""Transfer to S3: one large image from the emulator to the local S3 endpoint, by our transfer and by
the Amazon provider's ``HttpToS3Operator`` (what a user would reach for), each in its own process.

Each child process first moves a small image (imports, clients and pools warmed), then moves the
large one; the figures are the wall time of the large move and how far its peak RSS rose above
the RSS before it (:mod:`benchmarks.memory`). The emulator and S3 endpoint run in this parent
process, so their memory does not count.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.local_s3 import LocalS3
from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind
from airflow_provider_nanobanana.summary import summarize
from benchmarks.report import Figure

MIB = 1024 * 1024
BUCKET = "bench-transfer"
RSS_TARGET_MIB = 64
MEASURES = ("seconds", "rss_growth_mib")


def _child(tool: str, job: dict, emulator_url: str, large: int, bucket: str) -> None:
    """Runs in the child process: warm up on a small image, then time the large one."""
    import logging

    from benchmarks.memory import peak_rss_mib, reset_peak_rss, rss_mib

    def move(prefix: str) -> list[dict] | None:
        url = job["images"][0]
        if tool == "ours":
            from airflow_provider_nanobanana.stores.destination import Destination
            from airflow_provider_nanobanana.stores.landing import land_jobs
            from airflow_provider_nanobanana.task_instance import TaskInstanceKey

            if "://" in bucket:  # another store, as a test of it asks
                conn_id = os.environ.get("NANOBANANA_BENCH_CONN_ID") or None
                destination = Destination(uri=f"{bucket}/{prefix}", conn_id=conn_id)
            else:
                destination = Destination(bucket=bucket, prefix=prefix)
            return land_jobs(
                [job],
                destination,
                TaskInstanceKey("bench", "t", "run", -1),
                prompt=None,
                log=logging.getLogger(),
            )
        else:
            from airflow.providers.amazon.aws.transfers.http_to_s3 import HttpToS3Operator

            operator = HttpToS3Operator(
                task_id="peer",
                http_conn_id="bench_http",
                endpoint=httpx.URL(url).path,
                s3_bucket=bucket,
                s3_key=f"{prefix}/peer.png",
                replace=True,
            )
            operator.execute({})
            return None

    move("warm-up")
    httpx.patch(f"{emulator_url}/_emulator/settings", json={"image_padding_bytes": large})
    before = rss_mib()
    reset_peak_rss()
    started = time.perf_counter()
    landed = move(f"large-{tool}")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss_growth_mib": peak_rss_mib() - before, "landed": landed}))


def measure_transfer(
    tool: str, job: dict, emulator: Emulator, large: int, bucket: str = BUCKET, conn_id: str | None = None
) -> dict[str, Any]:
    """Move ``job``'s first image padded to ``large`` bytes with ``tool`` (``ours`` or ``peer``) in
    a child process; return its wall time, peak RSS growth and, for ours, the landed objects.
    ``bucket`` may be another store's URI (ours only), written through ``conn_id``."""
    emulator.configure(image_padding_bytes=0)
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.transfer",
            tool,
            json.dumps(job),
            emulator.url,
            str(large),
            bucket,
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd(), "NANOBANANA_BENCH_CONN_ID": conn_id or ""},
        timeout=600,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, dict[str, Any]]], tool: str, measure: str) -> float:
    return statistics.median(run[tool][measure] for run in runs)


def run(sizes_mib: tuple[int, ...] = (10, 50, 200), rounds: int = 3) -> list[Figure]:
    figures = []
    with (
        Emulator(settings=EmulatorSettings(processing_seconds=0)) as emulator,
        LocalS3(buckets=(BUCKET,)) as s3,
    ):
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = s3.connection_json()
        os.environ["AIRFLOW_CONN_BENCH_HTTP"] = json.dumps({"conn_type": "http", "host": emulator.url})
        os.environ["AIRFLOW_CONN_BENCH_ACEDATA"] = emulator.connection_json("acedata")
        with AceDataHook("bench_acedata") as hook:
            request = ImageJobRequest(kind=JobKind.GENERATE, prompt="A large banana", aspect_ratio="1:1")
            result = hook.wait_for_job(hook.submit(request).job_id, poll_interval=0.1, timeout=30)
        job = summarize(result, conn_id="bench_acedata")
        for size in sizes_mib:
            padding = size * MIB
            # Interleaved rounds, median of each: load on the shared machine hits both alike.
            runs = [
                {tool: measure_transfer(tool, job, emulator, padding) for tool in ("ours", "peer")}
                for _ in range(rounds)
            ]
            ours, peer = ({name: _median(runs, tool, name) for name in MEASURES} for tool in ("ours", "peer"))
            details = {"rounds": rounds}
            figures += [
                Figure(
                    benchmark="transfer",
                    name=f"Transfer {size} MiB image: wall time",
                    unit="s",
                    ours=round(ours["seconds"], 3),
                    peer=round(peer["seconds"], 3),
                    peer_name="HttpToS3Operator",
                    target="ratio <= 1.0",
                    met=ours["seconds"] <= peer["seconds"],
                    details=details,
                ),
                Figure(
                    benchmark="transfer",
                    name=f"Transfer {size} MiB image: peak RSS growth",
                    unit="MiB",
                    ours=round(ours["rss_growth_mib"], 1),
                    peer=round(peer["rss_growth_mib"], 1),
                    peer_name="HttpToS3Operator",
                    target=f"ours < {RSS_TARGET_MIB} MiB",
                    met=ours["rss_growth_mib"] < RSS_TARGET_MIB,
                    details=details,
                ),
            ]
    return figures


if __name__ == "__main__":
    _child(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
