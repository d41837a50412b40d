"""Which hook serves a connection or a vendor, so operators and triggers never name a vendor themselves."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

from airflow_provider_nanobanana import airflow_lookups
from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.base import NanoBananaBaseHook
from airflow_provider_nanobanana.hooks.gemini import GeminiHook
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook
from airflow_provider_nanobanana.jobs import Vendor

HOOK_CLASSES: tuple[type[NanoBananaBaseHook], ...] = (ModelsLabHook, AceDataHook, GeminiHook)


def hook_for_vendor(vendor: Vendor | str, conn_id: str, **hook_params: Any) -> NanoBananaBaseHook:
    vendor = Vendor(vendor)
    hook_class = next(cls for cls in HOOK_CLASSES if cls.vendor is vendor)
    return hook_class(conn_id, **hook_params)


def hook_for_connection(conn_id: str, **hook_params: Any) -> NanoBananaBaseHook:
    """Pick the hook from the connection's type: moving a DAG between vendors is a ``conn_id`` change.

    A missing connection is bad input like any other: a retry cannot create it. It is believed
    missing only once Airflow has said so for a while (see ``airflow_lookups``).
    """
    known = ", ".join(cls.conn_type for cls in HOOK_CLASSES)
    looks = len(airflow_lookups.RECHECK_DELAYS) + 1
    conn_type = airflow_lookups.confirmed_lookup(lambda: _connection_type(conn_id), f"connection {conn_id!r}")
    if conn_type is None:
        raise NanoBananaInvalidRequestError(
            f"Connection {conn_id!r} does not exist (looked up {looks} times "
            f"over {sum(airflow_lookups.RECHECK_DELAYS):.0f} s); create one of type {known}.",
            field="conn_id",
            value=conn_id,
            allowed=f"an existing connection of type {known}",
        )
    for hook_class in HOOK_CLASSES:
        if hook_class.conn_type == conn_type:
            return hook_class(conn_id, **hook_params)
    raise NanoBananaInvalidRequestError(
        f"Connection {conn_id!r} has type {conn_type!r}; Nano Banana operators need one of: {known}.",
        field="conn_id",
        value=conn_id,
        allowed=known,
    )


def _connection_type(conn_id: str) -> str | None:
    try:
        return BaseHook.get_connection(conn_id).conn_type
    except AirflowNotFoundException:
        return None
