"""Fixtures for the emulator tests: an HTTP client on the plugin's emulator and a webhook receiver."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator


@pytest.fixture
def emulator(nanobanana_emulator: Emulator) -> Emulator:
    return nanobanana_emulator


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        yield http


class Receiver:
    """A tiny stdlib server that records the JSON bodies POSTed to it (webhooks, callbacks)."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[tuple[str, Any]] = queue.Queue()
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = self.rfile.read(int(self.headers["Content-Length"]))
                bodies.put((self.path, json.loads(payload)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def next(self, timeout: float = 5.0) -> tuple[str, Any]:
        return self.bodies.get(timeout=timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()
