"""``make compat``: every Airflow line the package claims, each in a fresh virtualenv installed the way a
user would (``apache-airflow==X`` plus this package, resolver left free), through the same checks.

For each of the newest 2.11, 3.0, 3.1, 3.2 and 3.3 releases and the newest 3.4 pre-release on the
package index (3.0 with Airflow's constraints for three packages: ``WITH_AIRFLOW_CONSTRAINTS``), the
venv (under ``.compat/``, reused and brought up to date) runs ``scripts/compat_checks.py``; one
table, version by check, is printed at the end and written to ``compat-results.json``. Then the
test suite runs in each venv too (with the ``dev`` extra; the deployment tiers, markers
``deployment`` and ``scale``, run on the primary version in ``make test``). ``--quick`` skips the
suite (what CI runs after ``make test``) and runs two lines at a time; ``--versions 3.3.2 2.11.2``
runs just those.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENVS = REPO / ".compat"
LINES = ("2.11", "3.0", "3.1", "3.2", "3.3")
PRE_RELEASE_LINE = "3.4"
UV = Path(sys.executable).parent / "uv"
# Airflow 3.0 allows fastapi and starlette releases that break its task SDK (the execution API
# answers 422), and Airflow 3.2+ require those releases, so no bound in this package's metadata
# can fix 3.0. Its users install with Airflow's constraints file, as Airflow's install docs say;
# these are the versions that file holds for fastapi, starlette and cadwyn.
WITH_AIRFLOW_CONSTRAINTS = {"3.0": ("fastapi==0.116.1", "starlette==0.47.3", "cadwyn==5.4.4")}
# Test helpers, not what a user installs: the local S3 endpoint needs moto's server, the emulator's
# pytest plugin needs pytest, the GCS landing check a GCS emulator, the packaging test uv.
TEST_HELPERS = ("moto[server]>=5.0", "pytest>=8", "gcp-storage-emulator>=2024.8", "uv")
# Lines run two at a time (their checks mostly wait on emulator jobs), but one install at a time:
# each builds this package from the same source tree.
AT_ONCE = 2
INSTALLING = threading.Lock()


def newest_versions() -> list[str]:
    """The newest release of each supported line and the newest pre-release of the next one."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "apache-airflow", "--pre"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    available = listed.split("Available versions:", 1)[1].splitlines()[0].split(", ")
    stable = [version.strip() for version in available if re.fullmatch(r"\d+\.\d+\.\d+", version.strip())]
    chosen = [next(v for v in stable if v.startswith(f"{line}.")) for line in LINES]
    pre = next(v.strip() for v in available if v.strip().startswith(f"{PRE_RELEASE_LINE}."))
    return [*chosen, pre]


def line_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


def install(python: Path, version: str, *requirements: str) -> None:
    """Install ``requirements`` beside ``apache-airflow==version``, resolver left free (but for 3.0)."""
    subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--prerelease=allow" if not re.fullmatch(r"[\d.]+", version) else "--prerelease=if-necessary",
            f"apache-airflow=={version}",
            *requirements,
            *WITH_AIRFLOW_CONSTRAINTS.get(line_of(version), ()),
        ],
        check=True,
    )


def venv_for(version: str) -> Path:
    venv = VENVS / version
    python = venv / "bin" / "python"
    started = time.monotonic()
    with INSTALLING:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install(
            python,
            version,
            f"{REPO}[emulator,gcs]",
            "--reinstall-package",
            "airflow-provider-nanobanana",
            *TEST_HELPERS,
        )
    print(f"{version}: venv ready in {time.monotonic() - started:.0f} s", flush=True)
    return python


def run_suite(version: str, python: Path) -> str:
    """The test suite but the deployment tiers, in this version's venv; ``ok (N passed, ...)``."""
    install(python, version, f"{REPO}[dev]")
    started = time.monotonic()
    done = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "auto",
            "-m",
            "not deployment and not scale",
            "-rs",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=REPO,
    )
    (python.parent.parent / "suite.log").write_text(done.stdout + done.stderr)
    summary = next(
        (
            line.strip("= ")
            for line in reversed(done.stdout.splitlines())
            if re.search(r"\b\d+ (passed|failed)\b.* in [\d.]+s", line)
        ),
        done.stdout[-300:],
    )
    print(f"{version}: suite done in {time.monotonic() - started:.0f} s: {summary}", flush=True)
    return f"ok ({summary})" if done.returncode == 0 else f"failed: {summary}"


def run_checks(version: str, *, suite: bool) -> dict[str, str]:
    try:
        python = venv_for(version)
    except subprocess.CalledProcessError as error:
        return {"install": f"failed (exit {error.returncode})"}
    started = time.monotonic()
    done = subprocess.run(
        [str(python), str(REPO / "scripts" / "compat_checks.py")],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=REPO,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("COMPAT-RESULTS ")]
    if not lines:
        return {"install": "ok", "checks": f"crashed: {done.stderr[-500:]}"}
    results = {"install": "ok", **json.loads(lines[-1].removeprefix("COMPAT-RESULTS "))}
    print(f"{version}: checks done in {time.monotonic() - started:.0f} s", flush=True)
    if suite:
        results["test suite"] = run_suite(version, python)
    return results


def print_table(table: dict[str, dict[str, str]]) -> None:
    checks = list(dict.fromkeys(name for results in table.values() for name in results))
    width = max(len(name) for name in checks)
    heads = [f"{version}*" if line_of(version) in WITH_AIRFLOW_CONSTRAINTS else version for version in table]
    print("\n" + " " * width + " | " + " | ".join(f"{head:^8}" for head in heads))
    for name in checks:
        cells = []
        for results in table.values():
            outcome = results.get(name, "-")
            mark = "ok" if outcome.startswith("ok") else "-" if outcome == "-" else "FAIL"
            cells.append(f"{mark:^8}")
        print(f"{name:<{width}} | " + " | ".join(cells))
    if any(line_of(version) in WITH_AIRFLOW_CONSTRAINTS for version in table):
        print("* with Airflow's constraints for fastapi, starlette and cadwyn (see WITH_AIRFLOW_CONSTRAINTS)")
    for version, results in table.items():
        for name, outcome in results.items():
            if outcome not in ("ok", "-"):
                print(f"\n{version} {name}: {outcome}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="*", help="Airflow versions to run (default: the matrix)")
    parser.add_argument("--quick", action="store_true", help="the checks only, not the test suite")
    arguments = parser.parse_args()
    versions = arguments.versions or newest_versions()
    with ThreadPoolExecutor(max_workers=1 if not arguments.quick else AT_ONCE) as pool:
        outcomes = pool.map(lambda version: run_checks(version, suite=not arguments.quick), versions)
        table = dict(zip(versions, outcomes, strict=True))
    (REPO / "compat-results.json").write_text(json.dumps(table, indent=2))
    print_table(table)
    passed = all(outcome.startswith("ok") for results in table.values() for outcome in results.values())
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
