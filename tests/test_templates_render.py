"""Every Jinja template README shows and the example DAGs use renders on a scheduled run and on a
run triggered by hand, which on Airflow 3 has no logical date (so no ``ds``, ``ts``, ...)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import DAG
from airflow_versions import AIRFLOW_3, dag_bag, migrate_metadata_db

REPO = Path(__file__).resolve().parents[1]
SCHEDULED_FOR = datetime(2026, 12, 3, tzinfo=timezone.utc)
TRIGGERED_AT = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)
PARAMS = {
    "prompt": "a banana",
    "s3_bucket": "my-images",
    "uri": "gs://my-images/generated",
    "options": "{}",
    "max_cost_usd": 2.0,
}
DRY_RUN = {"job_id": "job-1", "cost_usd": 1.34, "items": 40, "images": 40, "prices_checked": "2026-12"}


def contexts() -> dict[str, dict[str, Any]]:
    ti = SimpleNamespace(xcom_pull=lambda **_: DRY_RUN)
    common = {"params": PARAMS, "ti": ti, "task_instance": ti}
    return {
        "scheduled": {
            **common,
            "ds": SCHEDULED_FOR.date().isoformat(),
            "logical_date": SCHEDULED_FOR,
            "run_id": "scheduled__2026-12-03T00:00:00+00:00",
            "dag_run": SimpleNamespace(logical_date=SCHEDULED_FOR, run_after=SCHEDULED_FOR),
        },
        "manual": {  # Airflow 3, triggered from the UI or REST without a logical date
            **common,
            "run_id": "manual__2026-12-04T09:30:00+00:00",
            "dag_run": SimpleNamespace(logical_date=None, run_after=TRIGGERED_AT),
        },
    }


def readme_templates() -> list[str]:
    """The quoted strings with a Jinja expression in README's Python blocks."""
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)
    return [text for block in blocks for text in re.findall(r'"([^"\n]*\{\{[^"\n]*\}\}[^"\n]*)"', block)]


def example_templates() -> list[str]:
    """The templated values, as Airflow sees them, of every task of every example DAG."""
    if not AIRFLOW_3:  # Airflow 2 looks a DatasetAlias schedule up in the metadata DB while parsing
        migrate_metadata_db()
    bag = dag_bag(str(REPO / "example_dags"))
    assert not bag.import_errors, bag.import_errors
    found: list[str] = []
    for dag in bag.dags.values():
        for task in dag.tasks:
            values = getattr(task, "partial_kwargs", None) or {}
            for field in task.template_fields:
                found += _strings(values.get(field, getattr(task, field, None)))
    return [text for text in found if "{{" in text]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


TEMPLATES = sorted({*readme_templates(), *example_templates()})


def test_the_readme_and_the_examples_have_templates_to_check():
    assert len(TEMPLATES) >= 10
    assert any("run_after" in template for template in TEMPLATES), "the dated prefixes are among them"


@pytest.mark.parametrize("run", ["scheduled", "manual"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_on_a_scheduled_and_a_manual_run(template: str, run: str):
    environment = DAG("templates", schedule=None, start_date=SCHEDULED_FOR).get_template_env()
    rendered = environment.from_string(template).render(**contexts()[run])
    assert "{{" not in rendered


def test_the_dated_prefix_falls_back_to_when_a_manual_run_was_triggered():
    environment = DAG("templates", schedule=None, start_date=SCHEDULED_FOR).get_template_env()
    template = environment.from_string("catalogue/{{ (dag_run.logical_date or dag_run.run_after) | ds }}")
    assert template.render(**contexts()["scheduled"]) == "catalogue/2026-12-03"
    assert template.render(**contexts()["manual"]) == "catalogue/2026-12-04"
