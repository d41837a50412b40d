"""`make demo`: one image from each vendor, through the hooks, against the local emulator.

Starts the emulator on a free loopback port, points both default connections at it, submits a
generate job to ModelsLab and to AceData, waits for them the way a non-deferrable task would,
and saves the images under ``demo-output/``. Stops everything it started.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="nanobanana-demo-"))

import httpx

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind

OUTPUT = Path("demo-output")
JOBS = {
    "modelslab": (
        ModelsLabHook,
        ImageJobRequest(
            kind=JobKind.GENERATE,
            prompt="A banana-shaped airship over a data centre",
            width=1024,
            height=1024,
        ),
    ),
    "acedata": (
        AceDataHook,
        ImageJobRequest(
            kind=JobKind.GENERATE, prompt="A white siamese cat reading Airflow logs", aspect_ratio="4:3"
        ),
    ),
}


def connect(emulator: Emulator) -> None:
    for vendor, key in (("modelslab", "modelslab-test-key"), ("acedata", "acedata-test-key")):
        connection = {"conn_type": f"nanobanana_{vendor}", "host": emulator.url, "password": key}
        os.environ[f"AIRFLOW_CONN_NANOBANANA_{vendor.upper()}_DEFAULT"] = json.dumps(connection)


def main() -> int:
    OUTPUT.mkdir(exist_ok=True)
    rows = []
    with Emulator(settings=EmulatorSettings(processing_seconds=2.0)) as emulator:
        print(f"Emulator at {emulator.url}")
        connect(emulator)
        for vendor, (hook_class, request) in JOBS.items():
            with hook_class() as hook:
                submitted = hook.submit(request)
                print(f"{vendor}: submitted job {submitted.job_id} ({submitted.state.value})")
                done = hook.wait_for_job(submitted.job_id, poll_interval=0.5, timeout=60)
            for index, image in enumerate(done.images):
                body = httpx.get(image.url).content
                path = OUTPUT / f"{vendor}_{done.job_id}_{index}.png"
                path.write_bytes(body)
                rows.append((vendor, done.job_id, str(path), len(body)))
    print(f"\n{'vendor':<10} {'job':<38} {'bytes':>9}  file")
    for vendor, job_id, path, size in rows:
        print(f"{vendor:<10} {job_id:<38} {size:>9}  {path}")
    return 0 if len(rows) == len(JOBS) else 1


if __name__ == "__main__":
    sys.exit(main())
