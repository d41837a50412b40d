"""Building an operator or the sensor (what DAG parsing does) touches no connection and no network."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.operators.edit import NanoBananaEditImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.operators.img2img import NanoBananaImageToImageOperator
from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor

OPERATOR_CLASSES = (
    NanoBananaGenerateImageOperator,
    NanoBananaEditImageOperator,
    NanoBananaImageToImageOperator,
)
MISSING_CONN = "no_such_connection_anywhere"


def build(cls, **kwargs):
    if cls is NanoBananaJobSensor:
        return cls(task_id="wait", conn_id=MISSING_CONN, job_id="123", **kwargs)
    return cls(
        task_id="draw", conn_id=MISSING_CONN, prompt="p", images=["https://example.com/a.png"], **kwargs
    )


@pytest.mark.parametrize("cls", [*OPERATOR_CLASSES, NanoBananaJobSensor])
def test_construction_with_an_unknown_connection_does_not_raise(cls):
    task = build(cls)
    assert task.conn_id == MISSING_CONN


@pytest.mark.parametrize("cls", OPERATOR_CLASSES)
def test_prompt_images_model_and_options_are_templated(cls):
    assert {"prompt", "images", "model", "options"} <= set(cls.template_fields)


def test_img2img_noise_controls_join_the_request_options():
    operator = NanoBananaImageToImageOperator(
        task_id="draw",
        conn_id=MISSING_CONN,
        prompt="p",
        images="https://example.com/a.png",
        noise_scale_start=5.0,
        keep_original_aspect=True,
        options={"watermark": False},
    )
    request = operator.job_request()
    assert request.images == ("https://example.com/a.png",), "a single URL string is one image"
    assert request.options == {"watermark": False, "noise_scale_start": 5.0, "keep_original_aspect": True}


@pytest.mark.parametrize("cls", [*OPERATOR_CLASSES, NanoBananaJobSensor])
def test_deferrable_default_follows_the_config_at_construction_time(cls, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    deferring = build(cls)
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "False")
    blocking = build(cls)
    assert deferring.deferrable is True
    assert blocking.deferrable is False


@pytest.mark.parametrize("cls", [*OPERATOR_CLASSES, NanoBananaJobSensor])
def test_explicit_deferrable_wins_over_the_config(cls, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert build(cls, deferrable=False).deferrable is False
