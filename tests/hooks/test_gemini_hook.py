"""GeminiHook against the emulator over real HTTP: every endpoint, state, error and blocked answer."""

from __future__ import annotations

import base64
import logging
import time

import pytest

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.emulator.settings import DEFAULT_GEMINI_KEY
from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaContentPolicyError,
    NanoBananaError,
    NanoBananaInvalidRequestError,
    NanoBananaJobNotFoundError,
    NanoBananaPossiblyBilledError,
    NanoBananaQuotaError,
    NanoBananaRateLimitError,
    NanoBananaServerError,
    NanoBananaSubmissionUnknownError,
)
from airflow_provider_nanobanana.hooks import gemini as gemini_module
from airflow_provider_nanobanana.hooks.gemini import GeminiHook
from airflow_provider_nanobanana.jobs import ImageJobRequest, ImageJobResult, JobKind, JobState

POSTER = ImageJobRequest(kind=JobKind.GENERATE, prompt="a banana poster", aspect_ratio="16:9")
SMALL_PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()


def items(count: int) -> list[tuple[str, ImageJobRequest]]:
    return [
        (str(index), ImageJobRequest(kind=JobKind.GENERATE, prompt=f"fruit {index}"))
        for index in range(count)
    ]


def finished(hook: GeminiHook, batch: ImageJobResult) -> ImageJobResult:
    deadline = time.monotonic() + 10
    while not (batch := hook.get_job(batch.job_id)).state.is_terminal:
        assert time.monotonic() < deadline, "the batch never finished"
        time.sleep(0.05)
    return batch


def read_all(hook: GeminiHook, batch: ImageJobResult, count: int) -> dict[str, object]:
    outcomes: dict[str, object] = {}

    def take(key, outcome):
        outcomes[key] = outcome.images[0].spool.read(8) if isinstance(outcome, ImageJobResult) else outcome

    hook.read_bulk_results(batch, [str(index) for index in range(count)], take)
    return outcomes


# -- connection ---------------------------------------------------------------------------------


def test_test_connection_reads_the_model_for_free(gemini, emulator):
    ok, message = gemini.test_connection()
    assert ok
    assert "gemini-3.1-flash-image" in message, "the default model: Nano Banana 2"
    assert emulator.counters()["accepted"]["gemini"] == 0
    assert emulator.counters()["requests"] == {"gemini:models": 1}


def test_a_wrong_key_is_an_authentication_error_google_sends_as_400(gemini, emulator):
    emulator.configure(gemini_keys=("another-key",))
    with pytest.raises(NanoBananaAuthenticationError, match="API key not valid") as raised:
        gemini.submit(POSTER)
    assert raised.value.status_code == 400
    assert emulator.counters()["accepted"]["gemini"] == 0
    ok, message = gemini.test_connection()
    assert not ok
    assert "NanoBananaAuthenticationError" in message


def test_the_key_travels_in_a_header_never_in_a_url(gemini, caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    gemini.submit(POSTER)
    gemini.test_connection()
    urls = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert urls
    assert all("key=" not in url and DEFAULT_GEMINI_KEY not in url for url in urls)


# -- interactive --------------------------------------------------------------------------------


def test_an_interactive_answer_carries_its_image_in_a_spool_and_its_text(gemini, emulator):
    result = gemini.submit(POSTER)
    assert result.state is JobState.SUCCEEDED
    (image,) = result.images
    png = image.spool.read()
    assert png.startswith(b"\x89PNG")
    assert png[16:24] == (1344).to_bytes(4, "big") + (768).to_bytes(4, "big"), "16:9 at 1K"
    assert result.metadata["text"].startswith("Here is your image")
    assert result.to_dict(with_payloads=False)["images"] == [{"inline": True}], "no bytes serialized"
    assert emulator.counters()["accepted"]["gemini"] == 1


@pytest.mark.parametrize(
    ("model", "resolution", "image_tokens", "thought_tokens"),
    [("gemini-3.1-flash-image", "2K", 1680, 0), ("gemini-3-pro-image", "4K", 2000, 800)],
)
def test_each_answer_reports_its_usage_and_costs_its_tokens_at_the_published_rates(
    gemini, emulator, model, resolution, image_tokens, thought_tokens
):
    request = ImageJobRequest(kind=JobKind.GENERATE, prompt="a pear", model=model, resolution=resolution)
    result = gemini.submit(request)

    usage = result.metadata["usage"]
    assert (usage["image"], usage["text"]) == (image_tokens, 12 + thought_tokens), "caption and thoughts"
    rates = {"gemini-3.1-flash-image": (0.5, 60.0, 3.0), "gemini-3-pro-image": (2.0, 120.0, 12.0)}[model]
    expected = (usage["prompt"] * rates[0] + usage["image"] * rates[1] + usage["text"] * rates[2]) / 1e6
    assert gemini.unit_price(request).cost(1, usage) == (pytest.approx(expected, abs=1e-6), "reported")


def test_an_edit_sends_its_input_image_inline(gemini, emulator):
    result = gemini.submit(ImageJobRequest(kind=JobKind.EDIT, prompt="add a hat", images=(SMALL_PNG,)))
    assert result.state is JobState.SUCCEEDED


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("moderation", "PROHIBITED_CONTENT"), ("no_image", "IMAGE_SAFETY")],
)
def test_a_blocked_answer_is_a_content_policy_error_with_its_reason(gemini, emulator, kind, reason):
    emulator.add_fault(Fault("gemini", "generate", kind))
    with pytest.raises(NanoBananaContentPolicyError, match=reason) as raised:
        gemini.submit(POSTER)
    assert raised.value.code == reason
    assert emulator.counters()["requests"]["gemini:generate"] == 1, "a refusal is not retried"


def test_a_429_waits_the_retry_delay_google_asked_for(emulator):
    emulator.add_fault(Fault("gemini", "generate", "rate_limit", retry_after=7))
    with GeminiHook(max_retries=0) as hook, pytest.raises(NanoBananaRateLimitError) as raised:
        hook.submit(POSTER)
    assert raised.value.retry_after == 7.0
    assert raised.value.code == "RESOURCE_EXHAUSTED"


def test_a_daily_quota_429_is_a_quota_error_no_retry_helps(gemini, emulator):
    emulator.add_fault(Fault("gemini", "generate", "quota"))
    with pytest.raises(NanoBananaQuotaError):
        gemini.submit(POSTER)
    assert emulator.counters()["requests"]["gemini:generate"] == 1


@pytest.mark.parametrize("status", [500, 503])
def test_an_explicit_server_error_is_retried_since_nothing_was_created(gemini, emulator, status):
    emulator.add_fault(Fault("gemini", "generate", "server_error", status=status))
    assert gemini.submit(POSTER).state is JobState.SUCCEEDED
    assert emulator.counters()["requests"]["gemini:generate"] == 2
    assert emulator.counters()["accepted"]["gemini"] == 1


def test_server_errors_past_the_budget_are_server_errors(emulator):
    emulator.add_fault(Fault("gemini", "generate", "server_error", status=503, times=None))
    with GeminiHook(max_retries=1, retry_delay=0.01) as hook, pytest.raises(NanoBananaServerError):
        hook.submit(POSTER)


@pytest.mark.parametrize("kind", ["drop_after_accept", "malformed"])
def test_a_lost_or_unreadable_answer_is_never_sent_again(gemini, emulator, kind):
    emulator.add_fault(Fault("gemini", "generate", kind))
    with pytest.raises(NanoBananaSubmissionUnknownError):
        gemini.submit(POSTER)
    assert emulator.counters()["requests"]["gemini:generate"] == 1


def test_an_interactive_answer_cannot_be_fetched_again(gemini, emulator):
    result = gemini.submit(POSTER)
    with pytest.raises(NanoBananaJobNotFoundError, match="cannot be fetched again"):
        gemini.get_job(result.job_id)


# -- validation (nothing sent) ------------------------------------------------------------------

NANO_BANANA = "gemini-2.5-flash-image"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ImageJobRequest(kind=JobKind.GENERATE, prompt="p", model="gemini-9"), "model"),
        (
            ImageJobRequest(kind=JobKind.GENERATE, prompt="p", model=NANO_BANANA, aspect_ratio="1:8"),
            "aspect_ratio",
        ),
        (
            ImageJobRequest(kind=JobKind.GENERATE, prompt="p", model=NANO_BANANA, resolution="2K"),
            "resolution",
        ),
        (
            ImageJobRequest(
                kind=JobKind.GENERATE, prompt="p", model="gemini-3-pro-image-preview", resolution="512"
            ),
            "resolution",
        ),
        (ImageJobRequest(kind=JobKind.GENERATE, prompt="p", count=2), "count"),
        (ImageJobRequest(kind=JobKind.GENERATE, prompt="p", seed=3), "seed"),
        (ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=("https://example.com/a.png",)), "images[0]"),
        (
            ImageJobRequest(kind=JobKind.EDIT, prompt="p", model=NANO_BANANA, images=(SMALL_PNG,) * 4),
            "images",
        ),
        (ImageJobRequest(kind=JobKind.EDIT, prompt="p"), "images"),
    ],
)
def test_bad_input_is_refused_before_any_request(gemini, emulator, request_, field):
    with pytest.raises(NanoBananaInvalidRequestError) as raised:
        gemini.submit(request_)
    assert raised.value.field == field
    assert emulator.counters()["requests"] == {}


def test_inline_images_over_the_request_limit_are_refused_before_sending(gemini, emulator, monkeypatch):
    monkeypatch.setattr(gemini_module, "REQUEST_LIMIT", 100)
    with pytest.raises(NanoBananaInvalidRequestError, match="at most 100 bytes"):
        gemini.submit(ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=(SMALL_PNG, SMALL_PNG)))
    assert emulator.counters()["requests"] == {}


def test_the_3_1_flash_model_takes_the_extra_ratios_and_512(gemini):
    model = "gemini-3.1-flash-image-preview"
    gemini.validate(
        ImageJobRequest(kind=JobKind.GENERATE, prompt="p", model=model, aspect_ratio="8:1", resolution="512")
    )


# -- batches ------------------------------------------------------------------------------------


def test_a_batch_is_uploaded_created_polled_and_its_results_streamed(gemini, emulator):
    batch = gemini.submit_bulk(items(3), "nanobanana-test")
    assert batch.state is JobState.PENDING
    assert batch.job_id.startswith("batches/")
    done = finished(gemini, batch)
    assert done.state is JobState.SUCCEEDED
    assert done.metadata["succeeded_count"] == 3
    outcomes = read_all(gemini, done, 3)
    assert outcomes == dict.fromkeys(("0", "1", "2"), b"\x89PNG\r\n\x1a\n")
    counters = emulator.counters()
    assert counters["accepted"]["gemini"] == 1
    assert counters["requests"]["gemini:upload"] == 2, "resumable: start, then upload and finalize"


@pytest.mark.parametrize("prefix", ["BATCH_STATE_", "JOB_STATE_"])
def test_both_spellings_of_the_batch_states_are_read(gemini, emulator, prefix):
    emulator.configure(gemini_state_prefix=prefix)
    batch = gemini.submit_bulk(items(1), "spelling")
    assert batch.metadata["batch_state"] == "PENDING"
    assert finished(gemini, batch).state is JobState.SUCCEEDED


@pytest.mark.parametrize(
    ("kind", "state", "words"),
    [("job_fails", "FAILED", "the batch failed"), ("expired", "EXPIRED", "more than 48 hours")],
)
def test_a_failed_or_expired_batch_is_a_failed_job_saying_why(gemini, emulator, kind, state, words):
    emulator.add_fault(Fault("gemini", "batches", kind))
    done = finished(gemini, gemini.submit_bulk(items(2), "ends-badly"))
    assert (done.state, done.error_code) == (JobState.FAILED, state)
    assert words in done.error_message


def test_a_failed_batch_echoing_the_key_names_no_key(gemini, emulator):
    emulator.add_fault(Fault("gemini", "batches", "job_fails_echoing_key"))
    done = finished(gemini, gemini.submit_bulk(items(1), "echo"))
    assert DEFAULT_GEMINI_KEY not in str(done.to_dict())
    assert "***" in done.error_message


def test_per_line_errors_and_blocks_are_told_apart(gemini, emulator):
    emulator.add_fault(Fault("gemini", "batches", "moderation"))
    emulator.add_fault(Fault("gemini", "batches", "partial"))
    first = finished(gemini, gemini.submit_bulk(items(3), "blocked-line"))
    assert isinstance(read_all(gemini, first, 3)["0"], NanoBananaContentPolicyError)
    second = finished(gemini, gemini.submit_bulk(items(3), "failed-line"))
    outcomes = read_all(gemini, second, 3)
    assert isinstance(outcomes["2"], NanoBananaServerError)
    assert outcomes["0"] == outcomes["1"] == b"\x89PNG\r\n\x1a\n"


def test_a_results_download_cut_short_is_read_again(gemini, emulator):
    done = finished(gemini, gemini.submit_bulk(items(3), "cut"))
    emulator.add_fault(Fault("gemini", "download", "truncated"))
    assert set(read_all(gemini, done, 3)) == {"0", "1", "2"}
    assert emulator.counters()["requests"]["gemini:download"] == 2


def test_a_lost_batch_is_found_by_its_display_name_across_pages(gemini, emulator, monkeypatch):
    monkeypatch.setattr(gemini_module, "_LIST_PAGE", 1)
    for name in ("other-1", "wanted", "other-2"):
        gemini.submit_bulk(items(1), name)
    found = gemini.find_bulk("wanted", sent_at=time.time())
    assert found is not None
    assert found.metadata["display_name"] == "wanted"


def test_a_batch_list_longer_than_the_search_reads_is_possibly_billed_not_none_created(
    gemini, emulator, monkeypatch
):
    monkeypatch.setattr(gemini_module, "_LIST_PAGE", 1)
    monkeypatch.setattr(gemini_module, "_LIST_PAGES", 2)
    for name in ("other-1", "other-2", "other-3"):
        gemini.submit_bulk(items(1), name)
    with pytest.raises(NanoBananaPossiblyBilledError, match="more than 2 batches"):
        gemini.find_bulk("lost", sent_at=time.time() - 3600)


def test_no_batch_of_that_name_is_none_once_the_request_cannot_be_in_flight(gemini, emulator):
    assert gemini.find_bulk("never-made", sent_at=time.time() - 3600) is None


def test_two_batches_of_one_name_cannot_be_told_apart(gemini, emulator):
    gemini.submit_bulk(items(1), "twice")
    gemini.submit_bulk(items(1), "twice")
    with pytest.raises(NanoBananaPossiblyBilledError, match="2 batches"):
        gemini.find_bulk("twice", sent_at=time.time())


def test_a_batch_creation_answer_lost_is_not_sent_again(gemini, emulator):
    emulator.add_fault(Fault("gemini", "batches", "drop_after_accept"))
    with pytest.raises(NanoBananaSubmissionUnknownError):
        gemini.submit_bulk(items(2), "lost")
    assert emulator.counters()["accepted"]["gemini"] == 1
    assert gemini.find_bulk("lost", sent_at=time.time()) is not None


def test_an_unknown_batch_is_job_not_found(gemini, emulator):
    with pytest.raises(NanoBananaJobNotFoundError):
        gemini.get_job("batches/does-not-exist")


def test_one_batch_runs_one_model(gemini):
    with pytest.raises(NanoBananaInvalidRequestError) as raised:
        gemini.validate_batch(
            [POSTER, ImageJobRequest(kind=JobKind.GENERATE, prompt="p", model="gemini-3-pro-image-preview")]
        )
    assert raised.value.field == "items[1].model"


async def test_triggers_poll_batches_over_the_async_client(gemini, emulator):
    batch = gemini.submit_bulk(items(1), "async")
    polled = await gemini.aget_jobs([batch.job_id])
    assert polled[batch.job_id].metadata["display_name"] == "async"
    await gemini.aclose()


def test_every_error_names_its_vendor(gemini, emulator):
    emulator.configure(gemini_keys=())
    with pytest.raises(NanoBananaError) as raised:
        gemini.get_job("batches/x")
    assert raised.value.vendor == "Gemini"


# -- December 2026: thinking models, partial batches, gRPC-coded lines --------------------------


def test_a_thinking_models_answer_lands_only_its_final_image_and_says_how_many_drafts_it_skipped(
    gemini, emulator, task_log
):
    pro = ImageJobRequest(kind=JobKind.GENERATE, prompt="a banana poster", model="gemini-3-pro-image")
    result = gemini.submit(pro)

    (image,) = result.images
    assert image.spool.read(8) == b"\x89PNG\r\n\x1a\n"
    assert result.metadata["drafts_skipped"] == 2
    assert "(2 thought drafts skipped)" in task_log()


def test_a_batch_with_failed_lines_ends_partially_succeeded_and_each_line_is_read_by_its_grpc_code(
    gemini, emulator
):
    for code in (3, 13):  # the last two lines: INVALID_ARGUMENT, then INTERNAL
        emulator.add_fault(Fault("gemini", "batches", "line_error", status=code))
    done = finished(gemini, gemini.submit_bulk(items(4), "partly"))

    assert (done.state, done.metadata["batch_state"]) == (JobState.SUCCEEDED, "PARTIALLY_SUCCEEDED")
    outcomes = read_all(gemini, done, 4)
    assert outcomes["0"] == outcomes["1"] == b"\x89PNG\r\n\x1a\n"
    assert type(outcomes["2"]) is NanoBananaInvalidRequestError, "gRPC 3 is no HTTP 3xx: a refusal"
    assert type(outcomes["3"]) is NanoBananaServerError, "gRPC 13 (INTERNAL): another batch may pass"


def test_a_results_file_cut_short_says_the_vendor_was_reached_and_what_happens_next(emulator):
    once = GeminiHook("nanobanana_gemini_default", max_retries=0)  # the batch operator's hook
    done = finished(once, once.submit_bulk(items(3), "cut-once"))
    emulator.add_fault(Fault("gemini", "download", "truncated"))

    with pytest.raises(NanoBananaServerError) as cut:
        read_all(once, done, 3)
    message = str(cut.value)
    assert "the results were cut short after" in message
    assert "could not reach" not in message
    assert "its retry reads the results again" in message
