"""Hook overhead: a generate plus fetch round trip through ``ModelsLabHook`` against the same two
HTTP calls made with one pooled plain ``httpx.Client``, on an emulator that answers at once.

What the hook adds is validation, request building, retry bookkeeping, key handling and answer
parsing into the job model; the network and the emulator are the same for both.
"""

from __future__ import annotations

import os
import statistics
import time

import httpx

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.settings import DEFAULT_MODELSLAB_KEY
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind
from benchmarks.report import Figure

PROMPT = "A banana-shaped airship over a data centre"
BODY = {"prompt": PROMPT, "width": 1024, "height": 1024, "samples": 1}


def _through_hook(hook: ModelsLabHook) -> None:
    submitted = hook.submit(
        ImageJobRequest(kind=JobKind.GENERATE, prompt=PROMPT, width=1024, height=1024, count=1)
    )
    hook.get_job(submitted.job_id)


def _plain(client: httpx.Client, url: str) -> None:
    answer = client.post(
        f"{url}/api/v1/enterprise/nano_banana/text2img", json={**BODY, "key": DEFAULT_MODELSLAB_KEY}
    ).json()
    client.post(
        f"{url}/api/v1/enterprise/nano_banana/fetch/{answer['id']}", json={"key": DEFAULT_MODELSLAB_KEY}
    )


def run(rounds: int = 200) -> list[Figure]:
    with Emulator(settings=EmulatorSettings(processing_seconds=0)) as emulator:
        os.environ["AIRFLOW_CONN_BENCH_MODELSLAB"] = emulator.connection_json("modelslab")
        ours, peer = [], []
        with ModelsLabHook("bench_modelslab") as hook, httpx.Client() as client:
            _through_hook(hook)  # warm up both: connection pools, settings, imports
            _plain(client, emulator.url)
            for _ in range(rounds):  # interleaved, so load changes hit both alike
                started = time.perf_counter()
                _through_hook(hook)
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                _plain(client, emulator.url)
                peer.append(time.perf_counter() - started)
    ours_median, peer_median = statistics.median(ours), statistics.median(peer)
    return [
        Figure(
            benchmark="hook",
            name="Hook round trip: generate + fetch",
            unit="ms",
            ours=round(ours_median * 1000, 3),
            peer=round(peer_median * 1000, 3),
            peer_name="plain httpx.Client",
            target="ratio <= 1.2",
            met=ours_median / peer_median <= 1.2,
            details={"rounds": rounds},
        )
    ]
