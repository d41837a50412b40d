"""``s3://`` input images become data URIs (AceData, up to its limit) or presigned URLs, checked first."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.stores.inputs import resolve_stored_inputs

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
LOG = logging.getLogger("tests.s3")


@pytest.fixture
def stored_png(nanobanana_s3, nanobanana_bucket) -> str:
    nanobanana_s3.client().put_object(Bucket=nanobanana_bucket, Key="inputs/cat.png", Body=PNG)
    return f"s3://{nanobanana_bucket}/inputs/cat.png"


def resolve(images, inline_limit):
    return resolve_stored_inputs(images, inline_limit=inline_limit, aws_conn_id="aws_default", log=LOG)


def test_a_vendor_taking_inline_images_gets_a_data_uri_of_the_object(stored_png):
    (uri,) = resolve([stored_png], inline_limit=10 * 1024 * 1024)
    header, payload = uri.split(",", 1)
    assert header == "data:image/png;base64"
    assert base64.b64decode(payload) == PNG


@pytest.mark.parametrize("inline_limit", [None, 100], ids=["url-only vendor", "object over the limit"])
def test_otherwise_the_vendor_gets_a_presigned_url_that_serves_the_object(stored_png, inline_limit):
    (url,) = resolve([stored_png], inline_limit=inline_limit)
    assert "Signature=" in url
    assert httpx.get(url).content == PNG


def test_other_images_pass_through_untouched(stored_png):
    images = ["https://example.com/a.png", stored_png]
    resolved = resolve(images, inline_limit=None)
    assert resolved[0] == "https://example.com/a.png"
    assert resolved[1].startswith("http")


def test_a_missing_object_is_refused_by_position(nanobanana_s3, nanobanana_bucket):
    with pytest.raises(NanoBananaInvalidRequestError) as caught:
        resolve(["https://example.com/a.png", f"s3://{nanobanana_bucket}/nope.png"], inline_limit=None)
    assert caught.value.field == "images[1]"
    assert "an existing Amazon S3 object" in str(caught.value)


@pytest.mark.parametrize("inline_limit", [None, 10 * 1024 * 1024])
def test_an_object_that_is_not_an_image_is_refused(nanobanana_s3, nanobanana_bucket, inline_limit):
    nanobanana_s3.client().put_object(
        Bucket=nanobanana_bucket, Key="notes.txt", Body=b"hello world, not a picture"
    )
    with pytest.raises(NanoBananaInvalidRequestError, match="PNG, JPEG, WebP or GIF"):
        resolve([f"s3://{nanobanana_bucket}/notes.txt"], inline_limit=inline_limit)
