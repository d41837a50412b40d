"""Operators land images in S3: the transfer after a sensor, or ``s3_output`` in the generating task,
with asset events and OpenLineage outputs; bad S3 settings cost nothing; S3 inputs reach the vendor."""

from __future__ import annotations

import hashlib

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AssetAlias, TaskDeferred
from airflow_fakes import FakeTaskInstance, FakeTaskStateStore
from airflow_versions import alias_events

from airflow_provider_nanobanana.emulator import Fault
from airflow_provider_nanobanana.exceptions import (
    NanoBananaImageExpiredError,
    NanoBananaInvalidRequestError,
    NanoBananaS3DestinationError,
)
from airflow_provider_nanobanana.operators.edit import NanoBananaEditImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.stores.destination import Destination
from airflow_provider_nanobanana.stores.operator_mixin import DESTINATIONS_ALIAS, destination_uri
from airflow_provider_nanobanana.transfers.images_to_s3 import NanoBananaImagesToS3Operator

from .conftest import CONN_IDS, ledger_entry
from .support import VENDORS, run_trigger

PROMPT = "a ripe banana"


def generate(vendor: str, **kwargs) -> NanoBananaGenerateImageOperator:
    kwargs = {"deferrable": False, "poll_interval": 0.05, "timeout": 30, **kwargs}
    return NanoBananaGenerateImageOperator(task_id="draw", conn_id=CONN_IDS[vendor], prompt=PROMPT, **kwargs)


def to_s3(jobs, bucket: str, **kwargs) -> NanoBananaImagesToS3Operator:
    return NanoBananaImagesToS3Operator(task_id="to_s3", jobs=jobs, s3_bucket=bucket, **kwargs)


def mapped(context, map_index: int) -> dict:
    """The context of one task instance of a mapped task (each has a ledger of its own)."""
    ti = FakeTaskInstance()
    ti.map_index = map_index
    return {**context, "ti": ti, "task_state_store": FakeTaskStateStore()}


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_transfer_lands_every_image_and_records_assets_and_lineage(
    emulator, nanobanana_s3, nanobanana_bucket, context, vendor
):
    summary = generate(vendor, count=2).execute(context)
    operator = to_s3(summary, nanobanana_bucket, asset_alias="new-images")
    landed = operator.execute(context)

    assert [item["index"] for item in landed] == [0, 1]
    client = nanobanana_s3.client()
    for item in landed:
        body = client.get_object(Bucket=nanobanana_bucket, Key=item["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == item["sha256"]
        assert item["key"].startswith(
            f"nanobanana/nanobanana_dag/manual__2026-01-01T00:00:00/draw/-1/{summary['job_id']}_"
        )
    assert AssetAlias("new-images") in operator.outlets
    events = alias_events(context, "new-images")
    assert [uri for uri, _ in events] == [item["uri"] for item in landed]
    assert events[0][1] == {
        "sha256": landed[0]["sha256"],
        "size": landed[0]["size"],
        "content_type": "image/png",
        "vendor": vendor,
        "job_id": summary["job_id"],
        "index": 0,
    }
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [(dataset.namespace, dataset.name) for dataset in lineage.outputs] == [
        (f"s3://{nanobanana_bucket}", item["key"]) for item in landed
    ]


def test_a_landing_is_one_event_on_its_destination_asset_with_the_objects_in_its_extra(
    emulator, nanobanana_s3, nanobanana_bucket, context
):
    summary = generate("acedata", count=2).execute(context)
    operator = to_s3(summary, nanobanana_bucket, s3_prefix="posters/{{ ds }}")
    operator.s3_prefix = "posters/2026-01-01"  # what Jinja makes of it when the task runs
    landed = operator.execute(context)

    assert AssetAlias(DESTINATIONS_ALIAS) in operator.outlets
    ((uri, extra),) = alias_events(context, DESTINATIONS_ALIAS)
    assert uri == f"s3://{nanobanana_bucket}/posters", "the prefix up to its first Jinja expression"
    assert extra["count"] == 2
    assert extra["bytes"] == sum(item["size"] for item in landed)
    assert [item["key"] for item in extra["objects"]] == [item["key"] for item in landed]
    assert extra["objects"][0] == {name: landed[0][name] for name in extra["objects"][0]}
    assert all(item["key"].startswith("posters/2026-01-01/") for item in landed)


@pytest.mark.parametrize(
    ("written", "uri"),
    [
        ({"bucket": "imgs", "prefix": "nanobanana"}, "s3://imgs/nanobanana"),
        ({"bucket": "imgs", "prefix": "/a/b/"}, "s3://imgs/a/b"),
        ({"bucket": "imgs", "prefix": "a/{{ ds }}/b"}, "s3://imgs/a"),
        ({"bucket": "imgs", "prefix": "a/run-{{ ds }}"}, "s3://imgs/a"),
        ({"bucket": "imgs", "prefix": "run-{% if x %}x{% endif %}"}, "s3://imgs/"),
        ({"uri": "s3://imgs/a/{{ ds }}"}, "s3://imgs/a"),
        ({"uri": "gs://imgs/a/{{ ds }}/b"}, "gs://imgs/a"),
        ({"uri": "gs://{{ 'im' }}gs/a/b"}, "gs://imgs/"),
        ({"uri": "wasb://imgs@acct/run-{{ ds }}"}, "wasb://imgs@acct.blob.core.windows.net/"),
        ({"uri": "abfs://imgs@acct.dfs.core.windows.net/x"}, "abfs://imgs@acct.dfs.core.windows.net/x"),
        ({"uri": "file:///data/images/{{ ds }}"}, "file:///data/images"),
    ],
)
def test_the_destination_asset_is_the_prefix_before_any_jinja_in_whole_segments(written, uri):
    import jinja2

    template = written.get("uri") or written["prefix"]
    rendered = {
        name: jinja2.Template(value).render(ds="2026-01-01", x=True) for name, value in written.items()
    }
    destination = Destination.from_mapping(rendered, name="destination").checked()

    assert destination_uri(destination, template) == uri


def test_the_transfer_takes_a_list_of_jobs_such_as_a_mapped_tasks_output(
    emulator, nanobanana_s3, nanobanana_bucket, context
):
    summaries = [generate("acedata").execute(mapped(context, index)) for index in range(3)]
    landed = to_s3(summaries, nanobanana_bucket).execute(context)
    assert [item["job_id"] for item in landed] == [summary["job_id"] for summary in summaries]
    assert len({item["key"] for item in landed}) == 3


def test_the_transfer_flattens_a_list_of_outputs_with_a_mapped_tasks_list_inside(
    emulator, nanobanana_s3, nanobanana_bucket, context
):
    single, *outputs = [generate("acedata").execute(mapped(context, index)) for index in range(3)]
    # jobs=[wait.output, restyle.output] renders to a summary and a mapped task's list side by side
    landed = to_s3([single, outputs, None], nanobanana_bucket).execute(context)
    assert [item["job_id"] for item in landed] == [single["job_id"], *(job["job_id"] for job in outputs)]


def test_the_transfer_explains_a_rendered_string_instead_of_the_xcom(
    nanobanana_s3, nanobanana_bucket, context
):
    with pytest.raises(
        NanoBananaInvalidRequestError, match=r"a Jinja string renders to text, not to the XCom"
    ) as caught:
        to_s3("{'job_id': '1'}", nanobanana_bucket).execute(context)
    assert caught.value.field == "jobs"


@pytest.mark.parametrize("vendor", VENDORS)
def test_s3_output_lands_the_images_in_the_generating_task(
    emulator, nanobanana_s3, nanobanana_bucket, context, vendor
):
    operator = generate(
        vendor, s3_output={"bucket": nanobanana_bucket, "prefix": "one-task", "asset_alias": "imgs"}
    )
    summary = operator.execute(context)

    (item,) = summary["s3"]
    assert item["key"].startswith("one-task/")
    assert item["job_id"] == summary["job_id"]
    head = nanobanana_s3.client().head_object(Bucket=nanobanana_bucket, Key=item["key"])
    assert head["Metadata"]["prompt-sha256"] == hashlib.sha256(PROMPT.encode()).hexdigest()
    assert AssetAlias("imgs") in operator.outlets
    assert len(alias_events(context, "imgs")) == 1
    ((uri, extra),) = alias_events(context, DESTINATIONS_ALIAS)
    assert (uri, extra["count"]) == (f"s3://{nanobanana_bucket}/one-task", 1)
    assert emulator.counters()["accepted"][vendor] == 1


def test_deferrable_s3_output_lands_after_the_trigger_event(
    emulator, nanobanana_s3, nanobanana_bucket, context
):
    operator = generate("modelslab", deferrable=True, s3_output={"bucket": nanobanana_bucket})
    with pytest.raises(TaskDeferred) as raised:
        operator.execute(context)
    (event,) = run_trigger(raised.value.trigger)
    summary = operator.execute_complete(context, event=event, **raised.value.kwargs)
    assert summary["s3"][0]["uri"].startswith(f"s3://{nanobanana_bucket}/nanobanana/")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"wait_for_completion": False, "s3_output": {"bucket": "images"}}, "s3_output"),
        ({"s3_output": {"bucket": "s3://images"}}, "bucket"),
        ({"s3_output": {"bucket": "images", "key_template": "{job_id}"}}, "key_template"),
        ({"s3_output": {"bucket": "images", "acl": "private"}}, "s3_output.acl"),
    ],
)
def test_bad_s3_output_fails_before_anything_is_paid_for(emulator, context, changes, field):
    with pytest.raises(NanoBananaInvalidRequestError) as caught:
        generate("acedata", **changes).execute(context)
    assert caught.value.field == field
    assert emulator.counters()["accepted"]["acedata"] == 0


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_bucket_that_does_not_exist_fails_before_anything_is_paid_for_and_without_retries(
    emulator, nanobanana_s3, context, dry_run
):
    operator = generate("acedata", s3_output={"bucket": "no-such-bucket"}, dry_run=dry_run)
    with pytest.raises(NanoBananaS3DestinationError) as caught:
        operator.execute(context)

    assert isinstance(caught.value, AirflowFailException), "Airflow does not retry it"
    assert (caught.value.bucket, caught.value.code) == ("no-such-bucket", "404")
    assert "'no-such-bucket' does not exist" in str(caught.value)
    assert emulator.counters()["accepted"]["acedata"] == 0
    assert ledger_entry(context) is None


def test_the_batch_and_the_transfer_check_the_bucket_first_too(emulator, nanobanana_s3, context):
    from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator

    batch = NanoBananaBatchImageOperator(
        task_id="draw", conn_id=CONN_IDS["acedata"], items=["a", "b"], s3_output={"bucket": "no-such-bucket"}
    )
    with pytest.raises(NanoBananaS3DestinationError):
        batch.execute(context)
    assert emulator.counters()["accepted"]["acedata"] == 0

    summary = generate("acedata").execute(context)
    downloads = emulator.counters()["requests"].get("acedata:files", 0)
    with pytest.raises(NanoBananaS3DestinationError):
        to_s3(summary, "no-such-bucket").execute(context)
    assert emulator.counters()["requests"].get("acedata:files", 0) == downloads, "nothing downloaded"


def test_a_landing_failure_keeps_the_job_so_the_retry_reattaches_without_paying_again(
    emulator, nanobanana_s3, nanobanana_bucket, context
):
    operator = generate("modelslab", s3_output={"bucket": nanobanana_bucket})
    emulator.add_fault(Fault(vendor="modelslab", endpoint="files", kind="expired"))
    with pytest.raises(NanoBananaImageExpiredError):
        operator.execute(context)
    assert ledger_entry(context) is not None

    context["ti"].try_number = 2  # Airflow's retry of the same task instance
    summary = operator.execute(context)
    assert summary["s3"][0]["job_id"] == summary["job_id"]
    assert emulator.counters()["accepted"]["modelslab"] == 1
    assert ledger_entry(context)["summary"] == summary, "kept until Airflow records the success"


@pytest.mark.parametrize("vendor", VENDORS)
def test_edit_takes_s3_input_images(emulator, nanobanana_s3, nanobanana_bucket, context, vendor):
    from airflow_provider_nanobanana.emulator.images import ImageSpec, render

    picture = render(ImageSpec("acedata", "input", 1024, 1024, 0, 1, 7), "png")
    nanobanana_s3.client().put_object(Bucket=nanobanana_bucket, Key="in/cat.png", Body=picture)
    operator = NanoBananaEditImageOperator(
        task_id="edit",
        conn_id=CONN_IDS[vendor],
        prompt="add a hat",
        images=[f"s3://{nanobanana_bucket}/in/cat.png"],
        deferrable=False,
        poll_interval=0.05,
        timeout=30,
    )
    summary = operator.execute(context)
    assert summary["state"] == "succeeded"
    assert operator.images == [f"s3://{nanobanana_bucket}/in/cat.png"], (
        "the rendered field keeps the s3:// form"
    )
    assert emulator.counters()["accepted"][vendor] == 1
