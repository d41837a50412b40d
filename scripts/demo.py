"""`make demo`: the example pipelines, end to end, on this machine.

Starts the vendor emulator and a local S3 endpoint (moto in server mode) on loopback, migrates an
embedded SQLite Airflow metadata DB in a throwaway AIRFLOW_HOME, and runs the example DAGs with
``dag.test()`` in deferrable mode: submit, sensor (waiting in the inline triggerer), transfer to
S3, for ModelsLab and AceData; the edit DAGs read their inputs from ``s3://``; the mapped DAG runs
one job per prompt; a Gemini Nano Banana Pro poster lands in the task that asked for it; and a
batch turns the rows of a CSV in S3 into images in one task, with a manifest. Then it copies
every landed object from S3 to ``demo-output/``, checks its sha256 again, prints a table and
writes ``demo-output/contact-sheet.png``. The table's cost column is what each image cost:
Gemini's from the usage it reports, AceData's from the ``prices`` extra its connection carries
(Google's list price for the model behind AceData's ``nano-banana``, as an example of setting
what your account pays); ModelsLab publishes no price, so its images show "unknown". Everything
it starts, it stops."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "demo-output"
DAG_FILES = (
    "example_generate.py",
    "example_edit.py",
    "example_mapped_prompts.py",
    "example_gemini.py",
    "example_catalogue_batch.py",
)
PIPELINE = "submit, wait (deferred to the triggerer), land in S3"
# Each DAG the demo runs: what it shows, and the task whose return value says what landed.
DEMOS = {
    "nanobanana_generate_modelslab": (PIPELINE, "to_s3"),
    "nanobanana_generate_acedata": (PIPELINE, "to_s3"),
    "nanobanana_edit_modelslab": (f"edit s3:// inputs: {PIPELINE}", "to_s3"),
    "nanobanana_edit_acedata": (f"edit s3:// inputs: {PIPELINE}", "to_s3"),
    "nanobanana_mapped_prompts": ("one mapped task per prompt, then one transfer", "to_s3"),
    "nanobanana_gemini_interactive": ("Gemini Nano Banana Pro, landed in the same task", "poster"),
    "nanobanana_catalogue_batch": ("a CSV's rows as one batch task, with a manifest", "draw_catalogue"),
}
THUMBNAIL = 320
CAPTION = 44
# What the demo's AceData connection says the account pays per image (its prices extra): Google's
# list price for gemini-2.5-flash-image, the model AceData's nano-banana runs on.
DEMO_PRICES = {"acedata": {"nano-banana": 0.039}}


def prepare_airflow_home() -> Path:
    """A fresh AIRFLOW_HOME with only the example DAGs; set before Airflow is imported."""
    home = Path(tempfile.mkdtemp(prefix="nanobanana-demo-"))
    dags = home / "dags"
    dags.mkdir()
    for name in DAG_FILES:
        shutil.copy(REPO / "example_dags" / name, dags / name)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW__NANOBANANA__MIN_DEFERRAL_SECONDS": "0",  # dag.test() has no scheduler to race
        }
    )
    return home


def connect(emulator: Any, s3: Any) -> None:
    for vendor in ("modelslab", "acedata", "gemini"):
        connection = emulator.connection_json(
            vendor, **({"prices": DEMO_PRICES[vendor]} if vendor in DEMO_PRICES else {})
        )
        os.environ[f"AIRFLOW_CONN_NANOBANANA_{vendor.upper()}_DEFAULT"] = connection
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = s3.connection_json()


def run_pipeline(dags_folder: Path, s3: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Run each example DAG; return the objects it landed and the DAGs that failed."""
    from airflow.dag_processing.dagbag import DagBag

    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    landed, failed = [], []
    for dag_id, (shows, task_id) in DEMOS.items():
        print(f"\n=== {dag_id}: {shows} ===", flush=True)
        dag_run = bag.get_dag(dag_id).test()
        if str(dag_run.state) != "success":
            failed.append(dag_id)
            continue
        returned = dag_run.get_task_instance(task_id).xcom_pull(task_ids=task_id)
        landed += [{**item, "dag_id": dag_id} for item in landed_objects(dag_run, returned, s3)]
    return landed, failed


def landed_objects(dag_run: Any, returned: Any, s3: Any) -> list[dict[str, Any]]:
    """Every object a DAG landed, with what its image cost: from a transfer's records, a
    summary's ``s3`` list, or a batch's manifest (read from S3, as a user would)."""
    if isinstance(returned, list):  # the transfer: the costs are in the generating tasks' summaries
        costs = image_costs(dag_run, "generate" if dag_run.dag_id.endswith("mapped_prompts") else "submit")
        return [{**item, "cost": costs.get(item["job_id"])} for item in returned]
    if "manifest" not in returned:  # a summary with s3_output
        each = per_image(returned.get("cost_usd"), returned["delivered_count"])
        return [{**item, "cost": each} for item in returned["s3"]]
    bucket, _, key = returned["manifest"].removeprefix("s3://").partition("/")
    manifest = json.loads(s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())
    return [
        {
            **obj,
            "bucket": bucket,
            "uri": f"s3://{bucket}/{obj['key']}",
            "vendor": manifest["vendor"],
            "job_id": item["job_id"],
            "index": index,
            "cost": per_image(item.get("cost_usd"), len(item["s3"])),
        }
        for item in manifest["results"]
        for index, obj in enumerate(item.get("s3", []))
    ]


def per_image(cost: float | None, images: int) -> float | None:
    return None if cost is None else cost / max(1, images)


def image_costs(dag_run: Any, task_id: str) -> dict[str, float | None]:
    """Each job's cost per image, from the summaries the generating task (or its mapped
    instances) returned."""
    summaries = [
        ti.xcom_pull(task_ids=task_id, map_indexes=ti.map_index)
        for ti in dag_run.get_task_instances()
        if ti.task_id == task_id
    ]
    return {
        summary["job_id"]: per_image(summary.get("cost_usd"), summary["requested_count"])
        for summary in summaries
    }


def copy_from_s3(s3: Any, landed: list[dict[str, Any]]) -> list[Path]:
    """Download each object as a user would, and hold it to the checksum the transfer recorded."""
    client = s3.client()
    paths = []
    for item in landed:
        body = client.get_object(Bucket=item["bucket"], Key=item["key"])["Body"].read()
        if hashlib.sha256(body).hexdigest() != item["sha256"]:
            raise SystemExit(f"{item['uri']}: sha256 differs from what the transfer recorded")
        path = OUTPUT / f"{item['vendor']}_{item['job_id']}_{item['index']}.{item['key'].rsplit('.', 1)[1]}"
        path.write_bytes(body)
        paths.append(path)
    return paths


def print_table(landed: list[dict[str, Any]]) -> None:
    print(f"\n{'vendor':<10} {'job':<38} {'bytes':>8}  {'cost':>8}  {'sha256':<16}  S3 URI")
    for item in landed:
        sha, cost = item["sha256"][:16], "unknown" if item["cost"] is None else f"${item['cost']:.3f}"
        print(f"{item['vendor']:<10} {item['job_id']:<38} {item['size']:>8}  {cost:>8}  {sha}  {item['uri']}")
    known = [item["cost"] for item in landed if item["cost"] is not None]
    unknown = len(landed) - len(known)
    print(
        f"\nCost: ${sum(known):.2f} for {len(known)} images (Gemini: from the usage it reported; "
        "AceData: at the connection's prices)"
        + (f"; {unknown} ModelsLab images at a price ModelsLab does not publish" if unknown else "")
        + " (set a connection's prices extra to see what yours cost)."
    )


def contact_sheet(landed: list[dict[str, Any]], paths: list[Path], target: Path) -> None:
    """One picture of everything that landed, captioned with vendor, DAG and object size."""
    from PIL import Image, ImageDraw, ImageFont

    columns = 3
    rows = -(-len(paths) // columns)
    title_height = 56
    sheet = Image.new(
        "RGB", (columns * THUMBNAIL, title_height + rows * (THUMBNAIL + CAPTION)), (250, 248, 240)
    )
    draw = ImageDraw.Draw(sheet)
    draw.text(
        (16, 14),
        f"make demo: {len(paths)} images landed in s3://{landed[0]['bucket']} (sha256 verified)",
        fill=(28, 28, 32),
        font=ImageFont.load_default(size=24),
    )
    small = ImageFont.load_default(size=15)
    for position, (item, path) in enumerate(zip(landed, paths, strict=True)):
        x = (position % columns) * THUMBNAIL
        y = title_height + (position // columns) * (THUMBNAIL + CAPTION)
        with Image.open(path) as picture:
            picture.thumbnail((THUMBNAIL - 16, THUMBNAIL - 16))
            sheet.paste(
                picture, (x + (THUMBNAIL - picture.width) // 2, y + (THUMBNAIL - picture.height) // 2)
            )
        caption = f"{item['dag_id'].removeprefix('nanobanana_')}, job {item['job_id'][:8]} #{item['index']}"
        draw.text((x + 12, y + THUMBNAIL + 2), caption, fill=(28, 28, 32), font=small)
        draw.text(
            (x + 12, y + THUMBNAIL + 21), f"{item['size'] / 1024:.0f} KiB", fill=(90, 90, 100), font=small
        )
    sheet.save(target)


def main() -> int:
    home = prepare_airflow_home()
    from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
    from airflow_provider_nanobanana.emulator.local_s3 import LocalS3, seed_example_bucket

    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir()
    with Emulator(settings=EmulatorSettings(processing_seconds=2.0)) as emulator, LocalS3() as s3:
        print(f"Vendor emulator at {emulator.url}; local S3 at {s3.endpoint_url}; AIRFLOW_HOME {home}")
        seed_example_bucket(s3)
        connect(emulator, s3)
        landed, failed = run_pipeline(home / "dags", s3)
        paths = copy_from_s3(s3, landed)
        accepted = emulator.counters()["accepted"]
    print_table(landed)
    if paths:
        contact_sheet(landed, paths, OUTPUT / "contact-sheet.png")
        print(f"\nContact sheet: {OUTPUT / 'contact-sheet.png'}; images in {OUTPUT}/")
    print(f"Paid generation requests: {accepted} (one per job). Emulator and S3 endpoint stopped.")
    shutil.rmtree(home, ignore_errors=True)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
