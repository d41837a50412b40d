"""Fault and settings validation, and the CLI spelling of a fault."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.emulator import EmulatorSettings, Fault
from airflow_provider_nanobanana.emulator.settings import parse_fault_spec


def test_fault_spec_parses_vendor_endpoint_kind_and_options() -> None:
    assert parse_fault_spec("modelslab:text2img:rate_limit:times=2,retry_after=1.5") == Fault(
        vendor="modelslab", endpoint="text2img", kind="rate_limit", times=2, retry_after=1.5
    )
    assert parse_fault_spec("acedata:*:server_error:status=503,times=none") == Fault(
        vendor="acedata", endpoint="*", kind="server_error", status=503, times=None
    )
    assert parse_fault_spec("*:*:slow:delay=0.5") == Fault(vendor="*", endpoint="*", kind="slow", delay=0.5)


@pytest.mark.parametrize(
    "spec",
    [
        "modelslab:text2img",
        "modelslab:text2img:rate_limit:times",
        "modelslab:text2img:rate_limit:colour=red",
        "modelslab:text2img:rate_limit:times=0",
        "modelslab:images:drop",
        "acedata:images:legacy",
        "acedata:tasks:job_fails",
        "nobody:*:drop",
    ],
)
def test_bad_fault_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each spec breaks a different rule
        parse_fault_spec(spec)


def test_wildcard_faults_hit_only_endpoints_where_their_kind_makes_sense() -> None:
    partial = Fault(vendor="*", endpoint="*", kind="partial")
    assert partial.matches("acedata", "images")
    assert not partial.matches("modelslab", "text2img")
    assert not partial.matches("acedata", "tasks")
    expired = Fault(vendor="*", endpoint="*", kind="expired")
    assert expired.matches("modelslab", "files")
    assert not expired.matches("modelslab", "fetch")


def test_settings_accept_json_shaped_values_and_refuse_bad_ones() -> None:
    settings = EmulatorSettings(
        acedata_tokens=["a", "b"], faults=[{"vendor": "*", "endpoint": "*", "kind": "drop"}]
    )
    assert settings.acedata_tokens == ("a", "b")
    assert settings.faults == (Fault(vendor="*", endpoint="*", kind="drop"),)
    with pytest.raises(ValueError, match="modelslab_keys"):
        EmulatorSettings(modelslab_keys="one-key")
    with pytest.raises(ValueError, match="modelslab_queue_limit"):
        EmulatorSettings(modelslab_queue_limit=0)


def test_job_durations_spread_between_the_bounds_and_etas_stay_within_the_noise() -> None:
    settings = EmulatorSettings(processing_seconds=5, processing_seconds_max=60, eta_noise=0.25)
    durations = [settings.draw_processing_seconds() for _ in range(500)]
    assert 5 <= min(durations) < 10
    assert 55 < max(durations) <= 60
    estimates = [settings.estimate(40.0) for _ in range(500)]
    assert 30 <= min(estimates) < 34
    assert 46 < max(estimates) <= 50
    assert EmulatorSettings(processing_seconds=3).draw_processing_seconds() == 3
    with pytest.raises(ValueError, match="processing_seconds_max"):
        EmulatorSettings(processing_seconds=5, processing_seconds_max=4)
    with pytest.raises(ValueError, match="eta_noise"):
        EmulatorSettings(eta_noise=1.0)
