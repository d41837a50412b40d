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


def test_a_missing_connection_is_invalid_input_naming_the_conn_id(monkeypatch):
    from airflow_provider_nanobanana import airflow_lookups
    from airflow_provider_nanobanana.hooks import registry

    monkeypatch.setattr(airflow_lookups, "RECHECK_DELAYS", (0.0, 0.0))
    with pytest.raises(exceptions.NanoBananaInvalidRequestError) as error:
        registry.hook_for_connection("nanobanana_nowhere")
    assert error.value.field == "conn_id"
    assert "'nanobanana_nowhere' does not exist (looked up 3 times" in str(error.value)


def test_a_connection_airflow_briefly_reports_missing_is_looked_up_again(monkeypatch, caplog):
    """Airflow says "not found" when its metadata DB does not answer (seen in a PostgreSQL restart)."""
    from airflow.models.connection import Connection
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    from airflow_provider_nanobanana import airflow_lookups
    from airflow_provider_nanobanana.hooks import registry

    answers = iter(
        [AirflowNotFoundException("isn't defined"), Connection("x", conn_type="nanobanana_acedata")]
    )

    def get_connection(conn_id):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(airflow_lookups, "RECHECK_DELAYS", (0.0, 0.0))
    monkeypatch.setattr(registry.BaseHook, "get_connection", staticmethod(get_connection))
    hook = registry.hook_for_connection("nanobanana_acedata_blip")
    assert hook.conn_type == "nanobanana_acedata"
    assert "does not answer, so looking again" in caplog.text
