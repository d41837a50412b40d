"""What every operator that lands images adds: its destination argument, asset events and
OpenLineage outputs.

Each landing records one asset event on the *destination*: the asset ``s3://<bucket>/<prefix>``
(or ``gs://``, ``wasb://``, ... for the other stores), where the prefix is the part of the prefix
template before its first Jinja expression (so ``images/{{ ds }}`` is the one asset
``s3://bucket/images``, whatever the day), with the objects in the event's ``extra``. A daily DAG
keeps one asset, not thousands. The bucket may be templated, so the event goes through
:data:`DESTINATIONS_ALIAS`, which every landing task has in its outlets; schedule a DAG on
``Asset("s3://bucket/images")`` for one destination, or on the alias for all. With
``asset_alias``, each object also becomes its own asset event on that alias, for users who want
an asset per image. OpenLineage outputs are ``Dataset(namespace=<store and container>,
name=<key>)``; OpenLineage is imported only when its listener asks.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_nanobanana.jobs import ImageJobResult
    from airflow_provider_nanobanana.stores.destination import Destination


DESTINATIONS_ALIAS = "nanobanana-destinations"
_OBJECT_FIELDS = ("uri", "key", "size", "sha256", "content_type", "vendor", "job_id", "index")


class DestinationArgument(NamedTuple):
    """A landing operator's destination as the DAG gave it, read before ``BaseOperator.__init__``."""

    value: Any  # the dict, or what renders into one when the task runs (an XComArg), or None
    field: str  # "destination", or "s3_output" where the DAG used that name
    template: str | None  # its uri or prefix as written, before Jinja renders it: the asset's name
    declared: str | None  # the destination asset declared as an outlet (see landing_outlets)


def landing_outlets(outlets: Any, asset_alias: str | None, declared: str | None = None) -> list[Any]:
    """The task's outlets plus the destinations alias, ``AssetAlias(asset_alias)`` and the
    ``declared`` destination asset; call before ``BaseOperator.__init__``.

    A destination asset known when the DAG is parsed is declared so that Airflow's Assets page and
    lineage graph name this task as its producer before any run. Its event still goes through the
    alias, the one event per landing that alias and asset consumers both get:
    :meth:`LandsImages.pre_execute` takes the declaration out of the outlets Airflow records."""
    from airflow.providers.common.compat.sdk import Asset, AssetAlias

    merged = [*_given_outlets(outlets), AssetAlias(DESTINATIONS_ALIAS)]
    if asset_alias:
        merged.append(AssetAlias(asset_alias))
    if declared is not None:
        merged.append(Asset(declared))
    return merged


def _given_outlets(outlets: Any) -> list[Any]:
    """``outlets`` as the DAG gave them (one, a list, or None), as a list."""
    return list(outlets) if isinstance(outlets, list | tuple) else [] if outlets is None else [outlets]


def declarable_destination(given: Any, template: str | None, outlets: Any) -> str | None:
    """The destination asset of a DAG's destination dict whose store and container have no Jinja;
    None when only a run can tell, when the dict is invalid (the task names the field when it
    runs), when the DAG's own ``outlets`` declare its URI (Airflow records that event, as asked), and on
    Airflow 3.0, whose ``dag.test()`` fails a task declaring an asset no DAG processor registered."""
    from airflow.providers.common.compat.sdk import Asset
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

    from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
    from airflow_provider_nanobanana.stores.destination import Destination

    on_airflow_3_0 = AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS
    if on_airflow_3_0 or not isinstance(given, Mapping):
        return None
    try:
        located = Destination.from_mapping(given, name="destination").located()
    except NanoBananaInvalidRequestError:
        return None
    uri = destination_uri(located, template)
    # Airflow keeps one asset per URI, whatever its name: the DAG's own declaration stands.
    as_stored = Asset(uri).uri
    declared_by_dag = any(getattr(outlet, "uri", None) == as_stored for outlet in _given_outlets(outlets))
    return None if declared_by_dag else uri


def destination_outlets(destination: Any, s3_output: Any, kwargs: dict[str, Any]) -> DestinationArgument:
    """For an operator taking ``destination`` (or ``s3_output``, its first name): add the landing
    outlets to ``kwargs`` (before ``BaseOperator.__init__``) and return the destination as given."""
    from airflow_provider_nanobanana.validation import invalid

    if destination is not None and s3_output is not None:
        raise invalid("s3_output", s3_output, "not set beside destination, its newer name: one of the two")
    given, field = (s3_output, "s3_output") if s3_output is not None else (destination, "destination")
    if given is None:
        return DestinationArgument(None, field, None, None)
    is_dict = isinstance(given, dict)
    template = (given.get("uri") or given.get("prefix")) if is_dict else None
    declared = declarable_destination(given, template, kwargs.get("outlets"))
    kwargs["outlets"] = landing_outlets(
        kwargs.get("outlets"), given.get("asset_alias") if is_dict else None, declared
    )
    return DestinationArgument(given, field, template, declared)


def destination_uri(destination: Destination, template: str | None) -> str:
    """The destination asset: the store and container, and the prefix up to its first Jinja
    expression as ``template`` wrote it (whole path segments only), e.g. ``s3://bucket/images``
    or ``gs://bucket/images``; the container's root ends in ``/``, as Airflow writes it."""
    location = destination.location
    scheme = location.store.scheme
    written = destination.prefix if template is None else template
    if destination.uri is not None and template is not None:
        written = template.partition("://")[2]
        if scheme != "file":
            container, _, written = written.partition("/")
            if _JINJA.search(container):  # a templated container: its root
                written = ""
    static = _JINJA.split(written, maxsplit=1)[0]
    if static != written:
        static = static.rpartition("/")[0]
    static = "/".join(part for part in static.split("/") if part)
    if scheme == "file":
        return f"file:///{static}"
    where = f"{location.container}@{location.account}" if location.account else location.container
    return f"{scheme}://{where}/{static}"


_JINJA = re.compile(r"\{[{%#]")


class LandsImages:
    """Mixin for operators (``self.log`` is theirs) that land job images with :meth:`land_images`."""

    log: logging.Logger
    _landed: list[dict[str, Any]]
    destination: dict[str, Any] | None
    destination_field: str  # "destination", or "s3_output" where the DAG used that name
    declared_destination: str | None = None  # the destination asset landing_outlets declared
    outlets: list[Any]
    aws_conn_id: str | None

    def pre_execute(self, context: Context) -> None:
        """Airflow records an event on each declared outlet when the task succeeds, even one that
        landed nothing (a dry run); the declared destination's event goes through the alias
        instead, with the landing's objects, so its declaration leaves the outlets of this run."""
        from airflow.providers.common.compat.sdk import Asset

        if self.declared_destination is not None:
            self.outlets = [outlet for outlet in self.outlets if outlet != Asset(self.declared_destination)]
        super().pre_execute(context)  # type: ignore[misc]  # the operator's BaseOperator

    def landing_destination(self) -> Destination | None:
        """The checked destination the DAG's dict describes (rendered), or None without one."""
        if self.destination is None:
            return None
        from airflow_provider_nanobanana.stores.destination import Destination

        return Destination.from_mapping(
            self.destination, name=self.destination_field, aws_conn_id=self.aws_conn_id
        ).checked()

    def require_landing_for(self, hook: Any, destination: Destination | None) -> None:
        """A vendor whose answers carry the image bytes once (Gemini) leaves nothing to fetch
        later: refuse to start, before anything is paid for, unless this task lands them."""
        from airflow_provider_nanobanana.validation import invalid

        if hook.answers_inline_once and destination is None:
            raise invalid(
                "destination",
                None,
                f"a destination (at least {{'uri': ...}} or an S3 {{'bucket': ...}}): {hook.vendor_label} "
                "returns each image once, inside its answer, so it must land within this task",
            )

    def check_bucket(self, destination: Destination | None) -> None:
        """Before the first paid request (and in a dry run): the bucket, container or directory
        is there and reachable."""
        from airflow_provider_nanobanana.stores.container_check import check_destination

        if destination is not None:
            check_destination(destination, self.log)

    def land_images(
        self,
        context: Context,
        jobs: Sequence[Mapping[str, Any]],
        destination: Destination,
        *,
        prompt: str | None,
        prefix_template: str | None,
        in_hand: Sequence[ImageJobResult] = (),
    ) -> list[dict[str, Any]]:
        """Land ``jobs``; ``prefix_template`` is the prefix as the DAG wrote it, before rendering;
        ``in_hand`` holds results whose inline images this task has just read."""
        from airflow_provider_nanobanana.spend.prices import combined_cost
        from airflow_provider_nanobanana.stores.landing import land_jobs
        from airflow_provider_nanobanana.task_instance import TaskInstanceKey

        landed = land_jobs(
            jobs,
            destination,
            TaskInstanceKey.from_context(context),
            prompt=prompt,
            log=self.log,
            in_hand=in_hand,
        )
        self.record_objects_landed(context, destination, landed, prefix_template, combined_cost(jobs))
        return landed

    def record_objects_landed(
        self,
        context: Context,
        destination: Destination,
        landed: list[dict[str, Any]],
        prefix_template: str | None,
        cost: Mapping[str, Any],
    ) -> None:
        """:meth:`record_landing` for a few objects, listed in the destination event's extra."""
        from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

        objects: Any = [{name: item[name] for name in _OBJECT_FIELDS} for item in landed]
        if not AIRFLOW_V_3_1_PLUS:
            # Airflow 2 and 3.0 hash each extra value of an alias event (3.0's API server fails the
            # task's success on a list): the list goes as JSON text.
            objects = json.dumps(objects)
        self.record_landing(
            context,
            destination,
            prefix_template,
            count=len(landed),
            size=sum(item["size"] for item in landed),
            extra={"objects": objects},
            objects=landed,
            lineage=landed,
            cost=cost,
        )

    def record_landing(
        self,
        context: Context,
        destination: Destination,
        prefix_template: str | None,
        *,
        count: int,
        size: int,
        extra: Mapping[str, Any],
        objects: Iterable[dict[str, Any]],
        lineage: list[dict[str, Any]],
        cost: Mapping[str, Any],
    ) -> None:
        """One asset event on the destination for ``count`` objects of ``size`` bytes (plus
        ``extra`` and the ``cost`` of the images: ``cost_usd`` and ``cost_basis``), an event per
        object on ``asset_alias`` if set, and ``lineage`` (objects with ``bucket`` and ``key``) as
        this task's OpenLineage outputs, each with its share of the cost."""
        from airflow.providers.common.compat.sdk import Asset, AssetAlias

        self._landed = lineage
        # A summary an earlier version recorded has no cost: unknown.
        cost = {"cost_usd": cost.get("cost_usd"), "cost_basis": cost.get("cost_basis", "unknown")}
        self._lineage_cost = (cost["cost_usd"], cost["cost_basis"], count)
        uri = destination_uri(destination, prefix_template)
        counts = {
            "count": count,
            "bytes": size,
            "cost_usd": cost["cost_usd"],
            "cost_basis": cost["cost_basis"],
        }
        context["outlet_events"][AssetAlias(DESTINATIONS_ALIAS)].add(Asset(uri), extra={**counts, **extra})
        self.log.info("Recorded the landing as an asset event on %s.", uri)
        if destination.asset_alias:
            events = context["outlet_events"][AssetAlias(destination.asset_alias)]
            for item in objects:
                extra = {
                    name: item[name]
                    for name in ("sha256", "size", "content_type", "vendor", "job_id", "index")
                }
                events.add(Asset(item["uri"]), extra=extra)
            self.log.info("Recorded %d asset events on AssetAlias(%r).", count, destination.asset_alias)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_provider_nanobanana.spend.lineage import FACET_NAME, NanoBananaCostDatasetFacet

        landed = getattr(self, "_landed", [])
        cost, basis, images = getattr(self, "_lineage_cost", (None, "unknown", 0))
        # Each output carries the cost of the images it holds: its share of the landing's.
        share = images / len(landed) if landed else 0
        each = None if cost is None or not landed else round(cost / len(landed), 6)
        facet = NanoBananaCostDatasetFacet(costUsd=each, basis=basis, images=round(share))
        return OperatorLineage(
            outputs=[
                Dataset(
                    namespace=item["uri"].removesuffix(f"/{item['key']}"),
                    name=item["key"],
                    facets={FACET_NAME: facet},
                )
                for item in landed
            ]
        )
