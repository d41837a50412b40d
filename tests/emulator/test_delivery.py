"""Webhook (ModelsLab) and callback (AceData) POSTs when a job finishes."""

from __future__ import annotations

import httpx

from airflow_provider_nanobanana.emulator import Emulator, Fault

from .conftest import Receiver
from .support import AD_AUTH, ENTERPRISE, ML_KEY, V7

ML_BODY = {"key": ML_KEY, "prompt": "p", "width": 1024}


def test_modelslab_webhook_posts_the_success_payload_with_track_id(
    client: httpx.Client, receiver: Receiver
) -> None:
    job = client.post(
        f"{ENTERPRISE}/text2img", json={**ML_BODY, "webhook": f"{receiver.url}/hook", "track_id": "run-1"}
    ).json()
    path, payload = receiver.next()
    assert path == "/hook"
    done = client.post(f"{ENTERPRISE}/fetch/{job['id']}", json={"key": ML_KEY}).json()
    assert payload == {
        "status": "success",
        "id": job["id"],
        "output": done["output"],
        "generationTime": done["generationTime"],
        "track_id": "run-1",
        "meta": job["meta"],
    }


def test_modelslab_webhook_reports_a_failed_job(
    client: httpx.Client, emulator: Emulator, receiver: Receiver
) -> None:
    emulator.add_fault(Fault(vendor="modelslab", endpoint="v7_text_to_image", kind="job_fails"))
    job = client.post(
        f"{V7}/text-to-image",
        json={
            "key": ML_KEY,
            "model_id": "nano-banana-t2i",
            "prompt": "p",
            "webhook": receiver.url,
            "track_id": 7,
        },
    ).json()
    _, payload = receiver.next()
    assert payload == {"status": "failed", "id": job["id"], "message": "Failed, Try Again", "track_id": 7}


def test_acedata_callback_posts_the_task_response(client: httpx.Client, receiver: Receiver) -> None:
    task_id = client.post(
        "/nano-banana/images",
        headers=AD_AUTH,
        json={"action": "generate", "prompt": "p", "callback_url": f"{receiver.url}/cb", "count": 2},
    ).json()["task_id"]
    path, payload = receiver.next()
    assert path == "/cb"
    task = client.post("/nano-banana/tasks", headers=AD_AUTH, json={"id": task_id}).json()
    assert payload == task["response"]
    assert (payload["success"], payload["task_id"], len(payload["data"])) == (True, task_id, 2)


def test_acedata_callback_carries_the_failure_object(
    client: httpx.Client, emulator: Emulator, receiver: Receiver
) -> None:
    emulator.add_fault(Fault(vendor="acedata", endpoint="images", kind="job_fails"))
    task_id = client.post(
        "/nano-banana/images",
        headers=AD_AUTH,
        json={"action": "generate", "prompt": "p", "callback_url": receiver.url, "async": True},
    ).json()["task_id"]
    _, payload = receiver.next()
    assert payload["success"] is False
    assert payload["task_id"] == task_id
    assert payload["error"] == {"code": "api_error", "message": "generation failed"}


def test_an_unreachable_webhook_does_not_disturb_the_emulator(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    client.post(f"{ENTERPRISE}/text2img", json={**ML_BODY, "webhook": "http://127.0.0.1:9/closed"})
    assert client.post(f"{ENTERPRISE}/text2img", json=ML_BODY).json()["status"] == "success"
    assert emulator.counters()["accepted"]["modelslab"] == 2
