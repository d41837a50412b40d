"""Key templates cannot write outside the prefix, and every destination setting is checked up front."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.keys import (
    DEFAULT_KEY_TEMPLATE,
    check_key_template,
    normalize_prefix,
    render_key,
)

VALUES = {
    "vendor": "acedata",
    "dag_id": "images",
    "run_id": "manual__2026-11-20T10:00:00+00:00",
    "task_id": "group.to_s3",
    "map_index": 3,
    "job_id": "90000001",
    "index": 1,
    "ext": "png",
}


def test_the_default_template_renders_task_instance_and_job():
    key = render_key(DEFAULT_KEY_TEMPLATE, "art/2026", VALUES)
    assert key == "art/2026/images/manual__2026-11-20T10:00:00+00:00/group.to_s3/3/90000001_1.png"


def test_an_empty_prefix_lands_at_the_bucket_root():
    assert render_key("{prefix}/{job_id}_{index}.{ext}", "", VALUES) == "90000001_1.png"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("run_id", "manual/../../etc"),
        ("job_id", ".."),
        ("job_id", "a\\b"),
        ("task_id", "tab\there"),
        ("job_id", ""),
    ],
)
def test_a_value_that_is_not_one_segment_is_refused_by_name(name, value):
    with pytest.raises(NanoBananaInvalidRequestError) as caught:
        render_key(DEFAULT_KEY_TEMPLATE, "art", {**VALUES, name: value})
    assert caught.value.field == f"key value {name}"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{dag_id}/{prefix}/{job_id}_{index}", "starting with {prefix}/"),
        ("{prefix}/{job_id}.{ext}", "containing {index}"),
        ("{prefix}/{index}.{ext}", "containing {job_id}"),
        ("{prefix}/{job_id.__class__}/{index}", "unknown field"),
        ("{prefix}/{owner}/{job_id}_{index}", "unknown field {owner}"),
        ("{prefix}/{job_id", "valid str.format template"),
        ("{prefix}/../{job_id}_{index}", "stay under"),
    ],
)
def test_a_template_that_could_collide_or_escape_is_refused(template, problem):
    with pytest.raises(NanoBananaInvalidRequestError, match="key_template") as caught:
        render_key(check_key_template(template), "art", VALUES)
    assert problem in str(caught.value)


@pytest.mark.parametrize(("prefix", "normalized"), [("/art/2026/", "art/2026"), ("", ""), ("a", "a")])
def test_prefixes_lose_surrounding_slashes(prefix, normalized):
    assert normalize_prefix(prefix) == normalized


@pytest.mark.parametrize("prefix", ["a//b", "a/../b", "./a"])
def test_prefixes_with_empty_or_dot_segments_are_refused(prefix):
    with pytest.raises(NanoBananaInvalidRequestError, match="prefix"):
        normalize_prefix(prefix)


@pytest.mark.parametrize(
    ("settings", "field", "hint"),
    [
        ({"bucket": "s3://images"}, "bucket", "without the s3:// scheme"),
        ({"bucket": "Images_2026"}, "bucket", "lowercase"),
        ({"bucket": "images", "acl_policy": "public"}, "acl_policy", "bucket-owner-full-control"),
        ({"bucket": "images", "storage_class": "COLD"}, "storage_class", "STANDARD_IA"),
        ({"bucket": "images", "max_concurrency": 0}, "max_concurrency", "from 1 to 16"),
        ({"bucket": "images", "extra_args": "SSE"}, "extra_args", "boto3 ExtraArgs"),
    ],
)
def test_destination_settings_are_checked_with_the_field_named(settings, field, hint):
    with pytest.raises(NanoBananaInvalidRequestError) as caught:
        Destination(**settings).checked()
    assert caught.value.field == field
    assert hint in str(caught.value)


def test_a_destination_dict_with_an_unknown_setting_names_it():
    with pytest.raises(NanoBananaInvalidRequestError) as caught:
        Destination.from_mapping({"bucket": "images", "prefx": "art"}, name="s3_output")
    assert caught.value.field == "s3_output.prefx"


def test_a_destination_dict_needs_a_uri_or_a_bucket():
    with pytest.raises(NanoBananaInvalidRequestError) as caught:
        Destination.from_mapping({"prefix": "art"}, name="s3_output")
    assert caught.value.field == "s3_output.uri"
    assert "'bucket'" in str(caught.value)


def test_upload_arguments_add_content_type_metadata_and_the_s3hook_options():
    destination = Destination(
        bucket="images",
        encrypt=True,
        acl_policy="bucket-owner-full-control",
        storage_class="STANDARD_IA",
        extra_args={"Metadata": {"team": "art"}, "Tagging": "source=nanobanana"},
    )
    args = destination.upload_args({"RequestPayer": "requester"}, "image/png", {"sha256": "abc"})
    assert args == {
        "RequestPayer": "requester",
        "Tagging": "source=nanobanana",
        "ContentType": "image/png",
        "Metadata": {"team": "art", "sha256": "abc"},
        "ServerSideEncryption": "AES256",
        "ACL": "bucket-owner-full-control",
        "StorageClass": "STANDARD_IA",
    }
