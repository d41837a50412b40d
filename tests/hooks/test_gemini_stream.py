"""The streaming reader of Gemini answers: images decoded into spools whatever the chunking."""

from __future__ import annotations

import base64
import json

import pytest

from airflow_provider_nanobanana.hooks.gemini_stream import InlineImageScanner, UnreadableAnswerError

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def answer(data: str = base64.b64encode(IMAGE).decode(), key: str = "inlineData") -> dict:
    return {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": 'a "quoted" caption with \\ and \u00e9'},
                        {key: {"mimeType": "image/png", "data": data}},
                    ]
                },
                "finishReason": "STOP",
            }
        ],
        "responseId": "r1",
    }


def scan(body: bytes, chunk: int) -> list:
    scanner = InlineImageScanner()
    values = [
        value for start in range(0, len(body), chunk) for value in scanner.feed(body[start : start + chunk])
    ]
    scanner.finish()
    return values


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096, 10**7])
def test_the_image_is_decoded_and_the_rest_kept_whatever_the_chunk_size(chunk):
    ((skeleton, spools),) = scan(json.dumps(answer()).encode(), chunk)
    parts = skeleton["candidates"][0]["content"]["parts"]
    assert parts[0]["text"] == 'a "quoted" caption with \\ and \u00e9'
    assert parts[1]["inlineData"] == {"mimeType": "image/png", "data": 0}
    assert spools[0].read() == IMAGE
    assert skeleton["responseId"] == "r1"


def test_the_snake_case_spelling_and_escaped_slashes_are_read():
    data = base64.b64encode(IMAGE).decode().replace("/", "\\/")
    body = json.dumps(answer(key="inline_data")).encode().replace(base64.b64encode(IMAGE), data.encode())
    ((skeleton, spools),) = scan(body, 5)
    assert skeleton["candidates"][0]["content"]["parts"][1]["inline_data"]["data"] == 0
    assert spools[0].read() == IMAGE


def test_each_line_of_a_results_file_comes_with_its_own_spools():
    lines = b"".join(json.dumps({"key": str(n), "response": answer()}).encode() + b"\n" for n in range(3))
    values = scan(lines, 11)
    assert [skeleton["key"] for skeleton, _ in values] == ["0", "1", "2"]
    assert all(len(spools) == 1 and spools[0].read() == IMAGE for _, spools in values)


def test_a_data_string_outside_inline_data_is_left_as_text():
    ((skeleton, spools),) = scan(json.dumps({"data": "not an image", "x": {"data": "QUJD"}}).encode(), 2)
    assert skeleton == {"data": "not an image", "x": {"data": "QUJD"}}
    assert spools == []


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(answer()).encode()[:-40],  # cut short inside the answer
        json.dumps(answer(data="@@@@")).encode(),  # not base64
        json.dumps(answer(data="QUJ")).encode(),  # base64 ending mid-way
        b"<html>502 Bad Gateway</html>",
    ],
)
def test_an_unreadable_answer_is_an_error_not_a_partial_image(body):
    with pytest.raises(UnreadableAnswerError):
        scan(body, 64)
