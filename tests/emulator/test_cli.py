"""The ``nanobanana-emulator`` command and ``python -m airflow_provider_nanobanana.emulator``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from airflow_provider_nanobanana.emulator.cli import build_parser
from airflow_provider_nanobanana.emulator.settings import DEFAULT_GEMINI_KEY

from .support import ENTERPRISE, ML_KEY

SCRIPT = Path(sys.executable).with_name("nanobanana-emulator")


@pytest.fixture
def run() -> Iterator[list[subprocess.Popen[str]]]:
    """Started processes, terminated at the end of the test."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _start(processes: list[subprocess.Popen[str]], command: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes.append(process)
    assert process.stdout is not None
    match = re.fullmatch(
        r"# Nano Banana emulator listening on (http://127\.0\.0\.1:\d+)\n", process.stdout.readline()
    )
    assert match, "the first line must announce the URL"
    return process, match[1]


def test_console_script_prints_its_url_serves_and_stops_on_sigterm(run: list[subprocess.Popen[str]]) -> None:
    process, url = _start(
        run,
        [
            str(SCRIPT),
            "--port",
            "0",
            "--processing-seconds",
            "0",
            "--modelslab-key",
            "cli-key",
            "--fault",
            "modelslab:text2img:rate_limit:times=1,retry_after=2",
        ],
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "# ModelsLab keys: cli-key\n"
    with httpx.Client(base_url=url) as client:
        assert client.get("/_emulator/health").json() == {"status": "ok"}
        body = {"key": "cli-key", "prompt": "p", "width": 1024}
        assert client.post(f"{ENTERPRISE}/text2img", json=body).headers["retry-after"] == "2"
        assert client.post(f"{ENTERPRISE}/text2img", json=body).json()["status"] == "success"
    process.terminate()
    assert process.wait(timeout=10) == 0


def test_python_dash_m_runs_the_same_cli(run: list[subprocess.Popen[str]]) -> None:
    process, url = _start(run, [sys.executable, "-m", "airflow_provider_nanobanana.emulator", "--port", "0"])
    answer = httpx.post(f"{url}{ENTERPRISE}/text2img", json={"key": ML_KEY, "prompt": "p"})
    assert answer.json()["status"] == "processing"
    process.terminate()
    assert process.wait(timeout=10) == 0


def test_help_names_all_three_vendors_and_the_gemini_settings() -> None:
    result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    text = " ".join(result.stdout.split())
    assert "ModelsLab, AceData Cloud and Google's Gemini API" in text
    assert "--gemini-key" in text
    assert "--gemini-state-prefix" in text


def test_a_bad_fault_spec_exits_with_a_usage_error() -> None:
    result = subprocess.run(
        [str(SCRIPT), "--fault", "modelslab:text2img:explode"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unknown fault kind 'explode'" in result.stderr


def test_s3_flag_prints_shell_that_exports_the_connections_and_the_seeded_objects_open_in_a_browser(
    run: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    process, url = _start(run, [str(SCRIPT), "--port", "0", "--s3", "--s3-port", "0"])
    assert process.stdout is not None
    printed = [f"# Nano Banana emulator listening on {url}\n"]
    while "AIRFLOW_CONN_AWS_DEFAULT" not in printed[-1]:
        line = process.stdout.readline()
        assert line, f"the emulator exited: {process.stderr.read() if process.stderr else ''}"
        printed.append(line)
    env_file = tmp_path / "emulator.env"
    env_file.write_text("".join(printed))
    names = ["MODELSLAB", "ACEDATA", "GEMINI"]
    shown = " ".join(f'"$AIRFLOW_CONN_NANOBANANA_{name}_DEFAULT"' for name in names)
    sourced = subprocess.run(
        [
            "bash",
            "-c",
            f'source {env_file} && for v in {shown} "$AIRFLOW_CONN_AWS_DEFAULT"; do echo "$v"; done',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    modelslab, acedata, gemini, aws = (json.loads(line) for line in sourced.stdout.splitlines())
    assert modelslab["host"] == acedata["host"] == url, "the connections point at this emulator"
    assert (gemini["conn_type"], gemini["host"]) == ("nanobanana_gemini", url)
    assert gemini["password"] == DEFAULT_GEMINI_KEY
    client = boto3.client(
        "s3",
        endpoint_url=aws["extra"]["endpoint_url"],
        region_name=aws["extra"]["region_name"],
        aws_access_key_id=aws["login"],
        aws_secret_access_key=aws["password"],
    )
    keys = [item["Key"] for item in client.list_objects_v2(Bucket="nanobanana-images")["Contents"]]
    assert set(keys) == {"inputs/bananas.png", "inputs/cat.png", "catalogue/products.csv"}
    listed = [line.removeprefix("#").strip() for line in printed if "/nanobanana-images/" in line]
    assert {link.rpartition("/nanobanana-images/")[2] for link in listed} == set(keys), "README's list"
    unsigned = httpx.get(listed[0])  # what a browser sends: no signature
    assert (unsigned.status_code, unsigned.content[:4]) == (200, b"\x89PNG")
    process.terminate()
    assert process.wait(timeout=20) == 0


def test_both_ports_are_fixed_by_default_so_a_restart_keeps_exported_connections() -> None:
    parser = build_parser()
    arguments = parser.parse_args([])
    assert (arguments.port, arguments.s3_port) == (8765, 8766)


def test_the_emulator_refuses_to_start_without_pillow() -> None:
    """In a process of its own, where Pillow cannot be imported, not at the first image request."""
    script = (
        "import sys; sys.modules['PIL'] = None\n"
        "from airflow_provider_nanobanana.emulator import Emulator\n"
        "Emulator().start()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "pip install 'airflow-provider-nanobanana[emulator]'" in result.stderr
