"""A destination the DAG's parse already knows (no Jinja in its store or container) is declared as
the task's outlet, so Airflow's Assets page and lineage graph name its producer before any run,
while its event still goes through the destinations alias, once per landing."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import Asset, AssetAlias
from airflow_fakes import FakeTaskInstance
from airflow_versions import asset_uri, declares_destinations, needs_airflow_3

from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.stores.operator_mixin import DESTINATIONS_ALIAS
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator


def declared_assets(operator) -> list[str]:
    return [outlet.uri for outlet in operator.outlets if isinstance(outlet, Asset)]


def start(operator) -> None:
    """What Airflow runs before ``execute``: ``pre_execute`` (Airflow 2's lineage reads ``ti.task``)."""
    ti = FakeTaskInstance()
    ti.task = operator
    operator.pre_execute({"ti": ti})


def generate(destination, **kwargs) -> NanoBananaGenerateImageOperator:
    return NanoBananaGenerateImageOperator(
        task_id="draw",
        conn_id="nanobanana_acedata_default",
        prompt="a banana",
        destination=destination,
        **kwargs,
    )


@declares_destinations
@pytest.mark.parametrize(
    ("destination", "asset"),
    [
        ({"bucket": "my-images", "prefix": "posters/{{ run_id }}"}, "s3://my-images/posters"),
        ({"uri": "s3://my-images/catalogue"}, "s3://my-images/catalogue"),
        ({"uri": "gs://my-images/cards/{{ ds }}"}, "gs://my-images/cards"),
        ({"uri": "abfs://images@acct/cards"}, "abfs://images@acct.dfs.core.windows.net/cards"),
        ({"uri": "file:///srv/images"}, "file:///srv/images"),
    ],
)
def test_a_destination_without_jinja_in_its_container_is_declared_as_the_destination_asset(
    destination, asset
):
    operator = generate(destination)

    assert declared_assets(operator) == [asset_uri(asset)]
    assert AssetAlias(DESTINATIONS_ALIAS) in operator.outlets


@pytest.mark.parametrize(
    "destination",
    [
        {"bucket": "{{ params.bucket }}", "prefix": "posters"},
        {"uri": "{{ params.uri }}/{{ run_id }}"},
        {"uri": "gs://{{ params.bucket }}/cards"},
        {"bucket": "Not A Bucket"},  # invalid: the task names the field when it runs
        {"bucket": "my-images", "colour": "blue"},
    ],
)
def test_a_destination_only_a_run_can_tell_is_not_declared(destination):
    assert declared_assets(generate(destination)) == []


@declares_destinations
def test_the_batch_and_the_transfer_declare_their_destination_too():
    batch = NanoBananaBatchImageOperator(
        task_id="cards",
        conn_id="nanobanana_acedata_default",
        items=["a fig"],
        s3_output={"bucket": "my-images", "prefix": "cards"},
    )
    by_uri = NanoBananaImagesToS3Operator(
        task_id="to_gcs", jobs=[], destination_uri="gs://my-images/generated"
    )
    by_bucket = NanoBananaImagesToS3Operator(task_id="to_s3", jobs=[], s3_bucket="my-images")
    templated = NanoBananaImagesToS3Operator(task_id="to_any", jobs=[], s3_bucket="{{ params.bucket }}")

    assert declared_assets(batch) == ["s3://my-images/cards"]
    assert declared_assets(by_uri) == ["gs://my-images/generated"]
    assert declared_assets(by_bucket) == ["s3://my-images/nanobanana"]
    assert declared_assets(templated) == []


@declares_destinations
def test_a_run_records_no_event_of_the_declaration_so_each_landing_is_one_event_through_the_alias():
    operator = generate(
        {"bucket": "my-images", "prefix": "posters"}, outlets=[Asset("s3://elsewhere/report")]
    )

    assert declared_assets(operator) == ["s3://elsewhere/report", "s3://my-images/posters"]

    start(operator)

    assert declared_assets(operator) == ["s3://elsewhere/report"], "the DAG's own outlet stays"
    assert AssetAlias(DESTINATIONS_ALIAS) in operator.outlets


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(None, id="by-uri"),
        pytest.param("posters", id="under-its-own-name", marks=needs_airflow_3),  # Airflow 2: no names
    ],
)
def test_a_destination_the_dag_declares_itself_is_neither_doubled_nor_taken_out(name):
    own = Asset(name=name, uri="s3://my-images/posters") if name else Asset("s3://my-images/posters")
    operator = generate({"bucket": "my-images", "prefix": "posters"}, outlets=[own])

    assert [outlet for outlet in operator.outlets if isinstance(outlet, Asset)] == [own]
    start(operator)
    assert [outlet for outlet in operator.outlets if isinstance(outlet, Asset)] == [own], (
        "Airflow records its event, as the DAG asked"
    )


def test_airflow_3_0_declares_nothing_its_dag_test_would_fail_on(monkeypatch):
    from airflow.providers.common.compat import version_compat

    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_0_PLUS", True)
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_1_PLUS", False)

    assert declared_assets(generate({"bucket": "my-images"})) == []
