"""Money, over real HTTP against the emulator: the estimate logged before paying, caps that stop
an interactive task before its request and a batch at its budget (and let a retry send only what
it did not), dry runs that send nothing, connection prices, and the cost in every record."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow_versions import alias_events

from airflow_provider_nanobanana.exceptions import NanoBananaBudgetError
from airflow_provider_nanobanana.operators.batch import NanoBananaBatchImageOperator
from airflow_provider_nanobanana.operators.generate import NanoBananaGenerateImageOperator
from airflow_provider_nanobanana.spend.lineage import FACET_NAME
from airflow_provider_nanobanana.stores.operator_mixin import DESTINATIONS_ALIAS

from .support import run_trigger

PRICED_ACEDATA = "acedata_priced"
PRICE = 0.04
ESTIMATE_LINE = re.compile(r"Will pay for at most [^\n]*?prices checked \d{4}-\d\d\)\.")


@pytest.fixture
def priced(emulator, monkeypatch):
    """An AceData connection whose ``prices`` extra says what the account pays per image."""
    connection = emulator.connection_json("acedata", prices=json.dumps({"nano-banana": PRICE}))
    monkeypatch.setenv(f"AIRFLOW_CONN_{PRICED_ACEDATA.upper()}", connection)
    return emulator


def drive(operator: Any, context: dict[str, Any]) -> Any:
    """Execute, then run each trigger to its event and resume, as Airflow would."""
    try:
        return operator.execute(context)
    except TaskDeferred as deferred:
        pending = deferred
    while True:
        (event,) = run_trigger(pending.trigger)
        try:
            return getattr(operator, pending.method_name)(context, event=event)
        except TaskDeferred as deferred:
            pending = deferred


def catalogue_batch(conn_id: str, count: int, **kwargs: Any) -> NanoBananaBatchImageOperator:
    kwargs = {"deferrable": True, "poll_interval": 0.05, "timeout": 120, **kwargs}
    items = [f"catalogue photo {number}" for number in range(count)]
    return NanoBananaBatchImageOperator(task_id="draw", conn_id=conn_id, items=items, **kwargs)


def stored_manifest(s3, uri: str) -> dict[str, Any]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return json.loads(s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_batch_capped_for_25_of_40_pays_25_lands_them_and_a_retry_with_a_raised_cap_pays_15_more(
    priced, nanobanana_s3, nanobanana_bucket, context
):
    operator = catalogue_batch(
        PRICED_ACEDATA, 40, max_in_flight=10, max_cost_usd="1.00", s3_output={"bucket": nanobanana_bucket}
    )
    stopped = r"paid \$1.00 for 25 of 40 items.*15 items were not"
    with pytest.raises(NanoBananaBudgetError, match=stopped) as raised:
        drive(operator, context)

    assert priced.counters()["accepted"]["acedata"] == 25
    assert raised.value.spent_usd == pytest.approx(1.0)
    ((key, manifest),) = context["ti"].xcom
    assert (key, manifest["succeeded"], manifest["not_submitted"]) == ("manifest", 25, {"budget": 15})
    stored = stored_manifest(nanobanana_s3, manifest["manifest"])
    assert [item["state"] for item in stored["results"]].count("landed") == 25
    unsent = [item for item in stored["results"] if item["state"] == "not_submitted"]
    assert len(unsent) == 15
    assert {item["reason"] for item in unsent} == {"budget"}
    assert {item["cost_usd"] for item in stored["results"] if item["state"] == "landed"} == {PRICE}

    context["ti"].try_number = 2
    operator.max_cost_usd = 1.60  # raised, as from params, and the task cleared
    manifest = drive(operator, context)

    assert priced.counters()["accepted"]["acedata"] == 40, "the retry sent only the 15 not sent"
    assert (manifest["succeeded"], manifest["cost_usd"], manifest["cost_basis"]) == (40, 1.6, "override")
    assert "not_submitted" not in manifest


def test_a_batch_never_sends_past_its_cap_even_when_the_retry_raises_it_too_little(
    priced, nanobanana_bucket, context
):
    operator = catalogue_batch(PRICED_ACEDATA, 12, max_in_flight=4, max_cost_usd=0.2)
    with pytest.raises(NanoBananaBudgetError):
        drive(operator, context)
    context["ti"].try_number = 2
    operator.max_cost_usd = 0.3
    with pytest.raises(NanoBananaBudgetError, match=r"paid \$0.28 for 7 of 12"):
        drive(operator, context)

    assert priced.counters()["accepted"]["acedata"] == 7, "what earlier tries paid counts against the cap"


def test_an_interactive_task_over_its_cap_pays_nothing(priced, context, task_log):
    operator = NanoBananaGenerateImageOperator(
        task_id="draw", conn_id=PRICED_ACEDATA, prompt="a pear", count=3, max_cost_usd=0.1
    )
    over = r"The estimate, \$0.12 for 3 images.*max_cost_usd=\$0.10"
    with pytest.raises(NanoBananaBudgetError, match=over):
        operator.execute(context)

    assert priced.counters()["requests"].get("acedata:images", 0) == 0
    assert "Will pay for at most 3 images: about $0.12" in task_log()


def test_a_cap_with_no_known_price_fails_before_any_request_saying_how_to_set_one(emulator, context):
    operator = NanoBananaGenerateImageOperator(
        task_id="draw", conn_id="nanobanana_acedata_default", prompt="a pear", max_cost_usd=5
    )
    with pytest.raises(NanoBananaBudgetError, match=r"AceData publishes no per-image price") as raised:
        operator.execute(context)

    assert str(raised.value).splitlines()[-1].startswith("Set it in the connection's prices extra")

    assert emulator.counters()["accepted"]["acedata"] == 0


def test_a_dry_run_of_1000_items_sends_nothing_and_returns_the_estimate_the_real_run_logs(
    emulator, nanobanana_s3, nanobanana_bucket, context, task_log
):
    settings = {"s3_output": {"bucket": nanobanana_bucket, "prefix": "dry"}, "resolution": "2K"}
    dry = catalogue_batch("nanobanana_gemini_default", 1000, dry_run=True, **settings).execute(context)
    dry_line = ESTIMATE_LINE.search(task_log()).group(0)

    assert (dry["dry_run"], dry["items"], dry["images"]) == (True, 1000, 1000)
    assert dry["cost_usd"] == pytest.approx(1000 * 1680 * 60 / 1e6 / 2)
    assert dry["prices"][0]["label"] == "Gemini gemini-3.1-flash-image 2K batch"
    assert dry["s3_key_count"] == 1000, "every image's key, rendered and checked"
    assert dry["s3_keys"][0].startswith(f"s3://{nanobanana_bucket}/dry/nanobanana_dag/")
    assert dry["manifest"].endswith("/draw/-1/manifest.json")
    assert sum(emulator.counters()["requests"].values()) == 0, "a dry run sends nothing"
    assert context["task_state_store"].data == {}, "nor keeps a ledger"

    with pytest.raises(NanoBananaBudgetError):  # a real run that may not pay anything
        catalogue_batch("nanobanana_gemini_default", 1000, max_cost_usd=0, **settings).execute(context)
    real_lines = ESTIMATE_LINE.findall(task_log())

    assert real_lines[-1] == dry_line
    assert emulator.counters()["accepted"]["gemini"] == 0


def test_a_connection_price_changes_the_estimate(emulator, monkeypatch, nanobanana_bucket, context):
    monkeypatch.setenv(
        "AIRFLOW_CONN_GEMINI_NEGOTIATED",
        emulator.connection_json("gemini", prices={"gemini-3.1-flash-image batch": 0.02}),
    )
    settings = {"dry_run": True, "s3_output": {"bucket": nanobanana_bucket}}
    listed = catalogue_batch("nanobanana_gemini_default", 10, **settings).execute(context)
    negotiated = catalogue_batch("gemini_negotiated", 10, **settings).execute(context)

    assert (listed["cost_usd"], listed["prices"][0]["basis"]) == (pytest.approx(0.336), "catalogue")
    assert (negotiated["cost_usd"], negotiated["prices"][0]["basis"]) == (pytest.approx(0.2), "override")


def test_gemini_cost_is_the_reported_tokens_at_the_published_rates_in_every_record(
    emulator, nanobanana_bucket, context, task_log
):
    prompt = "a lemon on linen, studio light"
    operator = NanoBananaGenerateImageOperator(
        task_id="draw",
        conn_id="nanobanana_gemini_default",
        prompt=prompt,
        resolution="2K",
        s3_output={"bucket": nanobanana_bucket},
    )
    summary = operator.execute(context)

    # What the emulator reports, as Google does: the prompt, 1,680 image tokens at 2K, a caption.
    prompt_tokens, image_tokens, caption_tokens = len(prompt) // 4 + 1, 1680, 12
    expected = (prompt_tokens * 0.50 + image_tokens * 60.0 + caption_tokens * 3.0) / 1e6
    assert (summary["cost_usd"], summary["cost_basis"]) == (pytest.approx(expected, abs=1e-6), "reported")
    (_, extra), *_ = alias_events(context, DESTINATIONS_ALIAS)
    assert (extra["cost_usd"], extra["cost_basis"]) == (summary["cost_usd"], "reported")
    (output,) = operator.get_openlineage_facets_on_complete(None).outputs
    assert output.facets[FACET_NAME].costUsd == summary["cost_usd"]
    last = [line for line in task_log().splitlines() if "Paid" in line][-1]
    assert f"Paid ${summary['cost_usd']:.4f} for 1 image (from the usage the vendor reported)." in last
