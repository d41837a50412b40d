"""The Airflow APIs the tests reach that moved between 2.11 and 3.3, and skips for what only newer
Airflow has. The provider itself goes through ``apache-airflow-providers-common-compat``; the tests
also touch Airflow internals (DagBag, asset event rows, the outlet-event accessor)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from typing import Any

import pytest
from airflow import __version__
from packaging.version import Version

AIRFLOW = Version(Version(__version__).base_version)
AIRFLOW_3 = Version("3.0") <= AIRFLOW

needs_airflow_3 = pytest.mark.skipif(
    not AIRFLOW_3, reason=f"needs Airflow 3 (API server, task SDK); this is {__version__}"
)
declares_destinations = pytest.mark.skipif(
    Version("3.0") <= AIRFLOW < Version("3.1"),
    reason="Airflow 3.0's dag.test() fails a task declaring an asset no DAG processor registered: "
    "the operators declare no destination there",
)


@functools.cache
def migrate_metadata_db() -> None:
    """Migrate the session's SQLite metadata DB (in the AIRFLOW_HOME conftest set), once."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def dag_bag(folder: str) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=folder)


def outlet_event_accessors() -> Any:
    try:
        from airflow.sdk.execution_time.context import OutletEventAccessors
    except ImportError:  # Airflow 2
        from airflow.utils.context import OutletEventAccessors
    return OutletEventAccessors()


def asset_event_model() -> Any:
    """The table asset events land in: ``AssetEvent`` on Airflow 3, ``DatasetEvent`` on 2."""
    try:
        from airflow.models.asset import AssetEvent
    except ImportError:
        from airflow.models.dataset import DatasetEvent as AssetEvent
    return AssetEvent


def asset_model() -> Any:
    """The table assets are registered in: ``AssetModel`` on Airflow 3, ``DatasetModel`` on 2."""
    try:
        from airflow.models.asset import AssetModel
    except ImportError:
        from airflow.models.dataset import DatasetModel as AssetModel
    return AssetModel


def alias_events(context: Any, alias: str) -> list[tuple[str, dict[str, Any]]]:
    """``(asset uri, extra)`` of each event a task recorded in ``context`` on the alias named ``alias``."""
    from airflow.providers.common.compat.sdk import AssetAlias

    accessor = context["outlet_events"][AssetAlias(alias)]
    if hasattr(accessor, "asset_alias_events"):
        return [(event.dest_asset_key.uri, readable(event.extra)) for event in accessor.asset_alias_events]
    return [(event["dest_dataset_uri"], readable(event["extra"])) for event in accessor.dataset_alias_events]


def asset_uri(uri: str) -> str:
    """``uri`` as Airflow stores an asset's: Airflow 2 and 3.0 take an Azure ``container@`` for
    credentials and drop it (so one account's containers share an asset there)."""
    if Version("3.1") <= AIRFLOW or "@" not in uri:
        return uri
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.partition('@')[2]}"


def readable(extra: dict[str, Any]) -> dict[str, Any]:
    """A destination event's extra with its ``objects`` as a list: on Airflow 2 and 3.0, which hash
    each extra value of an alias event, the provider writes them as JSON text."""
    if Version("3.1") <= AIRFLOW:  # a list, as consumers read it
        return extra
    return {**extra, "objects": json.loads(extra["objects"])} if "objects" in extra else extra
