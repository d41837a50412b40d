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
    assert raised.value.field == "destination"
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


def test_an_s3_input_goes_to_gemini_inline_and_the_edit_lands_beside_it(
    emulator, context, nanobanana_s3, nanobanana_bucket
):
    from airflow_provider_nanobanana.operators.edit import NanoBananaEditImageOperator

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    nanobanana_s3.client().put_object(Bucket=nanobanana_bucket, Key="inputs/cat.png", Body=png)
    summary = NanoBananaEditImageOperator(
        task_id="hat",
        conn_id=GEMINI,
        prompt="add a hat",
        images=[f"s3://{nanobanana_bucket}/inputs/cat.png"],
        s3_output={"bucket": nanobanana_bucket, "prefix": "edited"},
    ).execute(context)

    (landed,) = summary["s3"]
    body = nanobanana_s3.client().get_object(Bucket=nanobanana_bucket, Key=landed["key"])["Body"].read()
    assert body.startswith(b"\x89PNG")
    assert landed["key"].startswith("edited/")
    assert emulator.counters()["accepted"]["gemini"] == 1


def test_a_gemini_batch_lands_every_results_line_through_one_s3_client(
    emulator, context, nanobanana_bucket, monkeypatch
):
    from airflow_provider_nanobanana.s3 import writer as landing

    opened = []
    open_connection = landing.S3Connection.open
    monkeypatch.setattr(
        landing.S3Connection,
        "open",
        classmethod(lambda cls, conn_id: opened.append(conn_id) or open_connection(conn_id)),
    )
    prompts = [f"fruit card {n}" for n in range(6)]
    manifest = NanoBananaBatchImageOperator(
        task_id="cards",
        conn_id=GEMINI,
        items=prompts,
        s3_output={"bucket": nanobanana_bucket, "prefix": "cards"},
        deferrable=False,
    ).execute(context)

    assert manifest["succeeded"] == 6
    assert all(item["state"] == "landed" for item in manifest["results"])
    assert len(opened) == 3, "the bucket check's, one for the six lines' images, one for the manifest"
    assert emulator.counters()["accepted"]["gemini"] == 1
