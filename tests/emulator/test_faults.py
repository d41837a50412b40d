"""Every fault kind, as a client sees it over HTTP, plus how faults are matched and counted down."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator, Fault

from .support import AD_AUTH, ENTERPRISE, ML_KEY, V7, wait_for_jobs

TEXT2IMG = f"{ENTERPRISE}/text2img"
ML_BODY = {"key": ML_KEY, "prompt": "p", "width": 1024, "height": 1024}
IMAGES = "/nano-banana/images"
TASKS = "/nano-banana/tasks"
AD_BODY = {"action": "generate", "prompt": "p"}
AD_ASYNC = {**AD_BODY, "async": True}


def _accepted(emulator: Emulator) -> dict[str, int]:
    return emulator.counters()["accepted"]


def test_modelslab_rate_limit_hits_times_requests_with_retry_after_and_creates_no_job(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(
        Fault(vendor="modelslab", endpoint="text2img", kind="rate_limit", times=2, retry_after=1.0)
    )
    refused = [client.post(TEXT2IMG, json=ML_BODY) for _ in range(2)]
    for answer in refused:
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "1"
        assert answer.json() == {
            "status": "error",
            "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
            "retry_after": 1,
        }
    assert _accepted(emulator)["modelslab"] == 0
    assert client.post(TEXT2IMG, json=ML_BODY).json()["status"] == "processing"
    assert emulator.counters()["requests"]["modelslab:text2img"] == 3


def test_acedata_rate_limit_rounds_the_retry_after_header_up(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="rate_limit", retry_after=0.2))
    answer = client.post(IMAGES, headers=AD_AUTH, json=AD_ASYNC)
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["success"] is False
    assert body["error"] == {"code": "too_many_requests", "message": "You have exceeded the rate limit."}
    assert "trace_id" in body
    assert _accepted(emulator)["acedata"] == 0


def test_server_error_uses_each_vendor_body_and_the_chosen_status(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="v7_fetch", kind="server_error"))
    emulator.add_fault(Fault(vendor="acedata", endpoint="tasks", kind="server_error", status=503))
    ml = client.post(f"{V7}/fetch/1", json={"key": ML_KEY})
    assert (ml.status_code, ml.json()) == (
        500,
        {"status": "error", "message": "Internal server error. Please try again."},
    )
    ad = client.post(TASKS, headers=AD_AUTH, json={"id": "x"})
    assert ad.status_code == 503
    assert ad.json()["error"] == {"code": "api_error", "message": "Internal server error."}


def test_server_error_with_task_answers_500_but_the_task_exists_and_finishes(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="server_error_with_task"))
    answer = client.post(IMAGES, headers=AD_AUTH, json=AD_BODY)
    assert answer.status_code == 500
    body = answer.json()
    assert set(body) == {"task_id", "trace_id"}
    assert _accepted(emulator)["acedata"] == 1
    wait_for_jobs()
    task = client.post(TASKS, headers=AD_AUTH, json={"id": body["task_id"]}).json()
    assert task["response"]["success"] is True


@pytest.mark.parametrize(("kind", "accepted"), [("drop", 0), ("drop_after_accept", 1)])
@pytest.mark.parametrize(
    ("path", "body", "headers", "vendor", "endpoint"),
    [
        (TEXT2IMG, ML_BODY, {}, "modelslab", "text2img"),
        (IMAGES, AD_ASYNC, AD_AUTH, "acedata", "images"),
    ],
)
def test_drop_faults_close_the_connection_before_or_after_the_job_exists(
    client: httpx.Client,
    emulator: Emulator,
    path: str,
    body: dict[str, object],
    headers: dict[str, str],
    vendor: str,
    endpoint: str,
    kind: str,
    accepted: int,
) -> None:
    emulator.add_fault(Fault(vendor=vendor, endpoint=endpoint, kind=kind))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(path, json=body, headers=headers)
    assert _accepted(emulator)[vendor] == accepted


def test_slow_delays_the_answer_then_answers_normally(client: httpx.Client, emulator: Emulator) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="slow", delay=0.3))
    started = time.monotonic()
    answer = client.post(TEXT2IMG, json=ML_BODY)
    assert time.monotonic() - started >= 0.3
    assert answer.json()["status"] == "processing"


def test_malformed_sends_200_json_that_does_not_parse_and_creates_no_job(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="*", endpoint="*", kind="malformed", times=2))
    for path, body, headers in ((TEXT2IMG, ML_BODY, {}), (IMAGES, AD_BODY, AD_AUTH)):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        with pytest.raises(json.JSONDecodeError):
            answer.json()
    assert _accepted(emulator) == {"modelslab": 0, "acedata": 0, "gemini": 0}


def test_legacy_shapes_stick_to_the_job_created_under_the_fault(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="legacy"))
    job = client.post(TEXT2IMG, json={**ML_BODY, "samples": 2}).json()
    assert job["status"] == "processing"
    assert "message" not in job
    assert job["messege"] == "Try to fetch request after seconds estimated"
    assert job["output"] == ""
    assert isinstance(job["id"], int)
    pending = client.post(f"{ENTERPRISE}/fetch/{job['id']}", json={"key": ML_KEY}).json()
    assert pending == {"status": "processing", "id": "", "messege": "Request processing", "output": ""}
    wait_for_jobs()
    done = client.post(f"{ENTERPRISE}/fetch/{job['id']}", json={"key": ML_KEY}).json()
    assert done["status"] == "success"
    assert done["output"] == job["future_links"]
    assert done["proxy_links"] == {"0": job["future_links"][0], "1": job["future_links"][1]}


def test_legacy_on_fetch_changes_only_that_fetch(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(processing_seconds=0)
    job = client.post(TEXT2IMG, json=ML_BODY).json()
    emulator.add_fault(Fault(vendor="modelslab", endpoint="fetch", kind="legacy"))
    fetch = f"{ENTERPRISE}/fetch/{job['id']}"
    assert isinstance(client.post(fetch, json={"key": ML_KEY}).json()["proxy_links"], dict)
    assert isinstance(client.post(fetch, json={"key": ML_KEY}).json()["proxy_links"], list)


def test_legacy_validation_errors_key_the_message_by_field(client: httpx.Client, emulator: Emulator) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="legacy"))
    answer = client.post(TEXT2IMG, json={"key": ML_KEY})
    assert answer.json() == {"status": "error", "message": {"prompt": ["prompt is required"]}}


def test_job_fails_on_modelslab_ends_in_the_failed_shape(client: httpx.Client, emulator: Emulator) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="*", kind="job_fails"))
    job = client.post(TEXT2IMG, json=ML_BODY).json()
    assert job["status"] == "processing"
    assert _accepted(emulator)["modelslab"] == 1
    wait_for_jobs()
    assert client.post(f"{ENTERPRISE}/fetch/{job['id']}", json={"key": ML_KEY}).json() == {
        "status": "failed",
        "id": job["id"],
        "message": "Failed, Try Again",
        "output": [],
    }


def test_job_fails_on_acedata_gives_a_failed_task_and_a_sync_500(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="job_fails", times=2))
    task_id = client.post(IMAGES, headers=AD_AUTH, json=AD_ASYNC).json()["task_id"]
    sync = client.post(IMAGES, headers=AD_AUTH, json=AD_BODY)
    assert sync.status_code == 500
    assert sync.json()["success"] is False
    assert sync.json()["error"] == {"code": "api_error", "message": "generation failed"}
    task = client.post(TASKS, headers=AD_AUTH, json={"id": task_id}).json()
    assert task["response"] == {
        "success": False,
        "task_id": task_id,
        "trace_id": task["trace_id"],
        "error": {"code": "api_error", "message": "generation failed"},
    }


def test_moderation_refuses_without_creating_a_job(client: httpx.Client, emulator: Emulator) -> None:
    emulator.add_fault(Fault(vendor="*", endpoint="*", kind="moderation", times=None))
    ml = client.post(TEXT2IMG, json=ML_BODY)
    assert (ml.status_code, ml.json()) == (
        200,
        {
            "status": "error",
            "message": "Your prompt was flagged by our content moderation system (NSFW content detected).",
        },
    )
    emulator.configure(modelslab_http_errors=True)
    assert client.post(TEXT2IMG, json=ML_BODY).status_code == 400
    ad = client.post(IMAGES, headers=AD_AUTH, json=AD_BODY)
    assert ad.status_code == 403
    assert ad.json()["error"]["code"] == "forbidden"
    assert _accepted(emulator) == {"modelslab": 0, "acedata": 0, "gemini": 0}


def test_quota_refuses_with_each_vendor_message(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(modelslab_http_errors=True)
    emulator.add_fault(Fault(vendor="*", endpoint="*", kind="quota", times=None))
    ml = client.post(TEXT2IMG, json=ML_BODY)
    assert (ml.status_code, ml.json()["message"]) == (
        402,
        "Insufficient credits. Please add more credits to continue.",
    )
    ad = client.post(IMAGES, headers=AD_AUTH, json=AD_BODY)
    assert ad.status_code == 403
    assert ad.json()["error"] == {
        "code": "used_up",
        "message": "Your balance is not sufficient for current request, please buy more in Ace Data Cloud.",
    }
    assert _accepted(emulator) == {"modelslab": 0, "acedata": 0, "gemini": 0}


def test_partial_delivers_one_image_fewer_than_count(client: httpx.Client, emulator: Emulator) -> None:
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="partial", times=2))
    three = client.post(IMAGES, headers=AD_AUTH, json={**AD_BODY, "count": 3}).json()
    one = client.post(IMAGES, headers=AD_AUTH, json={**AD_BODY, "count": 1}).json()
    assert (len(three["data"]), len(one["data"])) == (2, 1)


def test_file_faults_expire_truncate_or_replace_the_image(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(processing_seconds=0)
    url = client.post(TEXT2IMG, json=ML_BODY).json()["output"][0]
    emulator.add_fault(Fault(vendor="modelslab", endpoint="files", kind="expired"))
    emulator.add_fault(Fault(vendor="modelslab", endpoint="files", kind="not_image"))
    emulator.add_fault(Fault(vendor="modelslab", endpoint="files", kind="truncated"))
    assert client.get(url).status_code == 404
    html = client.get(url)
    assert (html.status_code, html.headers["content-type"], html.text) == (
        200,
        "image/png",
        "<html>gone</html>",
    )
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(url)
    assert client.get(url).content.startswith(b"\x89PNG")


def test_faults_match_in_the_order_added_and_only_their_vendor_and_endpoint(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="server_error", status=502))
    emulator.add_fault(Fault(vendor="modelslab", endpoint="*", kind="server_error", status=503))
    emulator.add_fault(Fault(vendor="modelslab", endpoint="*", kind="server_error", status=504))
    assert client.post(f"{V7}/fetch/1", json={"key": ML_KEY}).status_code == 503
    assert client.post(TEXT2IMG, json=ML_BODY).status_code == 504
    assert client.post(TEXT2IMG, json=ML_BODY).status_code == 200
    assert client.post(IMAGES, headers=AD_AUTH, json=AD_ASYNC).status_code == 502


def test_times_none_hits_every_matching_request_until_cleared(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="rate_limit", times=None))
    assert {client.post(TEXT2IMG, json=ML_BODY).status_code for _ in range(3)} == {429}
    emulator.clear_faults()
    assert client.post(TEXT2IMG, json=ML_BODY).status_code == 200


def test_a_job_fault_is_not_spent_on_a_request_that_fails_validation(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="text2img", kind="moderation"))
    assert client.post(TEXT2IMG, json={**ML_BODY, "samples": 0}).json()["message"] == (
        "samples must be between 1 and 4"
    )
    assert "moderation" in client.post(TEXT2IMG, json=ML_BODY).json()["message"]
    assert client.post(TEXT2IMG, json=ML_BODY).json()["status"] == "processing"
