"""Errors no retry can fix fail the Airflow task at once; the rest keep their retries."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_nanobanana import exceptions

WITHOUT_RETRY = [
    exceptions.NanoBananaInvalidRequestError,
    exceptions.NanoBananaContentPolicyError,
    exceptions.NanoBananaQuotaError,
    exceptions.NanoBananaPossiblyBilledError,
    exceptions.NanoBananaMissingImagesError,
]
WITH_RETRY = [
    exceptions.NanoBananaRateLimitError,
    exceptions.NanoBananaServerError,
    exceptions.NanoBananaTimeoutError,
    exceptions.NanoBananaJobFailedError,
    exceptions.NanoBananaSubmissionUnknownError,
    exceptions.NanoBananaImageTransferError,
    exceptions.NanoBananaAuthenticationError,
]


@pytest.mark.parametrize("error_class", WITHOUT_RETRY)
def test_errors_a_retry_cannot_fix_are_airflow_fail_exceptions(error_class):
    error = error_class("no")
    assert isinstance(error, AirflowFailException)
    assert isinstance(error, exceptions.NanoBananaError), "still caught by the provider's base class"


@pytest.mark.parametrize("error_class", WITH_RETRY)
def test_transient_errors_keep_airflow_retries(error_class):
    assert not isinstance(error_class("maybe later"), AirflowFailException)


def test_a_missing_connection_is_invalid_input_naming_the_conn_id():
    from airflow_provider_nanobanana.hooks.registry import hook_for_connection

    with pytest.raises(exceptions.NanoBananaInvalidRequestError) as error:
        hook_for_connection("nanobanana_nowhere")
    assert error.value.field == "conn_id"
    assert "'nanobanana_nowhere' does not exist" in str(error.value)
