"""The HTTP layer: keep-alive, HEAD, routing errors, chunked bodies, URLs and lifecycle."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings
from airflow_provider_nanobanana.emulator.runtime import Runtime
from airflow_provider_nanobanana.emulator.server import Router
from airflow_provider_nanobanana.emulator.wire import Reply, Request, Route

from .support import ENTERPRISE, ML_KEY

ML_BODY = json.dumps({"key": ML_KEY, "prompt": "p", "width": 1024})


def test_connections_are_kept_alive_across_requests(emulator: Emulator) -> None:
    connection = http.client.HTTPConnection(emulator.url.removeprefix("http://"), timeout=5)
    try:
        connection.request("GET", "/_emulator/health")
        assert connection.getresponse().read() == b'{"status": "ok"}'
        first_socket = connection.sock
        connection.request("POST", f"{ENTERPRISE}/text2img", body=ML_BODY)
        answer = connection.getresponse()
        assert json.loads(answer.read())["status"] == "processing"
        assert connection.sock is first_socket
    finally:
        connection.close()


def test_head_of_an_image_sends_its_headers_without_a_body(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(processing_seconds=0)
    url = client.post(f"{ENTERPRISE}/text2img", content=ML_BODY).json()["output"][0]
    head = client.head(url)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(client.get(url).content)
    assert head.content == b""


def test_unknown_paths_are_404_and_wrong_methods_405(client: httpx.Client) -> None:
    assert client.get("/api/v9/nothing").status_code == 404
    wrong = client.get(f"{ENTERPRISE}/text2img")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


def test_chunked_request_bodies_are_read(client: httpx.Client) -> None:
    answer = client.post(
        f"{ENTERPRISE}/text2img", content=iter([ML_BODY[:10].encode(), ML_BODY[10:].encode()])
    )
    assert answer.json()["status"] == "processing"


def test_urls_in_answers_use_the_host_the_client_called(client: httpx.Client) -> None:
    job = client.post(
        f"{ENTERPRISE}/text2img", content=ML_BODY, headers={"Host": "emulator.test:8765"}
    ).json()
    assert job["fetch_result"].startswith("http://emulator.test:8765/api/v1/")
    assert job["future_links"][0].startswith("http://emulator.test:8765/generations/")


def _health_status(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/_emulator/health")
    return connection.getresponse().status


def test_stop_closes_kept_alive_connections_and_url_needs_a_running_server() -> None:
    emulator = Emulator(settings=EmulatorSettings(processing_seconds=0))
    with pytest.raises(RuntimeError):
        _ = emulator.url
    with emulator:
        connection = http.client.HTTPConnection(emulator.url.removeprefix("http://"), timeout=5)
        assert _health_status(connection) == 200
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        _health_status(connection)
    connection.close()


def test_importing_the_package_starts_nothing_and_does_not_import_pillow() -> None:
    code = (
        "import sys, threading, airflow_provider_nanobanana.emulator;"
        "assert 'PIL' not in sys.modules, 'Pillow imported';"
        "assert threading.active_count() == 1, 'a thread was started'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_crashing_handler_answers_500_instead_of_killing_the_connection() -> None:
    def crash(request: Request, runtime: Runtime) -> Reply:
        raise RuntimeError("boom")

    router = Router((Route("GET", "/crash", crash),))
    reply = router.dispatch(
        Request("GET", "/crash", {}, b"", "http://emulator.test"), Runtime(EmulatorSettings())
    )
    assert reply.status == 500
    assert b"crashed" in reply.body
