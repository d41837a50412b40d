"""The distribution a user installs: built from this tree, free of tests, installing cleanly."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``make dist`` into a directory of its own: one wheel and one sdist."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        ["make", "--no-print-directory", "dist", f"DIST={out}"],  # what README tells users to run
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert "License classifiers are deprecated" not in built.stderr
    assert "`project.license` as a TOML table is deprecated" not in built.stderr
    return out


def test_the_sdist_carries_license_changelog_and_example_dags_but_no_tests(dist: Path):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert {"LICENSE", "CHANGELOG.md", "README.md", "example_dags/example_generate.py"} <= set(names)
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/", "scripts/"))]


def test_the_wheel_declares_its_license_and_installs_cleanly_in_a_fresh_venv(dist: Path, tmp_path: Path):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
        assert not [name for name in archive.namelist() if name.startswith("tests/")]
    assert "License-Expression: Apache-2.0" in text
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(UV), "pip", "install", "--python", str(python), "-c", str(REPO / "constraints.txt"), str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    probe = (
        "from importlib.metadata import entry_points; "
        "from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator; "
        "(info,) = [e.load()() for e in entry_points(group='apache_airflow_provider')"
        " if e.value.startswith('airflow_provider_nanobanana')]; print(info['package-name'])"
    )
    ran = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    # The last line: Airflow may warn on stdout first (e.g. about its configuration).
    assert ran.stdout.strip().splitlines()[-1] == "airflow-provider-nanobanana"
