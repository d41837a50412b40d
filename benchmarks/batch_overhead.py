"""Airflow overhead per image of a batch, by batch size and ``max_in_flight``, against mapped
generate + transfer tasks for the same images, all in one deployment.

Every run goes through one real Airflow 3.3 deployment (the deployment tier's: API server,
scheduler with LocalExecutor, DAG processor, triggerer, on SQLite) against the emulator and the
local S3 endpoint, with the same emulator job times. For each ``max_in_flight`` (5, ModelsLab's
documented queue; 10; 50) the default pool gets that many slots, counting deferred tasks, so the
mapped run (``nanobanana_faults``: one deferrable ``NanoBananaGenerateImageOperator`` per prompt,
then one transfer) keeps as many jobs at the vendor as the batch (``nanobanana_batch_<n>``, one
``NanoBananaBatchImageOperator``), which runs once per batch size. Mapping 10,000 tasks exceeds
Airflow's ``[core] max_map_length`` (1,024), so the mapped peer runs at the smallest size.

Measured per run: Airflow CPU (every component and the task processes it started, from
``/proc``, before and after; the emulator and S3 run in this process and are not counted), wall
time, task instances, what the batch's ledger wrote through the API server (its task log's
``Ledger:`` lines), the largest value in the task state store and the peak RSS of task
processes (sampled every second), and the XCom's size (from the metadata DB). Each run must pay
exactly one job per image, and a batch's S3 manifest must list every object as the store has it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.local_s3 import EXAMPLE_BUCKET, LocalS3, seed_example_bucket
from benchmarks.report import Figure, print_table

REPO = Path(__file__).resolve().parents[1]
SIZES = (1_000, 10_000)
IN_FLIGHT = (5, 10, 50)
JOB_SECONDS = (0.5, 1.0)
CPU_TARGET = 10.0  # the batch needs at least 10x less Airflow CPU per image than mapped tasks
GROWTH_TARGET = 1.2  # per-image figures at the largest size within 1.2x of the smallest
VALUE_LIMIT = 65_535  # Airflow's [state_store] max_value_storage_bytes, and the XCom bound
_LEDGER_LINE = re.compile(r"Ledger: (\d+) writes?, ([\d,]+) bytes")


def _deployment(home: Path) -> Any:
    sys.path.insert(0, str(REPO))
    from tests.deployment.deployment import AirflowDeployment

    return AirflowDeployment(home, [REPO / "tests" / "deployment" / "dags"])


def _peak_rss_of_task_processes(airflow: Any) -> int:
    """The largest peak RSS (VmHWM, bytes) of the task processes running now."""
    peak = 0
    for pid in airflow.task_runners().values():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if found := re.search(r"VmHWM:\s+(\d+) kB", status):
            peak = max(peak, int(found.group(1)) * 1024)
    return peak


def _measure(airflow: Any, dag_id: str, conf: dict[str, Any], images: int, task_id: str) -> dict[str, Any]:
    """One run of ``dag_id``; ``task_id`` is the task whose XCom is measured (not its upstream
    task's list of prompts, the DAG's input, which grows with the batch by design)."""
    from tests.deployment.dag_runs import task_instances, task_logs, trigger

    names = list(airflow.processes)
    before = {name: airflow.cpu_seconds(name) for name in names}
    started = time.monotonic()
    run = trigger(airflow.api, dag_id, conf=conf, timeout=240)
    largest_stored = peak_rss = 0
    while (state := airflow.api.get(run.path).json()["state"]) not in ("success", "failed"):
        ((largest,),) = airflow.database.query("SELECT max(length(value)) FROM task_state_store")
        largest_stored = max(largest_stored, largest or 0)
        peak_rss = max(peak_rss, _peak_rss_of_task_processes(airflow))
        time.sleep(1)
    wall = time.monotonic() - started
    cpu = {name: airflow.cpu_seconds(name) - before[name] for name in names}
    if state != "success":
        raise RuntimeError(f"{dag_id} ended {state}")
    tis = task_instances(airflow.api, run)
    ledger_bytes = sum(
        int(found.group(2).replace(",", ""))
        for text in task_logs(airflow.api, run).values()
        for found in _LEDGER_LINE.finditer(text)
    )
    ((xcom_bytes,),) = airflow.database.query(
        "SELECT max(length(value)) FROM xcom"
        " WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = 'return_value'",
        run.dag_id,
        run.run_id,
        task_id,
    )
    return {
        "run": run,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "cpu_per_image": sum(cpu.values()) / images,
        "task_instances": len(tis),
        "tries": max(ti["try_number"] for ti in tis),
        "ledger_bytes_per_image": ledger_bytes / images,
        "largest_stored_value": largest_stored,
        "xcom_bytes": xcom_bytes,
        "peak_task_rss": peak_rss,
    }


def _check_manifest(airflow: Any, s3: LocalS3, run: Any, prefix: str, images: int) -> None:
    """The batch's S3 manifest lists one object per image, each as the store has it."""
    from tests.deployment.dag_runs import xcom

    manifest = xcom(airflow.api, run, "draw")
    client = s3.client()
    body = client.get_object(Bucket=EXAMPLE_BUCKET, Key=manifest["manifest"].split("/", 3)[3])["Body"]
    landed = {obj["key"]: obj["size"] for item in json.loads(body.read())["results"] for obj in item["s3"]}
    listed = {
        obj["Key"]: obj["Size"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=EXAMPLE_BUCKET, Prefix=prefix)
        for obj in page.get("Contents", ())
        if not obj["Key"].endswith("manifest.json")
    }
    if len(landed) != images or landed != listed:
        raise RuntimeError(
            f"{prefix}: the manifest lists {len(landed)} objects, the store holds {len(listed)}"
        )


def set_pool(airflow: Any, slots: int) -> None:
    """The default pool, counting deferred tasks: the mapped run keeps ``slots`` jobs at the vendor."""
    answer = airflow.api.patch(
        "/pools/default_pool",
        params={"update_mask": ["slots", "include_deferred"]},
        json={"name": "default_pool", "slots": slots, "include_deferred": True},
    )
    answer.raise_for_status()


def batch_run(
    airflow: Any, vendor: Emulator, s3: LocalS3 | None, images: int, in_flight: int
) -> dict[str, Any]:
    dag_id = "nanobanana_batch" if in_flight == 50 else f"nanobanana_batch_{in_flight}"
    prefix = f"bench-batch-{in_flight}-{images}"
    vendor.reset()
    measured = _measure(airflow, dag_id, {"count": images, "s3_prefix": prefix}, images, "draw")
    if (paid := vendor.counters()["accepted"]["acedata"]) != images:
        raise RuntimeError(f"the batch paid {paid} jobs for {images} images")
    if s3 is not None:
        _check_manifest(airflow, s3, measured["run"], prefix, images)
    return measured


def mapped_run(airflow: Any, vendor: Emulator, images: int) -> dict[str, Any]:
    prompts = [f"catalogue item {number}, studio product photo" for number in range(images)]
    vendor.reset()
    measured = _measure(
        airflow, "nanobanana_faults", {"prompts": prompts, "s3_prefix": "bench-mapped"}, images, "to_s3"
    )
    if (paid := vendor.counters()["accepted"]["acedata"]) != images:
        raise RuntimeError(f"the mapped run paid {paid} jobs for {images} images")
    return measured


def compare(airflow: Any, vendor: Emulator, images: int, in_flight: int = 50) -> dict[str, dict[str, Any]]:
    """The batch and the mapped run of ``images`` AceData images in ``airflow`` (the deployment
    tier runs this at a tiny scale); raises unless each paid exactly ``images`` jobs."""
    set_pool(airflow, in_flight)
    return {
        "batch": batch_run(airflow, vendor, None, images, in_flight),
        "mapped": mapped_run(airflow, vendor, images),
    }


def _figures(in_flight: int, batches: dict[int, dict[str, Any]], mapped: dict[str, Any]) -> list[Figure]:
    small, large = min(batches), max(batches)
    first, last = batches[small], batches[large]
    at = f"batch at {in_flight} in flight"
    details = {"batch": batches, "mapped": mapped}
    return [
        Figure(
            "batch",
            f"{at}: CPU per image x{large} (peer x{small})",
            "s",
            round(last["cpu_per_image"], 4),
            round(first["cpu_per_image"], 4),
            f"same, x{small}",
            f"<= {GROWTH_TARGET}x",
            last["cpu_per_image"] <= first["cpu_per_image"] * GROWTH_TARGET,
            details,
        ),
        *(
            Figure(
                "batch",
                f"{at}: CPU per image x{size} vs mapped",
                "s",
                round(batches[size]["cpu_per_image"], 4),
                round(mapped["cpu_per_image"], 4),
                f"mapped x{small}",
                f"<= 1/{CPU_TARGET:g}",
                batches[size]["cpu_per_image"] * CPU_TARGET <= mapped["cpu_per_image"],
            )
            for size in (small, large)
        ),
        Figure(
            "batch",
            f"{at}: ledger bytes per image x{large} (peer x{small})",
            "B",
            round(last["ledger_bytes_per_image"]),
            round(first["ledger_bytes_per_image"]),
            f"same, x{small}",
            f"<= {GROWTH_TARGET}x",
            last["ledger_bytes_per_image"] <= first["ledger_bytes_per_image"] * GROWTH_TARGET,
        ),
        Figure(
            "batch",
            f"{at}: peak task RSS x{large} (peer x{small})",
            "MiB",
            round(last["peak_task_rss"] / 2**20, 1),
            round(first["peak_task_rss"] / 2**20, 1),
            f"same, x{small}",
            f"<= {GROWTH_TARGET}x",
            last["peak_task_rss"] <= first["peak_task_rss"] * GROWTH_TARGET,
        ),
        *(
            Figure(
                "batch",
                f"{at}: {what} x{large}",
                "B",
                last[measure],
                None,
                "",
                f"<= {VALUE_LIMIT:,}",
                last[measure] <= VALUE_LIMIT,
            )
            for what, measure in (("largest stored value", "largest_stored_value"), ("XCom", "xcom_bytes"))
        ),
        Figure(
            "batch",
            f"{at}: tries x{large}",
            "tries",
            last["tries"],
            None,
            "",
            "1",
            last["tries"] == 1,
        ),
    ]


def run(
    sizes: tuple[int, ...] = SIZES,
    in_flights: tuple[int, ...] = IN_FLIGHT,
    job_seconds: tuple[float, float] = JOB_SECONDS,
) -> list[Figure]:
    sys.path.insert(0, str(REPO))
    from tests.deployment.conftest import running

    settings = EmulatorSettings(processing_seconds=job_seconds[0], processing_seconds_max=job_seconds[1])
    figures = []
    with Emulator(settings=settings) as vendor, LocalS3() as s3:
        seed_example_bucket(s3)
        home = Path(tempfile.mkdtemp(prefix="nanobanana-batch-bench-"))
        airflow = _deployment(home)
        with running(airflow, vendor, s3):
            for in_flight in in_flights:
                set_pool(airflow, in_flight)
                batches = {size: batch_run(airflow, vendor, s3, size, in_flight) for size in sizes}
                mapped = mapped_run(airflow, vendor, min(sizes))
                for measured in (*batches.values(), mapped):
                    measured.pop("run")
                measured_here = _figures(in_flight, batches, mapped)
                print_table(measured_here)
                figures += measured_here
        shutil.rmtree(home, ignore_errors=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--in-flight", type=int, nargs="+", default=list(IN_FLIGHT))
    arguments = parser.parse_args()
    figures = run(tuple(arguments.sizes), tuple(arguments.in_flight))
    print_table(figures)
    for figure in figures:
        for size, measured in figure.details.get("batch", {}).items():
            cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in measured["cpu_seconds"].items())
            print(f"{figure.name.split(':')[0]} x{size}: wall {measured['wall_seconds']:.0f} s; CPU {cpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
