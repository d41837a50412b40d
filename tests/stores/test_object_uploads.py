"""Each store's upload shows an object only when the whole body is in, over the store's real API:
a GCS emulator (gcp-storage-emulator, resumable sessions), Azurite (the Azure Storage emulator,
from the npm registry; block lists) and the local file system."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest

from airflow_provider_nanobanana.stores.azure import AzureBlobUpload, AzureWriter
from airflow_provider_nanobanana.stores.gcs import CHUNK_UNIT, GcsObjectUpload, GcsWriter
from airflow_provider_nanobanana.stores.local import LocalFileUpload

from .conftest import BUCKET


def _upload(session, endpoint: str, key: str, **kwargs) -> GcsObjectUpload:
    return GcsObjectUpload(
        session,
        BUCKET,
        key,
        content_type="image/png",
        metadata={"vendor": "acedata"},
        endpoint=endpoint,
        **kwargs,
    )


def test_a_gcs_object_appears_only_when_its_last_chunk_is_sent(gcs, gcs_endpoint):
    session, bucket = gcs
    body = os.urandom(3 * CHUNK_UNIT + 17)
    upload = _upload(session, gcs_endpoint, "poster/0.png", chunk_bytes=CHUNK_UNIT)

    for start in range(0, len(body), 100_000):
        upload.write(body[start : start + 100_000])
    assert not bucket.blob("poster/0.png").exists(), "three chunks are up, the object is not"
    upload.complete({"sha256": hashlib.sha256(body).hexdigest()})

    stored = bucket.get_blob("poster/0.png")
    assert stored.download_as_bytes() == body
    assert stored.content_type == "image/png"
    assert stored.metadata == {"vendor": "acedata"}, "metadata went with the session's start"


def test_a_one_chunk_gcs_body_carries_its_sha256(gcs, gcs_endpoint):
    session, bucket = gcs
    body = b"\x89PNG\r\n\x1a\n" + os.urandom(1000)
    upload = _upload(session, gcs_endpoint, "small.png")
    upload.write(body)
    upload.complete({"sha256": hashlib.sha256(body).hexdigest()})

    assert bucket.get_blob("small.png").metadata["sha256"] == hashlib.sha256(body).hexdigest()


def test_an_aborted_gcs_upload_leaves_no_object(gcs, gcs_endpoint):
    session, bucket = gcs
    upload = _upload(session, gcs_endpoint, "cut.png", chunk_bytes=CHUNK_UNIT)
    upload.write(os.urandom(2 * CHUNK_UNIT + 1))

    upload.abort()

    assert not bucket.blob("cut.png").exists()


def test_gcs_chunks_that_are_not_multiples_of_256_kib_are_refused_before_any_request():
    with pytest.raises(ValueError, match="multiple of 262144"):
        GcsObjectUpload(None, BUCKET, "x.png", content_type="image/png", metadata={}, chunk_bytes=1000)


def test_a_local_file_appears_only_when_complete_and_replaces_an_earlier_try(tmp_path: Path):
    target = tmp_path / "poster" / "0.png"
    first = LocalFileUpload(target)
    first.write(b"old bytes")
    first.complete({})
    upload = LocalFileUpload(target)

    upload.write(b"new ")
    assert target.read_bytes() == b"old bytes", "a reader sees the earlier whole file meanwhile"
    upload.write(b"bytes")
    upload.complete({})

    assert target.read_bytes() == b"new bytes"
    assert sorted(path.name for path in target.parent.iterdir()) == ["0.png"], "no partial file left"


def test_an_aborted_local_write_leaves_nothing(tmp_path: Path):
    upload = LocalFileUpload(tmp_path / "cut.png")
    upload.write(b"half a body")

    upload.abort()

    assert list(tmp_path.iterdir()) == []


def test_an_azure_blob_appears_only_when_its_block_list_is_committed(azure_container):
    body = os.urandom(3 * 1024 * 1024 + 5)
    blob = azure_container.get_blob_client("poster/0.png")
    upload = AzureBlobUpload(
        blob, content_type="image/png", metadata={"vendor": "acedata"}, block_bytes=1024 * 1024
    )

    for start in range(0, len(body), 300_000):
        upload.write(body[start : start + 300_000])
    assert not blob.exists(), "three blocks are staged, the blob is not"
    upload.complete({"sha256": hashlib.sha256(body).hexdigest()})

    properties = blob.get_blob_properties()
    assert blob.download_blob().readall() == body
    assert properties.content_settings.content_type == "image/png"
    assert properties.metadata == {"vendor": "acedata", "sha256": hashlib.sha256(body).hexdigest()}


def test_an_aborted_azure_upload_leaves_no_blob(azure_container):
    blob = azure_container.get_blob_client("cut.png")
    upload = AzureBlobUpload(blob, content_type="image/png", metadata={}, block_bytes=1024 * 1024)
    upload.write(os.urandom(2 * 1024 * 1024 + 1))

    upload.abort()

    assert not blob.exists()


def test_a_gcs_upload_is_authorised_through_airflow_s_gcs_connection(gcs, gcs_connection):
    body = os.urandom(5000)
    writer = GcsWriter.open(BUCKET, gcs_connection, 0, logging.getLogger(__name__))
    upload = writer.upload("via-hook.png", "image/png", {})

    upload.write(body)
    upload.complete({"sha256": hashlib.sha256(body).hexdigest()})

    assert gcs[1].get_blob("via-hook.png").download_as_bytes() == body


def test_an_azure_upload_goes_through_airflow_s_wasb_connection(azure_container, wasb_connection):
    body = os.urandom(5000)
    writer = AzureWriter.open(
        "wasb", BUCKET, "devstoreaccount1", wasb_connection, 0, logging.getLogger(__name__)
    )
    upload = writer.upload("via-hook.png", "image/png", {})

    upload.write(body)
    upload.complete({"sha256": hashlib.sha256(body).hexdigest()})

    assert azure_container.get_blob_client("via-hook.png").download_blob().readall() == body
