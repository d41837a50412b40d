"""DAG parse cost: the provider imports an example DAG needs, against the HTTP provider's.

Each sample is a fresh interpreter that has already imported ``airflow.sdk`` (every DAG file does)
and then times one import statement, so only what the provider adds is measured. The DAG
processor pays this for every file it parses.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from benchmarks.report import Figure

OURS = (
    "from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator\n"
    "from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor\n"
    "from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator"
)
PEER = (
    "from airflow.providers.http.operators.http import HttpOperator\n"
    "from airflow.providers.http.sensors.http import HttpSensor"
)
SAMPLE = """
import time, json, sys
import airflow.sdk
started = time.perf_counter()
exec(sys.argv[1])
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "modules": len(sys.modules)}))
"""


def _sample(statement: str) -> dict[str, float]:
    answer = subprocess.run(
        [sys.executable, "-c", SAMPLE, statement], check=True, capture_output=True, text=True
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def run(samples: int = 7) -> list[Figure]:
    ours, peer = [], []
    for _ in range(samples):  # interleaved, so drift in machine load hits both alike
        ours.append(_sample(OURS))
        peer.append(_sample(PEER))
    ours_median = statistics.median(sample["seconds"] for sample in ours)
    peer_median = statistics.median(sample["seconds"] for sample in peer)
    ratio = ours_median / peer_median
    return [
        Figure(
            benchmark="parse",
            name="DAG parse: provider imports, cold",
            unit="ms",
            ours=round(ours_median * 1000, 2),
            peer=round(peer_median * 1000, 2),
            peer_name="HttpOperator + HttpSensor",
            target="ratio <= 1.0",
            met=ratio <= 1.0,
            details={
                "samples": samples,
                "modules_after_ours": ours[0]["modules"],
                "modules_after_peer": peer[0]["modules"],
            },
        )
    ]
