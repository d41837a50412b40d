"""The "Nano Banana image" extra link: from a task's return value to the first landed object, or
to the first image the vendor published; never anything but those URLs."""

from __future__ import annotations

import enum

import pytest

from airflow_provider_nanobanana.links import NanoBananaImageLink, first_image_link, object_link
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.sensors.image_job import NanoBananaJobSensor
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator

LANDED = {"uri": "s3://imgs/a/0.png", "link": "https://s3.console.aws.amazon.com/s3/object/imgs?prefix=a"}


@pytest.mark.parametrize(
    ("returned", "link"),
    [
        ({"images": ["https://cdn.example/0.png", "https://cdn.example/1.png"]}, "https://cdn.example/0.png"),
        ({"images": ["https://cdn.example/0.png"], "s3": [LANDED]}, LANDED["link"]),
        ([LANDED, {**LANDED, "link": "https://other"}], LANDED["link"]),
        ({"images": ["inline:acedata/123/0"]}, ""),
        ({"images": []}, ""),
        ({"dry_run": True, "images": 40, "cost_usd": 1.34}, ""),
        (None, ""),
        ([], ""),
    ],
)
def test_the_link_is_the_first_landed_object_else_the_first_vendor_image(returned, link):
    assert first_image_link(returned) == link


def test_an_object_on_aws_links_to_its_console_page_with_the_key_quoted():
    link = object_link("https://s3.eu-west-1.amazonaws.com", "eu-west-1", "imgs", "a b/run+1/0.png")
    assert link == (
        "https://s3.console.aws.amazon.com/s3/object/imgs?region=eu-west-1&prefix=a%20b%2Frun%2B1%2F0.png"
    )
    assert object_link(None, None, "imgs", "k.png").endswith("imgs?region=us-east-1&prefix=k.png")


def test_an_object_on_another_s3_endpoint_links_to_the_object_there():
    assert object_link("http://127.0.0.1:9000/", "us-east-1", "imgs", "a b/0.png") == (
        "http://127.0.0.1:9000/imgs/a%20b/0.png"
    )


@pytest.mark.parametrize(
    "operator",
    [
        NanoBananaGenerateImageOperator(task_id="g", conn_id="c", prompt="p"),
        NanoBananaJobSensor(task_id="s", conn_id="c", job_id="1"),
        NanoBananaImagesToS3Operator(task_id="t", jobs=[], s3_bucket="imgs"),
    ],
)
def test_every_nano_banana_task_offers_the_image_link(operator):
    assert [type(link) for link in operator.operator_extra_links] == [NanoBananaImageLink]
    assert operator.operator_extra_links[0].name == "Nano Banana image"


class TaskInstanceState(str, enum.Enum):
    """As the task SDK's generated model declares it: ``str()`` gives ``TaskInstanceState.SUCCESS``."""

    SUCCESS = "success"
    DEFERRED = "deferred"


def test_a_succeeded_task_instance_links_to_its_first_image(monkeypatch):
    from airflow.providers.common.compat import sdk

    monkeypatch.setattr(sdk.XCom, "get_value", lambda **_: {"images": ["https://cdn.example/0.png"]})
    ti = type("RuntimeTaskInstance", (), {"state": TaskInstanceState.SUCCESS})()
    assert NanoBananaImageLink().get_link(None, ti_key=ti) == "https://cdn.example/0.png"


@pytest.mark.parametrize("state", [TaskInstanceState.DEFERRED, "failed", "up_for_retry"])
def test_a_task_that_returned_nothing_is_not_asked_for_its_value(monkeypatch, state):
    from airflow.providers.common.compat import sdk

    def no_lookup(**_):
        raise AssertionError("looked up a return value the task never pushed")

    monkeypatch.setattr(sdk.XCom, "get_value", no_lookup)
    ti = type("RuntimeTaskInstance", (), {"state": state})()
    assert NanoBananaImageLink().get_link(None, ti_key=ti) == ""
