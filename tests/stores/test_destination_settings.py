"""A destination on another store is refused before anything is paid for when it cannot work:
S3-only settings, two destinations at once, or none for the transfer."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("encrypt", True),
        ("acl_policy", "private"),
        ("storage_class", "STANDARD_IA"),
        ("extra_args", {"A": 1}),
    ],
)
def test_an_s3_only_setting_on_another_store_is_refused_by_name(setting, value):
    with pytest.raises(NanoBananaInvalidRequestError, match="it is an S3 setting") as caught:
        Destination(uri="file:///srv/images", **{setting: value}).checked()

    assert caught.value.field == setting


def test_an_s3_uri_is_the_bucket_and_prefix():
    destination = Destination(uri="s3://my-images/posters/2026").checked()

    assert (destination.bucket, destination.prefix) == ("my-images", "posters/2026")
    assert destination.object_uri("posters/2026/a.png") == "s3://my-images/posters/2026/a.png"


def test_destination_and_its_first_name_s3_output_cannot_both_be_given():
    with pytest.raises(NanoBananaInvalidRequestError, match="not set beside destination") as caught:
        NanoBananaGenerateImageOperator(
            task_id="draw",
            conn_id="nanobanana_acedata_default",
            prompt="a banana",
            destination={"uri": "gs://images/a"},
            s3_output={"bucket": "images"},
        )

    assert caught.value.field == "s3_output"


@pytest.mark.parametrize(
    "where", [{}, {"destination_uri": "gs://images/a", "s3_bucket": "images"}], ids=["none", "both"]
)
def test_the_transfer_needs_exactly_one_of_a_uri_and_an_s3_bucket(where):
    operator = NanoBananaImagesToS3Operator(task_id="land", jobs=[], **where)

    with pytest.raises(NanoBananaInvalidRequestError, match="either destination_uri or s3_bucket"):
        operator.execute({})
