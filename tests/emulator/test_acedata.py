"""AceData endpoints over real HTTP: sync and async images, tasks, validation and auth."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator

from .support import AD_AUTH, PROCESSING, picture, wait_for_jobs

IMAGES = "/nano-banana/images"
TASKS = "/nano-banana/tasks"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _error(answer: httpx.Response) -> tuple[int, str, str]:
    body = answer.json()
    assert body["success"] is False
    assert UUID.fullmatch(body["trace_id"])
    return answer.status_code, body["error"]["code"], body["error"]["message"]


def test_sync_generate_blocks_for_the_processing_time_then_answers_the_data(
    client: httpx.Client, emulator: Emulator
) -> None:
    started = time.monotonic()
    answer = client.post(IMAGES, headers=AD_AUTH, json={"action": "generate", "prompt": "a cat", "count": 2})
    assert time.monotonic() - started >= PROCESSING
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"success", "task_id", "trace_id", "data"}
    assert body["success"] is True
    assert UUID.fullmatch(body["task_id"])
    assert UUID.fullmatch(body["trace_id"])
    assert [item["prompt"] for item in body["data"]] == ["a cat", "a cat"]
    urls = [item["image_url"] for item in body["data"]]
    assert all(re.fullmatch(rf"{emulator.url}/nanobanana/{UUID.pattern}\.png", url) for url in urls)
    images = [client.get(url).content for url in urls]
    assert images[0] != images[1]
    assert [picture(image).size for image in images] == [(1024, 1024)] * 2
    assert emulator.counters()["accepted"]["acedata"] == 1


@pytest.mark.parametrize(
    ("model", "aspect_ratio", "resolution", "size"),
    [
        ("nano-banana", "9:16", "1K", (768, 1344)),
        ("nano-banana-pro", "3:2", "2K", (2496, 1664)),
        ("nano-banana-2:official", "4:3", "2K", (2368, 1728)),
    ],
)
def test_image_size_follows_aspect_ratio_and_resolution(
    client: httpx.Client,
    emulator: Emulator,
    model: str,
    aspect_ratio: str,
    resolution: str,
    size: tuple[int, int],
) -> None:
    emulator.configure(processing_seconds=0)
    body = {
        "action": "generate",
        "prompt": "p",
        "model": model,
        "aspect_ratio": aspect_ratio,
        "resolution": resolution,
    }
    answer = client.post(IMAGES, headers=AD_AUTH, json=body).json()
    assert picture(client.get(answer["data"][0]["image_url"]).content).size == size


def test_edit_without_aspect_ratio_is_square_and_accepts_a_data_uri(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    inline = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake bytes").decode()
    answer = client.post(
        IMAGES,
        headers=AD_AUTH,
        json={"action": "edit", "prompt": "hat", "image_urls": ["https://e.com/a.png", inline]},
    )
    assert answer.status_code == 200
    assert picture(client.get(answer.json()["data"][0]["image_url"]).content).size == (1024, 1024)


def test_async_answers_only_the_task_id_and_tasks_shows_pending_then_finished(
    client: httpx.Client, emulator: Emulator
) -> None:
    request = {"action": "generate", "prompt": "a white siamese cat", "async": True, "aspect_ratio": "16:9"}
    started = time.monotonic()
    answer = client.post(IMAGES, headers=AD_AUTH, json=request)
    assert time.monotonic() - started < PROCESSING
    assert answer.status_code == 200
    task_id = answer.json()["task_id"]
    assert answer.json() == {"task_id": task_id}

    pending = client.post(TASKS, headers=AD_AUTH, json={"id": task_id, "action": "retrieve"}).json()
    assert set(pending) == {
        "_id", "id", "api_id", "application_id", "created_at", "started_at",
        "credential_id", "request", "trace_id", "type", "user_id",
    }  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{24}", pending["_id"])
    assert pending["id"] == task_id
    assert pending["api_id"] == "9d8a117e-31ca-4322-a0fd-1771296ec610"
    assert pending["request"] == request
    assert pending["type"] == "images"
    assert isinstance(pending["created_at"], float)
    assert pending["started_at"] >= pending["created_at"]

    wait_for_jobs()
    done = client.post(TASKS, headers=AD_AUTH, json={"id": task_id}).json()
    assert {key: done[key] for key in pending} == pending
    assert done["finished_at"] >= done["started_at"]
    assert done["elapsed"] == round(done["finished_at"] - done["started_at"], 3)
    response = done["response"]
    assert (response["success"], response["task_id"], response["trace_id"]) == (
        True,
        task_id,
        done["trace_id"],
    )
    assert len(response["data"]) == 1
    assert picture(client.get(response["data"][0]["image_url"]).content).size == (1344, 768)
    assert emulator.counters()["polls"][task_id] == 2


def test_callback_url_alone_also_answers_the_task_id_at_once(client: httpx.Client) -> None:
    answer = client.post(
        IMAGES,
        headers=AD_AUTH,
        json={"action": "generate", "prompt": "p", "callback_url": "http://127.0.0.1:9/unused"},
    )
    assert answer.status_code == 200
    assert list(answer.json()) == ["task_id"]


def test_retrieve_batch_returns_known_tasks_in_request_order_and_counts_a_poll_each(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    first, second = (
        client.post(IMAGES, headers=AD_AUTH, json={"action": "generate", "prompt": prompt}).json()["task_id"]
        for prompt in ("one", "two")
    )
    batch = client.post(
        TASKS, headers=AD_AUTH, json={"ids": [second, "unknown-id", first], "action": "retrieve_batch"}
    ).json()
    assert batch["count"] == 2
    assert [item["id"] for item in batch["items"]] == [second, first]
    assert all(item["response"]["success"] for item in batch["items"])
    polls = emulator.counters()["polls"]
    assert (polls[first], polls[second]) == (1, 1)
    assert "unknown-id" not in polls


def test_unknown_task_is_404_not_found(client: httpx.Client) -> None:
    answer = client.post(TASKS, headers=AD_AUTH, json={"id": "6a97bf49-df50-4129-9e46-119aa9fca73c"})
    assert _error(answer) == (404, "not_found", "Task not found.")


def test_tasks_rejects_an_unknown_action_and_a_missing_id(client: httpx.Client) -> None:
    assert _error(client.post(TASKS, headers=AD_AUTH, json={"id": "x", "action": "delete"}))[:2] == (
        400,
        "bad_request",
    )
    assert _error(client.post(TASKS, headers=AD_AUTH, json={"action": "retrieve"})) == (
        400,
        "bad_request",
        "id is required.",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": "draw"}, "action is invalid, it must be one of: generate, edit."),
        ({"prompt": " "}, "prompt is required."),
        ({"model": "nano-banana-3"}, "model is invalid."),
        ({"count": 5}, "count must be an integer between 1 and 4."),
        (
            {"aspect_ratio": "5:4"},
            "aspect_ratio is invalid, it must be one of: 1:1, 3:2, 2:3, 16:9, 9:16, 4:3, 3:4.",
        ),
        (
            {"resolution": "2K"},
            "resolution 2K is not supported by model nano-banana, which supports only 1K.",
        ),
        (
            {"model": "nano-banana-2-lite:official", "resolution": "4K"},
            "resolution 4K is not supported by model nano-banana-2-lite:official, which supports only 1K.",
        ),
        ({"async": "yes"}, "async must be a boolean."),
        ({"action": "edit"}, "image_urls is required when action is edit."),
        (
            {"image_urls": ["ftp://e.com/a.png"]},
            "image_urls[0] must be an http(s) URL or a data:image/...;base64, URI.",
        ),
    ],
)
def test_images_validation_errors_are_400_bad_request(
    client: httpx.Client, emulator: Emulator, changes: dict[str, Any], message: str
) -> None:
    answer = client.post(IMAGES, headers=AD_AUTH, json={"action": "generate", "prompt": "p", **changes})
    assert _error(answer) == (400, "bad_request", message)
    assert emulator.counters()["accepted"]["acedata"] == 0


def test_inline_image_over_10_mb_is_413_request_too_large(client: httpx.Client) -> None:
    inline = "data:image/png;base64," + base64.b64encode(bytes(10 * 1024 * 1024 + 1)).decode()
    answer = client.post(
        IMAGES, headers=AD_AUTH, json={"action": "edit", "prompt": "p", "image_urls": [inline]}
    )
    assert _error(answer) == (413, "request_too_large", "Request body is too large.")


def test_missing_token_is_400_no_token_and_wrong_token_401_invalid_token(client: httpx.Client) -> None:
    body = {"action": "generate", "prompt": "p"}
    assert _error(client.post(IMAGES, json=body))[:2] == (400, "no_token")
    assert _error(client.post(TASKS, json={"id": "x"}))[:2] == (400, "no_token")
    wrong = client.post(IMAGES, json=body, headers={"Authorization": "Bearer wrong"})
    assert _error(wrong) == (401, "invalid_token", "The specified token is invalid or wrong.")


def test_unknown_nano_banana_path_is_404_no_api(client: httpx.Client) -> None:
    assert _error(client.post("/nano-banana/videos", headers=AD_AUTH, json={}))[:2] == (404, "no_api")
