"""The admin endpoints and the Python API they mirror: counters, faults, settings and reset."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator, EmulatorSettings, Fault

from .support import AD_AUTH, ENTERPRISE, ML_KEY

TEXT2IMG = f"{ENTERPRISE}/text2img"
ML_BODY = {"key": ML_KEY, "prompt": "p", "width": 1024}


def test_health_answers_ok(client: httpx.Client) -> None:
    assert client.get("/_emulator/health").json() == {"status": "ok"}


def test_counters_count_accepted_jobs_per_vendor_polls_per_job_and_requests_per_endpoint(
    client: httpx.Client, emulator: Emulator
) -> None:
    job_id = client.post(TEXT2IMG, json=ML_BODY).json()["id"]
    client.post(TEXT2IMG, json={"key": "wrong", "prompt": "p"})
    for _ in range(3):
        client.post(f"{ENTERPRISE}/fetch/{job_id}", json={"key": ML_KEY})
    client.post(
        "/nano-banana/images", headers=AD_AUTH, json={"action": "generate", "prompt": "p", "async": True}
    )
    counters = client.get("/_emulator/counters").json()
    assert counters == emulator.counters()
    assert counters["accepted"] == {"modelslab": 1, "acedata": 1, "gemini": 0}
    assert counters["polls"] == {str(job_id): 3}
    assert counters["requests"] == {"modelslab:text2img": 2, "modelslab:fetch": 3, "acedata:images": 1}


def test_faults_can_be_added_listed_and_cleared_over_http(client: httpx.Client) -> None:
    added = client.post(
        "/_emulator/faults",
        json={
            "vendor": "modelslab",
            "endpoint": "text2img",
            "kind": "rate_limit",
            "times": 2,
            "retry_after": 3,
        },
    )
    assert added.status_code == 201
    assert client.post(TEXT2IMG, json=ML_BODY).headers["retry-after"] == "3"
    [armed] = client.get("/_emulator/faults").json()["faults"]
    assert (armed["kind"], armed["left"]) == ("rate_limit", 1)
    assert client.delete("/_emulator/faults").json() == {"faults": []}
    assert client.post(TEXT2IMG, json=ML_BODY).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"vendor": "modelslab", "endpoint": "text2img", "kind": "explode"},
        {"vendor": "modelslab", "endpoint": "images", "kind": "drop"},
        {"vendor": "modelslab", "endpoint": "text2img", "kind": "partial"},
        {"vendor": "acedata", "endpoint": "tasks", "kind": "drop", "colour": "red"},
    ],
)
def test_an_invalid_fault_is_refused_with_400_and_a_reason(
    client: httpx.Client, fault: dict[str, str]
) -> None:
    answer = client.post("/_emulator/faults", json=fault)
    assert answer.status_code == 400
    assert answer.json()["error"]
    assert client.get("/_emulator/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (
            {"vendor": "acedata", "endpoint": "tasks", "knd": "drop"},
            "unknown field(s) knd; missing field(s) kind",
        ),
        (
            {"vendor": "acedata", "endpoint": "tasks", "kind": "drop", "times": "2"},
            "fault times must be an integer",
        ),
        (
            {"vendor": "acedata", "endpoint": "tasks", "kind": "slow", "delay": "5"},
            "fault delay must be a number",
        ),
        ({"vendor": 3, "endpoint": "tasks", "kind": "drop"}, "fault vendor must be a string, not 3"),
    ],
)
def test_a_malformed_fault_is_answered_in_json_naming_the_field_and_what_each_field_takes(
    client: httpx.Client, fault: dict[str, object], error: str
) -> None:
    answer = client.post("/_emulator/faults", json=fault)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"].startswith(error), body["error"]
    assert "Fault.__init__" not in body["error"], "no Python text"
    assert set(body["fields"]) == {"vendor", "endpoint", "kind", "times", "retry_after", "status", "delay"}
    assert "acedata: files, images, tasks" in body["fields"]["endpoint"]


def test_patch_settings_changes_behaviour_and_reports_the_settings_in_force(
    client: httpx.Client, emulator: Emulator
) -> None:
    changed = client.patch("/_emulator/settings", json={"processing_seconds": 0, "modelslab_keys": ["other"]})
    assert changed.status_code == 200
    assert changed.json()["processing_seconds"] == 0
    assert changed.json()["modelslab_keys"] == ["other"]
    assert client.get("/_emulator/settings").json() == changed.json()
    assert emulator.settings.modelslab_keys == ("other",)
    assert client.post(TEXT2IMG, json={**ML_BODY, "key": "other"}).json()["status"] == "success"
    assert client.post(TEXT2IMG, json=ML_BODY).json()["message"] == "Invalid Api Key"


@pytest.mark.parametrize("change", [{"image_format": "gif"}, {"processing_seconds": -1}, {"colour": "red"}])
def test_patch_settings_refuses_invalid_values_with_400(
    client: httpx.Client, change: dict[str, object]
) -> None:
    answer = client.patch("/_emulator/settings", json=change)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_reset_over_http_forgets_jobs_counters_faults_and_settings(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    job_id = client.post(TEXT2IMG, json=ML_BODY).json()["id"]
    emulator.add_fault(Fault(vendor="*", endpoint="*", kind="rate_limit", times=None))
    assert client.post("/_emulator/reset").json() == {"status": "ok"}
    assert emulator.counters() == {
        "accepted": {"modelslab": 0, "acedata": 0, "gemini": 0},
        "polls": {},
        "requests": {},
    }
    assert emulator.settings.processing_seconds == 0.2
    assert client.post(f"{ENTERPRISE}/fetch/{job_id}", json={"key": ML_KEY}).status_code == 404
    assert client.post(TEXT2IMG, json=ML_BODY).json()["status"] == "processing"
    assert client.post(TEXT2IMG, json=ML_BODY).json()["id"] > job_id


def test_reset_rearms_the_faults_given_at_construction() -> None:
    fault = Fault(vendor="modelslab", endpoint="text2img", kind="server_error")
    with (
        Emulator(settings=EmulatorSettings(faults=(fault,))) as emulator,
        httpx.Client(base_url=emulator.url) as client,
    ):
        assert [client.post(TEXT2IMG, json=ML_BODY).status_code for _ in range(2)] == [500, 200]
        emulator.reset()
        assert client.post(TEXT2IMG, json=ML_BODY).status_code == 500


def test_configure_refuses_unknown_fields_and_invalid_values(emulator: Emulator) -> None:
    with pytest.raises(TypeError):
        emulator.configure(colour="red")
    with pytest.raises(ValueError, match="modelslab_base64_shape"):
        emulator.configure(modelslab_base64_shape="file")
    assert emulator.settings == EmulatorSettings(processing_seconds=0.2)


def test_configure_faults_replaces_the_armed_faults(client: httpx.Client, emulator: Emulator) -> None:
    emulator.add_fault(Fault(vendor="*", endpoint="*", kind="rate_limit", times=None))
    emulator.configure(faults=[{"vendor": "modelslab", "endpoint": "text2img", "kind": "server_error"}])
    assert client.post(TEXT2IMG, json=ML_BODY).status_code == 500
    assert client.post(TEXT2IMG, json=ML_BODY).status_code == 200


def test_jobs_timeline_lists_when_each_job_was_accepted_and_ready_and_its_polls(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=5, processing_seconds_max=9)
    job_id = str(client.post(TEXT2IMG, json=ML_BODY).json()["id"])
    client.post(f"{ENTERPRISE}/fetch/{job_id}", json={"key": ML_KEY})
    (job,) = client.get("/_emulator/jobs").json()["jobs"]
    assert job == emulator.timeline()[0]
    assert (job["vendor"], job["job_id"], job["polls"]) == ("modelslab", job_id, 1)
    assert 5 <= job["ready_at"] - job["created_at"] <= 9
