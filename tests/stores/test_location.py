"""A destination URI is read, and a wrong one refused naming the field, before anything is paid."""

from __future__ import annotations

import sys

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.stores.location import parse_location
from airflow_provider_nanobanana.stores.providers import provider_hooks


@pytest.mark.parametrize(
    ("uri", "container", "prefix", "account", "conn_id"),
    [
        ("s3://my-images/posters/", "my-images", "posters", None, "aws_default"),
        ("gs://my_images.example/a/b", "my_images.example", "a/b", None, "google_cloud_default"),
        (
            "abfs://images@acct01/posters",
            "images",
            "posters",
            "acct01.dfs.core.windows.net",
            "azure_data_lake_default",
        ),
        (
            "wasb://images@acct01.blob.core.windows.net/",
            "images",
            "",
            "acct01.blob.core.windows.net",
            "wasb_default",
        ),
        ("file:///srv/images/", "/", "srv/images", None, None),
    ],
)
def test_each_store_s_uri_names_its_container_prefix_and_default_connection(
    uri, container, prefix, account, conn_id
):
    location = parse_location("output", uri)

    assert (location.container, location.prefix, location.account) == (container, prefix, account)
    assert location.store.default_conn_id == conn_id


def test_a_location_writes_back_the_uri_assets_and_lineage_name():
    assert parse_location("output", "abfs://images@acct01/posters").uri == (
        "abfs://images@acct01.dfs.core.windows.net/posters"
    )
    assert parse_location("output", "gs://bucket/a/").uri == "gs://bucket/a"
    assert parse_location("output", "file:///srv/images/").uri == "file:///srv/images"


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("my-images/posters", "a URI such as"),
        ("ftp://host/x", "one of the schemes s3://, gs://, abfs://, wasb://, file://"),
        ("gs://Bad_Bucket/x", "a Google Cloud Storage bucket name"),
        ("abfs://images/posters", "abfs://container@account.dfs.core.windows.net/prefix"),
        ("wasb://images@acct01.dfs.core.windows.net/x", "wasb://container@account.blob.core.windows.net"),
        ("abfs://Images@acct01/x", "a container of 3-63 lowercase letters"),
        ("file://relative/path", "an absolute path"),
        ("gs://bucket/x?generation=1", "without ?query"),
    ],
)
def test_a_wrong_uri_is_refused_naming_the_field_and_what_is_allowed(uri, allowed):
    with pytest.raises(NanoBananaInvalidRequestError) as error:
        parse_location("output", uri)

    assert str(error.value).startswith(f"Invalid output={uri!r}: ")
    assert allowed in str(error.value)


def test_stores_outside_this_package_name_the_extra_that_brings_them():
    assert parse_location("output", "gs://bkt/x").store.extra == "gcs"
    assert parse_location("output", "wasb://cont@acct01/x").store.extra == "azure"
    assert parse_location("output", "s3://bkt/x").store.extra is None


@pytest.mark.parametrize(
    ("uri", "hooks_module", "extra"),
    [
        ("gs://bkt/x", "airflow.providers.google.cloud.hooks.gcs", "gcs"),
        ("wasb://cont@acct01/x", "airflow.providers.microsoft.azure.hooks.wasb", "azure"),
    ],
)
def test_a_store_whose_provider_is_missing_is_refused_naming_the_extra(monkeypatch, uri, hooks_module, extra):
    monkeypatch.setitem(sys.modules, hooks_module, None)  # what an uninstalled module imports as

    with pytest.raises(NanoBananaInvalidRequestError) as error:
        provider_hooks("output", parse_location("output", uri))

    assert f"pip install 'airflow-provider-nanobanana[{extra}]'" in str(error.value)


def test_s3_and_local_files_need_no_other_provider():
    assert provider_hooks("output", parse_location("output", "s3://bkt/x")) is None
    assert provider_hooks("output", parse_location("output", "file:///srv/images")) is None
