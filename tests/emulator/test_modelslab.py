"""ModelsLab endpoints over real HTTP: shapes, images, validation and auth."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from airflow_provider_nanobanana.emulator import Emulator

from .support import ENTERPRISE, ML_KEY, V7, picture, wait_for_jobs


def _fetch(client: httpx.Client, path: str, job_id: int) -> dict[str, Any]:
    response = client.post(f"{path}/fetch/{job_id}", json={"key": ML_KEY})
    assert response.status_code == 200
    return response.json()


def test_text2img_is_processing_then_fetch_succeeds_with_the_announced_future_links(
    client: httpx.Client, emulator: Emulator
) -> None:
    submitted = client.post(
        f"{ENTERPRISE}/text2img",
        json={"key": ML_KEY, "prompt": "a red fox", "samples": 2, "width": 1024, "height": 1536},
    )
    assert submitted.status_code == 200
    job = submitted.json()
    assert job["status"] == "processing"
    assert isinstance(job["id"], int)
    assert job["eta"] >= 1
    assert job["message"] == "Try to fetch request after seconds estimated"
    assert job["tip"].startswith("Your image is processing in background")
    assert job["fetch_result"] == f"{emulator.url}{ENTERPRISE}/fetch/{job['id']}"
    assert job["output"] == []
    assert len(job["future_links"]) == 2
    assert all(link.startswith(f"{emulator.url}/generations/") for link in job["future_links"])
    meta = job["meta"]
    assert (meta["prompt"], meta["width"], meta["height"], meta["samples"]) == ("a red fox", 1024, 1536, 2)
    assert meta["seed"] > 0
    assert (meta["base64"], meta["temp"], meta["watermark"]) == ("no", "no", "no")
    assert job["future_links"][0].endswith(f"{meta['file_prefix']}-0.png")

    pending = _fetch(client, ENTERPRISE, job["id"])
    assert pending == {
        "status": "processing",
        "id": job["id"],
        "eta": 1,
        "message": "Request processing",
        "output": [],
    }

    wait_for_jobs()
    done = _fetch(client, ENTERPRISE, job["id"])
    assert done["status"] == "success"
    assert done["id"] == job["id"]
    assert done["output"] == job["future_links"]
    assert done["proxy_links"] == job["future_links"]
    assert done["meta"] == meta
    assert done["nsfw_content_detected"] is False
    assert isinstance(done["generationTime"], float)


def test_samples_are_distinct_pngs_of_the_requested_size_and_repeat_downloads_are_identical(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    done = client.post(
        f"{ENTERPRISE}/text2img",
        json={"key": ML_KEY, "prompt": "four bananas", "samples": 4, "width": 1024, "height": 1088},
    ).json()
    assert done["status"] == "success"
    downloads = [client.get(url) for url in done["output"]]
    assert all(download.status_code == 200 for download in downloads)
    assert all(download.headers["content-type"] == "image/png" for download in downloads)
    assert all(int(download.headers["content-length"]) == len(download.content) for download in downloads)
    assert len({download.content for download in downloads}) == 4
    for download in downloads:
        image = picture(download.content)
        assert (image.format, image.size) == ("PNG", (1024, 1088))
    assert client.get(done["output"][0]).content == downloads[0].content


def test_text2img_defaults_to_a_2048_square_and_reports_a_given_seed(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    done = client.post(f"{ENTERPRISE}/text2img", json={"key": ML_KEY, "prompt": "p", "seed": 42}).json()
    assert (done["meta"]["width"], done["meta"]["height"], done["meta"]["seed"]) == (2048, 2048, 42)
    assert picture(client.get(done["output"][0]).content).size == (2048, 2048)


def test_img2img_takes_one_reference_url_and_defaults_to_1024(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    done = client.post(
        f"{ENTERPRISE}/img2img",
        json={"key": ML_KEY, "prompt": "watercolor", "ref_image": "https://example.com/a.png"},
    ).json()
    assert done["status"] == "success"
    assert (done["meta"]["width"], done["meta"]["height"]) == (1024, 1024)


def test_multi_ref_takes_a_list_of_reference_urls(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(processing_seconds=0)
    done = client.post(
        f"{ENTERPRISE}/multi_ref",
        json={"key": ML_KEY, "prompt": "both", "ref_image": ["https://e.com/1.png", "https://e.com/2.png"]},
    ).json()
    assert done["status"] == "success"
    assert len(done["output"]) == 1


def test_v7_text_to_image_sizes_follow_the_aspect_ratio_and_fetch_on_the_v7_path(
    client: httpx.Client, emulator: Emulator
) -> None:
    job = client.post(
        f"{V7}/text-to-image",
        json={"key": ML_KEY, "model_id": "nano-banana-pro", "prompt": "dragon", "aspect_ratio": "16:9"},
    ).json()
    assert job["status"] == "processing"
    assert job["fetch_result"] == f"{emulator.url}{V7}/fetch/{job['id']}"
    assert job["meta"]["model_id"] == "nano-banana-pro"
    assert (job["meta"]["width"], job["meta"]["height"]) == (1024, 576)
    wait_for_jobs()
    done = _fetch(client, V7, job["id"])
    assert done["status"] == "success"
    assert done["output"] == job["future_links"]
    assert picture(client.get(done["output"][0]).content).size == (1024, 576)


def test_v7_image_to_image_nano_banana_needs_two_images_and_pro_takes_a_list(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(processing_seconds=0)
    path = f"{V7}/image-to-image"
    one_image = {"key": ML_KEY, "model_id": "nano-banana", "prompt": "p", "init_image": "https://e.com/1.png"}
    assert client.post(path, json=one_image).json() == {
        "status": "error",
        "message": "init_image_2 is required and must be an image URL",
    }
    two_images = {**one_image, "init_image_2": "https://e.com/2.png"}
    assert client.post(path, json=two_images).json()["status"] == "success"
    pro = {"key": ML_KEY, "model_id": "nano-banana-pro", "prompt": "p", "aspect_ratio": "3:4"}
    urls = [f"https://e.com/{index}.png" for index in range(15)]
    done = client.post(path, json={**pro, "init_image": urls[:14]}).json()
    assert (done["status"], done["meta"]["width"], done["meta"]["height"]) == ("success", 768, 1024)
    too_many = client.post(path, json={**pro, "init_image": urls}).json()
    assert too_many["status"] == "error"
    assert "14" in too_many["message"]


@pytest.mark.parametrize(
    ("path", "model_id"),
    [(f"{V7}/text-to-image", "nano-banana"), (f"{V7}/image-to-image", "nano-banana-t2i")],
)
def test_v7_rejects_a_model_id_its_endpoint_does_not_serve(
    client: httpx.Client, path: str, model_id: str
) -> None:
    answer = client.post(path, json={"key": ML_KEY, "model_id": model_id, "prompt": "p"})
    assert answer.status_code == 200
    assert answer.json() == {"status": "error", "message": f"Model not found: {model_id}"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt": ""}, "prompt is required"),
        ({"width": 1000}, "width must be between 1024 and 2048 and divisible by 32"),
        ({"height": 4096}, "height must be between 1024 and 2048 and divisible by 32"),
        ({"samples": 5}, "samples must be between 1 and 4"),
        ({"watermark": True}, 'watermark must be "yes" or "no"'),
        ({"seed": "42"}, "seed must be an integer from 0 to 4294967295"),
        ({"seed": 4_294_967_296}, "seed must be an integer from 0 to 4294967295"),
        ({"noise_clip_std": "high"}, "noise_clip_std must be a number from 0 to 10"),
        ({"noise_clip_std": 11}, "noise_clip_std must be a number from 0 to 10"),
        ({"noise_scale_start": 31}, "noise_scale_start must be a number from 0 to 30"),
    ],
)
def test_enterprise_validation_errors_come_as_http_200_status_error(
    client: httpx.Client, emulator: Emulator, changes: dict[str, Any], message: str
) -> None:
    answer = client.post(f"{ENTERPRISE}/text2img", json={"key": ML_KEY, "prompt": "p", **changes})
    assert answer.status_code == 200
    assert answer.json() == {"status": "error", "message": message}
    assert emulator.counters()["accepted"]["modelslab"] == 0


def test_img2img_and_multi_ref_reject_missing_or_wrong_reference_images(client: httpx.Client) -> None:
    missing = client.post(f"{ENTERPRISE}/img2img", json={"key": ML_KEY, "prompt": "p"}).json()
    assert missing == {"status": "error", "message": "ref_image is required"}
    single = client.post(
        f"{ENTERPRISE}/multi_ref", json={"key": ML_KEY, "prompt": "p", "ref_image": "https://e.com/1.png"}
    ).json()
    assert single == {"status": "error", "message": "ref_image must be a list of image URLs"}


@pytest.mark.parametrize("body", [{"prompt": "p"}, {"key": "wrong", "prompt": "p"}])
def test_missing_or_wrong_key_answers_invalid_api_key(client: httpx.Client, body: dict[str, Any]) -> None:
    answer = client.post(f"{ENTERPRISE}/text2img", json=body, headers={"Authorization": f"Bearer {ML_KEY}"})
    assert answer.status_code == 200
    assert answer.json() == {"status": "error", "message": "Invalid Api Key"}


def test_http_errors_switch_sends_the_documented_status_codes(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(modelslab_http_errors=True)
    wrong_key = client.post(f"{ENTERPRISE}/text2img", json={"key": "nope", "prompt": "p"})
    assert (wrong_key.status_code, wrong_key.json()["message"]) == (401, "Invalid Api Key")
    invalid = client.post(f"{ENTERPRISE}/text2img", json={"key": ML_KEY, "prompt": "p", "samples": 9})
    assert (invalid.status_code, invalid.json()["status"]) == (400, "error")
    fetch_key = client.post(f"{ENTERPRISE}/fetch/1", json={"key": "nope"})
    assert fetch_key.status_code == 401


def test_fetch_of_an_unknown_id_is_http_404(client: httpx.Client) -> None:
    answer = client.post(f"{ENTERPRISE}/fetch/12345", json={"key": ML_KEY})
    assert answer.status_code == 404
    assert answer.json() == {"status": "error", "message": "Request id not found"}


def test_processing_seconds_zero_answers_success_at_once(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(processing_seconds=0)
    done = client.post(f"{ENTERPRISE}/text2img", json={"key": ML_KEY, "prompt": "p", "width": 1024}).json()
    assert done["status"] == "success"
    assert len(done["output"]) == 1
    assert done["output"] == done["proxy_links"]


def test_base64_yes_raw_shape_puts_base64_png_in_output(client: httpx.Client, emulator: Emulator) -> None:
    job = client.post(
        f"{ENTERPRISE}/text2img",
        json={"key": ML_KEY, "prompt": "p", "base64": "yes", "width": 1024, "height": 1024, "samples": 2},
    ).json()
    assert job["meta"]["base64"] == "yes"
    wait_for_jobs()
    done = _fetch(client, ENTERPRISE, job["id"])
    images = [picture(base64.b64decode(data)) for data in done["output"]]
    assert [(image.format, image.size) for image in images] == [("PNG", (1024, 1024))] * 2
    # The raw text is exactly the image served at the announced link.
    assert base64.b64decode(done["output"][0]) == client.get(job["future_links"][0]).content


def test_base64_yes_url_shape_links_to_base64_text_files(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(processing_seconds=0, modelslab_base64_shape="url")
    done = client.post(
        f"{ENTERPRISE}/text2img", json={"key": ML_KEY, "prompt": "p", "base64": "yes", "width": 1024}
    ).json()
    assert done["output"][0].endswith(".base64")
    text = client.get(done["output"][0])
    assert text.headers["content-type"].startswith("text/plain")
    assert picture(base64.b64decode(text.content)).format == "PNG"


def test_jpeg_setting_announces_and_serves_jpeg(client: httpx.Client, emulator: Emulator) -> None:
    emulator.configure(processing_seconds=0, image_format="jpeg")
    done = client.post(f"{ENTERPRISE}/text2img", json={"key": ML_KEY, "prompt": "p", "width": 1024}).json()
    assert done["output"][0].endswith(".jpg")
    download = client.get(done["output"][0])
    assert download.headers["content-type"] == "image/jpeg"
    assert picture(download.content).format == "JPEG"


def test_queue_limit_answers_429_once_a_key_has_that_many_processing_jobs(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.configure(modelslab_queue_limit=2)
    body = {"key": ML_KEY, "prompt": "p", "width": 1024}
    assert [client.post(f"{ENTERPRISE}/text2img", json=body).status_code for _ in range(2)] == [200, 200]
    refused = client.post(f"{ENTERPRISE}/text2img", json=body)
    assert refused.status_code == 429
    assert refused.json() == {
        "status": "error",
        "message": "Rate limit exceeded. Maximum 2 queued requests allowed.",
        "retry_after": 30,
    }
    assert emulator.counters()["accepted"]["modelslab"] == 2
    wait_for_jobs()
    assert client.post(f"{ENTERPRISE}/text2img", json=body).status_code == 200


@pytest.mark.parametrize(
    ("endpoint", "answer"),
    [
        ("system_details", {"model_count": 0, "queue_time": 0, "status": "ok"}),
        ("restart_server", {"status": "success", "message": "server restarting"}),
        ("update", {"message": "server updating", "status": "success"}),
        ("clear_cache", {"status": "success", "message": "Cache cleared successfully"}),
        ("clear_queue", {"status": "success", "message": "Queue cleared, server is restarting"}),
    ],
)
def test_enterprise_management_endpoints_answer_as_documented_and_need_the_key(
    client: httpx.Client, emulator: Emulator, endpoint: str, answer: dict[str, Any]
) -> None:
    assert client.post(f"{ENTERPRISE}/{endpoint}", json={"key": ML_KEY}).json() == answer
    refused = client.post(f"{ENTERPRISE}/{endpoint}", json={"key": "wrong"}).json()
    assert refused == {"status": "error", "message": "Invalid Api Key"}
    assert emulator.counters()["accepted"]["modelslab"] == 0, "management calls are free"
