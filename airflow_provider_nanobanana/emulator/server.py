"""The HTTP server: one loopback port serving every vendor, and the :class:`Emulator` that runs it.

It is built on ``http.server`` rather than a framework on purpose: the faults worth testing live
below the application layer (a connection closed with no answer, a body shorter than its
Content-Length), and only raw socket writes can produce them on demand. Connections are
HTTP/1.1 keep-alive like the real APIs, and ``stop()`` closes open ones so no client keeps
talking to a stopped emulator through its connection pool.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_nanobanana.emulator import acedata, admin, files, gemini, modelslab
from airflow_provider_nanobanana.emulator.images import require_pillow
from airflow_provider_nanobanana.emulator.runtime import Runtime
from airflow_provider_nanobanana.emulator.settings import (
    DEFAULT_ACEDATA_TOKEN,
    DEFAULT_GEMINI_KEY,
    DEFAULT_MODELSLAB_KEY,
    GEMINI,
    MODELSLAB,
    EmulatorSettings,
    Fault,
)
from airflow_provider_nanobanana.emulator.wire import Reply, Request, Route, json_reply

log = logging.getLogger(__name__)

ROUTES: tuple[Route, ...] = (
    *admin.ROUTES,
    *modelslab.ROUTES,
    *acedata.ROUTES,
    *gemini.ROUTES,
    *files.ROUTES,
)
_MAX_LINE = 65536


class Router:
    """Find the route for a request, count it, and turn handler crashes into a 500."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self._routes = [(re.compile(route.pattern), route) for route in routes]

    def dispatch(self, request: Request, runtime: Runtime) -> Reply:
        method = "GET" if request.method == "HEAD" else request.method
        allowed: set[str] = set()
        for pattern, route in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if route.method is not None and route.method != method:
                allowed.add(route.method)
                continue
            if route.vendor and route.endpoint:
                runtime.store.count_request(route.vendor, route.endpoint)
            try:
                return route.handler(dataclasses.replace(request, params=match.groupdict()), runtime)
            except Exception:
                log.exception("Emulator handler for %s %s crashed", request.method, request.path)
                return json_reply({"error": "emulator handler crashed; see the server log"}, 500)
        if allowed:
            return json_reply({"error": "method not allowed"}, 405, (("Allow", ", ".join(sorted(allowed))),))
        return json_reply({"error": f"no such endpoint: {request.path}"}, 404)


class _Server(ThreadingHTTPServer):
    """One thread per connection, with the open connections remembered so stop() can close them."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, host: str, port: int, runtime: Runtime) -> None:
        super().__init__((host, port), _Handler)
        # A wildcard bind is reachable on loopback; show that rather than an unusable 0.0.0.0.
        shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.url = f"http://{shown_host}:{self.server_address[1]}"
        self.runtime = runtime
        self.router = Router(ROUTES)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client may have closed it already
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer is normal here (the faults provoke it); keep stderr quiet.
        log.debug("Connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Turns bytes into a :class:`Request` and a :class:`Reply` back into bytes, faults included."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY each keep-alive answer
    # would wait ~40 ms for the client's delayed ACK, a latency no vendor adds.
    disable_nagle_algorithm = True
    server_version = "nanobanana-emulator"
    sys_version = ""
    timeout = 120  # idle keep-alive connections give their thread back after this
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._write(json_reply({"error": "unreadable request body"}, 400))
            return
        host = self.headers.get("Host")
        target = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=target.path,
            query=dict(parse_qsl(target.query)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            # Build URLs from the name the client used, so they work through Docker port maps too.
            base_url=f"http://{host}" if host else self.server.url,
        )
        self._write(self.server.router.dispatch(request, self.server.runtime))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline(_MAX_LINE).split(b";")[0], 16)  # ValueError if garbled
            if size == 0:
                while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers carry nothing the emulator needs
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(_MAX_LINE)

    def _write(self, reply: Reply) -> None:
        if reply.action == "drop":
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        if reply.action == "truncate":
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class Emulator:
    """A local fake of ModelsLab, AceData Cloud and Google's Gemini API on one loopback port.

    ``port=0`` picks a free port; ``start()`` returns the emulator so ``Emulator().start()`` reads
    naturally, and the object is a context manager that starts and stops it.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, settings: EmulatorSettings | None = None
    ) -> None:
        self._host = host
        self._port = port
        self._runtime = Runtime(settings or EmulatorSettings())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://<host>:<port>`` without a trailing slash; a wildcard host is shown as loopback."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server.url

    def connection_json(self, vendor: str, **extra: Any) -> str:
        """An Airflow connection (for ``AIRFLOW_CONN_<ID>``) to ``vendor`` here, with its default test
        key; ``extra`` goes into the connection's extras."""
        key = {MODELSLAB: DEFAULT_MODELSLAB_KEY, GEMINI: DEFAULT_GEMINI_KEY}.get(
            vendor, DEFAULT_ACEDATA_TOKEN
        )
        connection = {"conn_type": f"nanobanana_{vendor}", "host": self.url, "password": key}
        return json.dumps({**connection, "extra": extra} if extra else connection)

    @property
    def settings(self) -> EmulatorSettings:
        return self._runtime.settings

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        require_pillow()
        server = _Server(self._host, self._port, self._runtime)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="nanobanana-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join()
        self._runtime.deliveries.cancel_all()
        self._server = self._thread = None

    def add_fault(self, fault: Fault) -> None:
        self._runtime.add_fault(fault)

    def clear_faults(self) -> None:
        self._runtime.clear_faults()

    def configure(self, **changes: Any) -> EmulatorSettings:
        """Change any :class:`EmulatorSettings` field for the requests that follow."""
        return self._runtime.configure(**changes)

    def counters(self) -> dict[str, dict[str, int]]:
        return self._runtime.counters()

    def timeline(self) -> list[dict[str, str | float | int]]:
        """Every job's vendor, id, ``created_at``, ``ready_at`` (epoch seconds) and poll count."""
        return self._runtime.timeline()

    def reset(self) -> None:
        self._runtime.reset()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
