"""A destination that is not there fails before payment, on each store's real API."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaDestinationError
from airflow_provider_nanobanana.stores.container_check import check_container
from airflow_provider_nanobanana.stores.location import parse_location

from .conftest import BUCKET

LOG = logging.getLogger(__name__)


def test_a_gcs_bucket_that_is_there_passes_and_a_missing_one_fails_naming_it(gcs_connection):
    check_container(parse_location("output", f"gs://{BUCKET}/posters"), gcs_connection, LOG)

    with pytest.raises(NanoBananaDestinationError) as error:
        check_container(parse_location("output", "gs://no-such-bucket/posters"), gcs_connection, LOG)

    assert "GCS bucket 'no-such-bucket' does not exist" in str(error.value)
    assert error.value.conn_id == gcs_connection


def test_an_azure_container_that_is_there_passes_and_a_missing_one_fails_naming_it(wasb_connection):
    check_container(
        parse_location("output", f"wasb://{BUCKET}@devstoreaccount1/posters"), wasb_connection, LOG
    )

    with pytest.raises(NanoBananaDestinationError) as error:
        check_container(parse_location("output", "wasb://missing@devstoreaccount1/x"), wasb_connection, LOG)

    assert "Azure container 'missing'" in str(error.value)


def test_a_local_path_must_lead_to_a_directory_this_worker_may_write(tmp_path):
    check_container(parse_location("output", f"file://{tmp_path}"), None, LOG)
    check_container(parse_location("output", f"file://{tmp_path}/made/as/images/land"), None, LOG)
    (tmp_path / "a-file").write_text("")

    with pytest.raises(NanoBananaDestinationError, match="is not a directory this worker may write"):
        check_container(parse_location("output", f"file://{tmp_path}/a-file/images"), None, LOG)
