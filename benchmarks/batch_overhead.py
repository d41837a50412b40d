"""Airflow overhead per image: one batch task against a mapped generate + transfer, same deployment.

Both runs go through one real Airflow 3.3 deployment (the deployment tier's: API server,
scheduler with LocalExecutor, DAG processor, triggerer, on SQLite) against the emulator and the
local S3 endpoint, with the same images: ``nanobanana_batch`` (one
``NanoBananaBatchImageOperator``, 50 in flight) and ``nanobanana_faults`` (one mapped
``NanoBananaGenerateImageOperator`` per prompt, deferrable, then one transfer). The default pool
has 50 slots that deferred tasks hold, so both runs keep at most 50 jobs at the vendor. Airflow CPU is the CPU
time of every component and the task processes they started (``/proc``), read before and after
each run; the emulator and S3 run in this process and are not counted. Runs are watched with one
light REST call every 2 s, the same for both.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.local_s3 import LocalS3, seed_example_bucket
from benchmarks.report import Figure, print_table

REPO = Path(__file__).resolve().parents[1]
IN_FLIGHT = 50
CPU_TARGET = 10.0  # the batch needs at least 10x less Airflow CPU per image


def _deployment(home: Path) -> Any:
    sys.path.insert(0, str(REPO))
    from tests.deployment.deployment import AirflowDeployment

    return AirflowDeployment(
        home,
        [REPO / "tests" / "deployment" / "dags"],
    )


def _measure(airflow: Any, dag_id: str, conf: dict[str, Any], images: int) -> dict[str, Any]:
    from tests.deployment.dag_runs import task_instances, trigger

    names = list(airflow.processes)
    before = {name: airflow.cpu_seconds(name) for name in names}
    started = time.monotonic()
    run = trigger(airflow.api, dag_id, conf=conf, timeout=240)
    while (state := airflow.api.get(run.path).json()["state"]) not in ("success", "failed"):
        time.sleep(2)
    wall = time.monotonic() - started
    cpu = {name: airflow.cpu_seconds(name) - before[name] for name in names}
    if state != "success":
        raise RuntimeError(f"{dag_id} ended {state}")
    total = sum(cpu.values())
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "cpu_per_image": total / images,
        "task_instances": len(task_instances(airflow.api, run)),
    }


def compare(airflow: Any, vendor: Emulator, images: int) -> dict[str, dict[str, Any]]:
    """Both runs of ``images`` AceData images in ``airflow``, one after the other; raises unless
    each paid exactly ``images`` jobs."""
    prompts = [f"catalogue item {number}, studio product photo" for number in range(images)]
    runs = {
        "mapped": ("nanobanana_faults", {"prompts": prompts, "s3_prefix": "bench-mapped"}),
        "batch": ("nanobanana_batch", {"count": images, "s3_prefix": "bench-batch"}),
    }
    measured = {}
    for mode, (dag_id, conf) in runs.items():
        vendor.reset()
        measured[mode] = _measure(airflow, dag_id, conf, images)
        if (paid := vendor.counters()["accepted"]["acedata"]) != images:
            raise RuntimeError(f"the {mode} run paid {paid} jobs for {images} images")
    return measured


def run(images: int = 1000, job_seconds: tuple[float, float] = (5.0, 15.0)) -> list[Figure]:
    sys.path.insert(0, str(REPO))
    from tests.deployment.conftest import running

    settings = EmulatorSettings(processing_seconds=job_seconds[0], processing_seconds_max=job_seconds[1])
    with Emulator(settings=settings) as vendor, LocalS3() as s3:
        seed_example_bucket(s3)
        home = Path(tempfile.mkdtemp(prefix="nanobanana-batch-bench-"))
        airflow = _deployment(home)
        with running(airflow, vendor, s3):
            # Deferred tasks hold their slot, so the mapped run keeps at most 50 jobs at the vendor too.
            answer = airflow.api.patch(
                "/pools/default_pool",
                params={"update_mask": ["slots", "include_deferred"]},
                json={"name": "default_pool", "slots": IN_FLIGHT, "include_deferred": True},
            )
            assert answer.status_code == 200, answer.text
            measured = compare(airflow, vendor, images)
        shutil.rmtree(home, ignore_errors=True)
    batch, mapped = measured["batch"], measured["mapped"]
    scale = f"Airflow overhead x{images} images"
    details = {"batch": batch, "mapped": mapped, "job_seconds": job_seconds, "in_flight": IN_FLIGHT}
    return [
        Figure(
            "batch",
            f"{scale}: Airflow CPU per image (ratio = batch / mapped)",
            "s",
            round(batch["cpu_per_image"], 4),
            round(mapped["cpu_per_image"], 4),
            "mapped + transfer",
            f"<= 1/{CPU_TARGET:g} of mapped",
            batch["cpu_per_image"] * CPU_TARGET <= mapped["cpu_per_image"],
            details,
        ),
        Figure(
            "batch",
            f"{scale}: task instances",
            "TIs",
            batch["task_instances"],
            mapped["task_instances"],
            "mapped + transfer",
            "fewer",
            batch["task_instances"] < mapped["task_instances"],
        ),
        Figure(
            "batch",
            f"{scale}: wall time",
            "s",
            round(batch["wall_seconds"], 1),
            round(mapped["wall_seconds"], 1),
            "mapped + transfer",
            "no worse",
            batch["wall_seconds"] <= mapped["wall_seconds"],
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    figures = run(parser.parse_args().images)
    print_table(figures)
    for figure in figures[:1]:
        for mode in ("batch", "mapped"):
            cpu = figure.details[mode]["cpu_seconds"]
            print(f"{mode}: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
