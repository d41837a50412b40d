"""Input images kept in any store reach the vendor: inline where it takes images inline, else
as a signed URL the store serves, or a refusal naming why, before anything is paid for."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.operators.edit import NanoBananaEditImageOperator
from airflow_provider_nanobanana.stores.inputs import resolve_stored_inputs

from .conftest import BUCKET

LOG = logging.getLogger("tests.stores.inputs")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def stored_input(store, prefix: str) -> str:
    key = f"{store.uri(prefix).split('://', 1)[1].split('/', 1)[1]}/cat.png"
    store.put(key, PNG)
    return store.object_uri(key)


def test_an_input_in_each_store_goes_inline_to_a_vendor_that_takes_images_inline(store, prefix):
    uri = stored_input(store, prefix)

    (sent,) = resolve_stored_inputs([uri], inline_limit=10_000_000, aws_conn_id=None, log=LOG)

    assert base64.b64decode(sent.removeprefix("data:image/png;base64,")) == PNG


def test_an_azure_input_goes_to_a_url_only_vendor_as_a_signed_url_the_store_serves(
    wasb_connection, azure_container, prefix
):
    azure_container.upload_blob(f"{prefix}/cat.png", PNG)
    uri = f"wasb://{BUCKET}@devstoreaccount1/{prefix}/cat.png"

    (sent,) = resolve_stored_inputs([uri], inline_limit=None, aws_conn_id=None, log=LOG)

    assert "sig=" in sent
    assert httpx.get(sent).content == PNG


def test_a_gcs_input_is_refused_for_a_url_only_vendor_when_the_credentials_cannot_sign(
    gcs, gcs_connection, prefix
):
    gcs[1].blob(f"{prefix}/cat.png").upload_from_string(PNG)
    uri = f"gs://{BUCKET}/{prefix}/cat.png"

    with pytest.raises(NanoBananaInvalidRequestError, match="can sign a URL for") as caught:
        resolve_stored_inputs(
            ["https://example.com/a.png", uri], inline_limit=None, aws_conn_id=None, log=LOG
        )

    assert caught.value.field == "images[1]"


def test_a_local_input_is_refused_for_a_url_only_vendor(tmp_path):
    (tmp_path / "cat.png").write_bytes(PNG)

    with pytest.raises(NanoBananaInvalidRequestError, match="a local file has no URL"):
        resolve_stored_inputs([f"file://{tmp_path}/cat.png"], inline_limit=None, aws_conn_id=None, log=LOG)


def test_an_edit_from_a_missing_stored_input_fails_before_anything_is_paid(emulator, store, prefix):
    operator = NanoBananaEditImageOperator(
        task_id="edit",
        conn_id="nanobanana_acedata_default",
        prompt="make it ripe",
        images=[f"{store.uri(prefix)}/missing.png"],
        deferrable=False,
    )

    with pytest.raises(NanoBananaInvalidRequestError, match="an existing") as caught:
        operator.execute({})

    assert caught.value.field == "images[0]"
    assert sum(emulator.counters()["accepted"].values()) == 0
