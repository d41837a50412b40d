"""Gemini as Google ships it in December 2026: thought drafts, every batch state, gRPC-coded result
lines, every place results are named, the new finish reasons, and the models' own rules.

Sources, quoted beside each payload:
[IMG] ai.google.dev/gemini-api/docs/image-generation, "Thinking process": Gemini 3 Pro Image shows
      interim images, parts with ``"thought": true``, before the final image; parts may carry a
      ``thoughtSignature``.
[SDK] python-genai ``types.py`` (``JobState``, ``FinishReason``, ``InlinedResponse``) and
      ``batches.py`` (``_BatchJobDestination_from_mldev`` reads ``output.responsesFile`` and
      ``output.inlinedResponses.inlinedResponses``), snapshot of 2026-08-21.
[BATCH] ai.google.dev/gemini-api/docs/batch-mode: the operation's ``response.responsesFile`` or
      ``response.inlinedResponses``; each results line ``{"key", "response" | "status"}``.
[RPC] google.rpc.Status: ``code`` is a gRPC code (``google/rpc/code.proto``).
[MODELS] Google Cloud's model pages (3.1 Flash Image: 15 aspect ratios incl. 9:21, 512 to 4K;
      3 Pro Image: 10), ai.google.dev/gemini-api/docs/models/gemini-3.1-flash-lite-image (1K only;
      thinking minimal and high), Firebase's Imagen migration guide (thinking MINIMAL / HIGH).
"""

from __future__ import annotations

import base64
import json
import logging

import pytest

from airflow_provider_nanobanana.exceptions import (
    NanoBananaAuthenticationError,
    NanoBananaContentPolicyError,
    NanoBananaInvalidRequestError,
    NanoBananaServerError,
)
from airflow_provider_nanobanana.hooks import gemini_responses
from airflow_provider_nanobanana.hooks.gemini import build_request
from airflow_provider_nanobanana.hooks.gemini_responses import (
    inlined_responses,
    line_outcome,
    parse_batch,
    parse_image_answer,
)
from airflow_provider_nanobanana.hooks.gemini_stream import InlineImageScanner
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind, JobState

DRAFT_1, DRAFT_2, FINAL = b"\x89PNG draft one", b"\x89PNG draft two", b"\x89PNG the final image"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def scanned(answer: dict) -> tuple[dict, list]:
    ((skeleton, spools),) = InlineImageScanner().feed(json.dumps(answer).encode())
    return skeleton, spools


# [IMG]: a thinking model's answer: thought text, interim images, then the final text and image.
THINKING_ANSWER = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {"text": "**Composing**\nI will try two layouts.", "thought": True},
                    {"inlineData": {"mimeType": "image/png", "data": b64(DRAFT_1)}, "thought": True},
                    {"inlineData": {"mimeType": "image/png", "data": b64(DRAFT_2)}, "thought": True},
                    {"text": "Here is the poster."},
                    {
                        "inlineData": {"mimeType": "image/png", "data": b64(FINAL)},
                        "thoughtSignature": b64(b"s" * 300_000),
                    },
                ]
            },
            "finishReason": "STOP",
        }
    ]
}


def test_thought_drafts_are_skipped_and_counted_and_only_the_final_image_is_a_result():
    skeleton, spools = scanned(THINKING_ANSWER)
    result = parse_image_answer(skeleton, spools)

    assert [image.spool.read() for image in result.images] == [FINAL]
    assert result.metadata["drafts_skipped"] == 2
    assert result.metadata["text"] == "Here is the poster.", "thought text is not the model's answer"


def test_a_thought_signature_of_hundreds_of_kilobytes_never_reaches_memory_as_text():
    skeleton, _ = scanned(THINKING_ANSWER)

    signature = skeleton["candidates"][0]["content"]["parts"][4]["thoughtSignature"]
    assert signature == ""
    assert len(json.dumps(skeleton)) < 1000


def test_usage_is_read_as_google_bills_it_image_tokens_apart_and_thoughts_as_text():
    # [SDK] GenerateContentResponseUsageMetadata: output tokens by modality, thoughts counted apart.
    usage = {
        "promptTokenCount": 9,
        "candidatesTokenCount": 1132,
        "candidatesTokensDetails": [
            {"modality": "IMAGE", "tokenCount": 1120},
            {"modality": "TEXT", "tokenCount": 12},
        ],
        "thoughtsTokenCount": "815",
    }
    skeleton, spools = scanned({**THINKING_ANSWER, "usageMetadata": usage})

    result = parse_image_answer(skeleton, spools)

    assert result.metadata["usage"] == {"prompt": 9, "image": 1120, "text": 12 + 815}


def test_usage_without_a_breakdown_counts_every_output_token_at_the_image_rate():
    assert gemini_responses.billed_tokens({"promptTokenCount": 5, "candidatesTokenCount": 1300}) == {
        "prompt": 5,
        "image": 1300,
        "text": 0,
    }


def test_an_answer_with_only_thought_drafts_is_a_refusal_not_a_result():
    parts = THINKING_ANSWER["candidates"][0]["content"]["parts"][:3]
    answer = {"candidates": [{"content": {"parts": parts}, "finishReason": "IMAGE_OTHER"}]}
    skeleton, spools = scanned(answer)

    with pytest.raises(NanoBananaContentPolicyError) as refused:
        parse_image_answer(skeleton, spools)
    assert refused.value.code == "IMAGE_OTHER"


@pytest.mark.parametrize(
    "reason", ["IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE", "IMAGE_PROHIBITED_CONTENT"]
)
def test_every_image_finish_reason_of_the_sdk_is_a_refusal_naming_it(reason):
    # [SDK] FinishReason: IMAGE_RECITATION and IMAGE_OTHER came with SDK 1.55.0.
    with pytest.raises(NanoBananaContentPolicyError, match=reason) as refused:
        parse_image_answer({"candidates": [{"finishReason": reason}]}, [])
    assert refused.value.code == reason


# [SDK] JobState, and REST's BATCH_STATE_* for the states it has.
STATES = {
    "UNSPECIFIED": JobState.PENDING,
    "QUEUED": JobState.PENDING,
    "PENDING": JobState.PENDING,
    "RUNNING": JobState.PENDING,
    "CANCELLING": JobState.PENDING,
    "PAUSED": JobState.PENDING,
    "UPDATING": JobState.PENDING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "PARTIALLY_SUCCEEDED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.FAILED,
    "EXPIRED": JobState.FAILED,
}


@pytest.mark.parametrize("prefix", ["JOB_STATE_", "BATCH_STATE_"])
@pytest.mark.parametrize(("state", "expected"), STATES.items())
def test_every_documented_batch_state_in_both_spellings(prefix, state, expected):
    operation = {
        "name": "batches/abc",
        "metadata": {"state": f"{prefix}{state}"},
        "response": {"responsesFile": "files/batch-abc"},
    }
    assert parse_batch(operation).state is expected


def test_an_unknown_batch_state_is_waited_on_and_logged_once_by_name(caplog, monkeypatch):
    monkeypatch.setattr(gemini_responses, "_unknown_states_seen", set())
    caplog.set_level(logging.WARNING)
    operation = {"name": "batches/abc", "metadata": {"state": "JOB_STATE_DEFROSTING"}}

    states = [parse_batch(operation).state for _ in range(3)]

    assert states == [JobState.PENDING] * 3
    assert [record.getMessage().count("DEFROSTING") for record in caplog.records] == [1]


@pytest.mark.parametrize(
    ("documented", "field"),
    [
        ({"response": {"responsesFile": "files/r1"}}, "responses_file"),  # [BATCH]
        (
            {"metadata": {"state": "JOB_STATE_SUCCEEDED", "output": {"responsesFile": "files/r1"}}},
            "responses_file",
        ),
        ({"dest": {"fileName": "files/r1"}}, "responses_file"),  # [IMG]'s REST example, SDK naming
        ({"response": {"inlinedResponses": {"inlinedResponses": [{"response": {}}]}}}, "inlined"),  # [BATCH]
    ],
)
def test_results_are_found_where_each_google_source_names_them(documented, field):
    operation = {"name": "batches/abc", "metadata": {"state": "JOB_STATE_SUCCEEDED"}, **documented}
    operation["metadata"] = {**documented.get("metadata", {}), "state": "JOB_STATE_SUCCEEDED"}

    batch = parse_batch(operation)

    assert batch.state is JobState.SUCCEEDED
    assert batch.metadata[field] in ("files/r1", 1)


def test_a_finished_batch_naming_no_results_anywhere_fails_saying_so():
    batch = parse_batch({"name": "batches/abc", "metadata": {"state": "JOB_STATE_SUCCEEDED"}})
    assert batch.state is JobState.FAILED
    assert "names no results" in batch.error_message


def test_inlined_responses_are_read_as_results_lines_with_their_keys():
    # [SDK] InlinedResponse: {"response" | "error", "metadata"}.
    operation = {
        "response": {
            "inlinedResponses": {
                "inlinedResponses": [
                    {"error": {"code": 14, "message": "Service unavailable."}, "metadata": {"key": "7"}}
                ]
            }
        }
    }
    (entry,) = inlined_responses(operation)
    assert isinstance(line_outcome(entry, [], "abc-7"), NanoBananaServerError)


@pytest.mark.parametrize(
    ("code", "expected", "retried"),
    [
        (13, NanoBananaServerError, True),  # INTERNAL
        (8, NanoBananaServerError, True),  # RESOURCE_EXHAUSTED
        (14, NanoBananaServerError, True),  # UNAVAILABLE
        (4, NanoBananaServerError, True),  # DEADLINE_EXCEEDED
        (3, NanoBananaInvalidRequestError, False),  # INVALID_ARGUMENT
        (7, NanoBananaAuthenticationError, False),  # PERMISSION_DENIED
    ],
)
def test_a_results_line_error_is_read_by_its_grpc_code_not_as_an_http_status(code, expected, retried):
    # [RPC]: a results line {"key", "status": google.rpc.Status}; no Google example shows "status".
    outcome = line_outcome(
        {"key": "3", "status": {"code": code, "message": "The request failed."}}, [], "b-3"
    )

    assert type(outcome) is expected
    assert isinstance(outcome, NanoBananaServerError) is retried


def test_a_results_line_error_with_a_status_name_is_read_by_the_name():
    outcome = line_outcome(
        {"key": "3", "error": {"code": 400, "status": "UNAVAILABLE", "message": "x"}}, [], "b-3"
    )
    assert isinstance(outcome, NanoBananaServerError)
    assert outcome.code == "UNAVAILABLE"


# -- what a model takes ------------------------------------------------------------------------


def generate(model: str, **fields: object) -> ImageJobRequest:
    return ImageJobRequest(kind=JobKind.GENERATE, prompt="a banana", model=model, **fields)


def test_validation_names_the_model_that_limits_a_value_and_the_models_that_take_it():
    with pytest.raises(NanoBananaInvalidRequestError) as refused:
        build_request(generate("gemini-2.5-flash-image", resolution="4K"), "gemini-2.5-flash-image")

    message = str(refused.value)
    assert "one of 1K for gemini-2.5-flash-image" in message
    assert "4K is taken by gemini-3-pro-image-preview, gemini-3-pro-image" in message
    assert "gemini-3.1-flash-image" in message


@pytest.mark.parametrize(
    ("model", "fields", "accepted"),
    [
        ("gemini-3.1-flash-image", {"aspect_ratio": "9:21", "resolution": "512"}, True),  # [MODELS]
        ("gemini-3.1-flash-image-preview", {"aspect_ratio": "9:21"}, False),  # 14 ratios
        ("gemini-3-pro-image", {"aspect_ratio": "1:8"}, False),  # 10 ratios
        ("gemini-3.1-flash-lite-image", {"resolution": "1K"}, True),
        ("gemini-3.1-flash-lite-image", {"resolution": "2K"}, False),
        ("gemini-nano-banana-2.1", {}, True),
        ("gemini-nano-banana-2.1", {"aspect_ratio": "16:9"}, False),  # Google lists no ratios for it
    ],
)
def test_each_model_takes_what_googles_pages_list_for_it(model, fields, accepted):
    if accepted:
        build_request(generate(model, **fields), model)
    else:
        with pytest.raises(NanoBananaInvalidRequestError, match=model):
            build_request(generate(model, **fields), model)


def test_a_model_whose_ratios_google_does_not_list_says_so():
    with pytest.raises(
        NanoBananaInvalidRequestError, match="Google's pages list no aspect ratios for gemini-nano"
    ):
        build_request(generate("gemini-nano-banana-2.1", aspect_ratio="16:9"), "gemini-nano-banana-2.1")


def test_thinking_level_goes_to_thinking_models_only():
    _, body = build_request(generate("gemini-3.1-flash-image", options={"thinking_level": "HIGH"}), "x")
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "HIGH"}
    with pytest.raises(
        NanoBananaInvalidRequestError, match=r"options\.thinking_level.*gemini-2\.5-flash-image"
    ):
        build_request(generate("gemini-2.5-flash-image", options={"thinking_level": "HIGH"}), "x")
    with pytest.raises(
        NanoBananaInvalidRequestError, match=r"MINIMAL, HIGH for gemini-3\.1-flash-lite-image"
    ):
        build_request(generate("gemini-3.1-flash-lite-image", options={"thinking_level": "MEDIUM"}), "x")


@pytest.mark.parametrize("option", ["person_generation", "output_mime_type", "prominent_people"])
def test_vertex_only_image_settings_are_refused_by_name(option):
    # [SDK] _ImageConfig_to_mldev raises "... only supported in Gemini Enterprise Agent Platform mode".
    with pytest.raises(NanoBananaInvalidRequestError, match=rf"options\.{option}.*Vertex AI"):
        build_request(generate("gemini-3.1-flash-image", options={option: "ALLOW_ADULT"}), "x")
