"""Operators on a Gemini connection: images that exist only in the answer must land in this task."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator

GEMINI = "nanobanana_gemini_default"


@pytest.mark.parametrize(
    "operator",
    [
        NanoBananaGenerateImageOperator(task_id="poster", conn_id=GEMINI, prompt="a banana"),
        NanoBananaBatchImageOperator(task_id="cards", conn_id=GEMINI, items=["a banana", "a fig"]),
    ],
    ids=["generate", "batch"],
)
def test_without_s3_output_a_gemini_task_fails_before_paying(emulator, context, operator):
    with pytest.raises(NanoBananaInvalidRequestError, match="returns each image once") as raised:
        operator.execute(context)
    assert raised.value.field == "s3_output"
    assert emulator.counters()["requests"] == {}


def test_a_batch_of_mixed_gemini_models_is_refused_naming_the_item(emulator, context, nanobanana_bucket):
    operator = NanoBananaBatchImageOperator(
        task_id="cards",
        conn_id=GEMINI,
        items=["a banana", {"prompt": "a fig", "model": "gemini-3-pro-image-preview"}],
        s3_output={"bucket": nanobanana_bucket},
    )
    with pytest.raises(NanoBananaInvalidRequestError, match=r"items\[1\]\.model"):
        operator.execute(context)
    assert emulator.counters()["requests"] == {}
