"""The stores' real servers on loopback, started once per test session: gcp-storage-emulator and
Azurite (from the npm registry, installed into a cache on first use)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deployment.debian import ensure_installed
from deployment.deployment import free_port
from deployment.services import wait_for_port
from s3.conftest import finished_job  # noqa: F401  (a fixture: a real finished job on the emulator)

BUCKET = "images"


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    emulator = pytest.importorskip("gcp_storage_emulator.server")
    port = free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def gcs(gcs_endpoint: str):
    from google.auth.credentials import AnonymousCredentials
    from google.auth.transport.requests import AuthorizedSession
    from google.cloud import storage

    client = storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": gcs_endpoint}
    )
    return AuthorizedSession(AnonymousCredentials()), client.bucket(BUCKET)


AZURITE = "azurite@3.35.0"  # pinned, as constraints.txt pins the Python side
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development key, not a secret.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _azurite_blob_command(cache: Path) -> Path:
    """``azurite-blob`` from the npm registry, installed once into ``cache``."""
    command = cache / "node_modules" / ".bin" / "azurite-blob"
    if not command.exists():
        ensure_installed("npm", "npm")  # Debian's npm brings Node.js
        subprocess.run(
            ["npm", "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--silent", AZURITE],
            check=True,
        )
    return command


def start_azurite(port: int, data: Path) -> subprocess.Popen:
    """Azurite's blob service on ``port``, keeping its blobs in ``data`` (so a restart keeps them)."""
    cache = Path(os.environ.get("NANOBANANA_NODE_CACHE", Path.home() / ".cache" / "nanobanana-node"))
    command = _azurite_blob_command(cache)
    log = data / "azurite.log"
    server = subprocess.Popen(
        [
            str(command),
            "--silent",
            "--location",
            str(data),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--skipApiVersionCheck",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, 30, "Azurite", log)
    return server


def stop_azurite(server: subprocess.Popen) -> None:
    """Stop Azurite with SIGTERM (it saves its blob metadata then, which a restart reads back),
    and kill it if it has not gone within 30 s: on a loaded machine it once took longer than 10 s
    to exit and failed the suite at teardown."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> Iterator[str]:
    """Azurite's blob service; yields its connection string."""
    port = free_port()
    server = start_azurite(port, tmp_path_factory.mktemp("azurite"))
    try:
        yield azurite_connection_string(port)
    finally:
        stop_azurite(server)


@pytest.fixture(scope="session")
def azure_container(azurite: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(azurite).get_container_client(BUCKET)
    container.create_container()
    return container


def _connection(monkeypatch, conn_id: str, default_conn_id: str, connection: dict) -> str:
    """``conn_id``, and the store's default connection (what inputs are read with), as ``connection``."""
    for name in (conn_id, default_conn_id):
        monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", json.dumps(connection))
    return conn_id


@pytest.fixture
def gcs_connection(gcs_endpoint, monkeypatch) -> str:
    pytest.importorskip("airflow.providers.google")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    extra = {"is_anonymous": True, "project": "test"}
    return _connection(
        monkeypatch,
        "nanobanana_gcs",
        "google_cloud_default",
        {"conn_type": "google_cloud_platform", "extra": extra},
    )


@pytest.fixture
def wasb_connection(azurite, azure_container, monkeypatch) -> str:
    pytest.importorskip("airflow.providers.microsoft.azure")
    connection = {"conn_type": "wasb", "extra": {"connection_string": azurite}}
    return _connection(monkeypatch, "nanobanana_wasb", "wasb_default", connection)


@pytest.fixture
def adls_connection(azurite, azure_container, monkeypatch) -> str:
    """An ADLS (``abfs://``) connection: Azurite has no DFS API, but the blob endpoint is where
    this package writes ADLS objects anyway."""
    pytest.importorskip("airflow.providers.microsoft.azure")
    connection = {"conn_type": "adls", "extra": {"connection_string": azurite}}
    return _connection(monkeypatch, "nanobanana_adls", "azure_data_lake_default", connection)


@dataclass
class StoreUnderTest:
    """One store as a test sees it: where a prefix lives as a URI, and what is stored there."""

    scheme: str
    root: str  # the container's URI, without a trailing slash
    conn_id: str | None
    objects: Callable[[str], dict[str, bytes]]  # key -> body, for every key under a prefix
    metadata: Callable[[str], dict[str, str]]
    put: Callable[[str, bytes], None]  # an object under a key

    def uri(self, prefix: str) -> str:
        return f"{self.root}/{prefix}"

    def object_uri(self, key: str) -> str:
        """Keys are paths in the bucket or container; on a file system, from its root."""
        return f"file:///{key}" if self.scheme == "file" else f"{self.root}/{key}"


def _gcs_store(request) -> StoreUnderTest:
    conn_id = request.getfixturevalue("gcs_connection")
    bucket = request.getfixturevalue("gcs")[1]
    return StoreUnderTest(
        "gs",
        f"gs://{BUCKET}",
        conn_id,
        lambda prefix: {blob.name: blob.download_as_bytes() for blob in bucket.list_blobs(prefix=prefix)},
        lambda key: bucket.get_blob(key).metadata or {},
        lambda key, body: bucket.blob(key).upload_from_string(body),
    )


def _azure_store(scheme: str, fixture: str):
    def build(request) -> StoreUnderTest:
        conn_id = request.getfixturevalue(fixture)
        container = request.getfixturevalue("azure_container")
        return StoreUnderTest(
            scheme,
            f"{scheme}://{BUCKET}@{AZURITE_ACCOUNT}.{_AZURE_SERVICE[scheme]}.core.windows.net",
            conn_id,
            lambda prefix: {
                blob.name: container.get_blob_client(blob.name).download_blob().readall()
                for blob in container.list_blobs(name_starts_with=prefix)
            },
            lambda key: container.get_blob_client(key).get_blob_properties().metadata,
            lambda key, body: container.upload_blob(key, body, overwrite=True),
        )

    return build


def _file_store(request) -> StoreUnderTest:
    root = request.getfixturevalue("tmp_path") / "landed"
    root.mkdir()

    def objects(prefix: str) -> dict[str, bytes]:
        """Every file under ``prefix``, hidden ones too, by its key: its path without the first /."""
        files = sorted(path for path in (root / prefix).rglob("*") if path.is_file())
        return {str(path).lstrip("/"): path.read_bytes() for path in files}

    def put(key: str, body: bytes) -> None:
        Path("/", key).parent.mkdir(parents=True, exist_ok=True)
        Path("/", key).write_bytes(body)

    return StoreUnderTest("file", f"file://{root}", None, objects, lambda key: {}, put)


_AZURE_SERVICE = {"wasb": "blob", "abfs": "dfs"}
_STORES = {
    "gs": _gcs_store,
    "wasb": _azure_store("wasb", "wasb_connection"),
    "abfs": _azure_store("abfs", "adls_connection"),
    "file": _file_store,
}


@pytest.fixture(params=list(_STORES))
def store(request) -> StoreUnderTest:
    """Each store the package lands in besides S3, over its real API (or the file system)."""
    return _STORES[request.param](request)


@pytest.fixture
def prefix() -> str:
    """A prefix of this test's own: the stores' servers live for the whole module."""
    return f"t-{uuid.uuid4().hex[:12]}"
