"""What every operator that writes images to S3 adds: asset events and OpenLineage outputs.

Keys are only known once the images exist, so assets go through an ``AssetAlias`` in the task's
outlets, one asset event per object: a downstream DAG scheduled on the alias runs for new images.
OpenLineage outputs are ``Dataset(namespace="s3://<bucket>", name=<key>)``; OpenLineage is
imported only when its listener asks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_nanobanana.s3.destination import S3Destination


def outlets_with_alias(outlets: Any, asset_alias: str | None) -> list[Any]:
    """The task's outlets plus ``AssetAlias(asset_alias)``; call before ``BaseOperator.__init__``."""
    merged = list(outlets) if isinstance(outlets, list | tuple) else [] if outlets is None else [outlets]
    if asset_alias:
        from airflow.providers.common.compat.sdk import AssetAlias

        merged.append(AssetAlias(asset_alias))
    return merged


class LandsImagesInS3:
    """Mixin for operators (``self.log`` is theirs) that land job images with :meth:`land_in_s3`."""

    log: logging.Logger
    _landed: list[dict[str, Any]]

    def land_in_s3(
        self,
        context: Context,
        jobs: Sequence[Mapping[str, Any]],
        destination: S3Destination,
        *,
        prompt: str | None,
    ) -> list[dict[str, Any]]:
        from airflow_provider_nanobanana.s3.landing import RunKeys, land_jobs

        self._landed = land_jobs(
            jobs, destination, RunKeys.from_context(context), prompt=prompt, log=self.log
        )
        if destination.asset_alias:
            from airflow.providers.common.compat.sdk import Asset, AssetAlias

            events = context["outlet_events"][AssetAlias(destination.asset_alias)]
            for item in self._landed:
                extra = {
                    name: item[name]
                    for name in ("sha256", "size", "content_type", "vendor", "job_id", "index")
                }
                events.add(Asset(item["uri"]), extra=extra)
            self.log.info(
                "Recorded %d asset events on AssetAlias(%r).", len(self._landed), destination.asset_alias
            )
        return self._landed

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        landed = getattr(self, "_landed", [])
        return OperatorLineage(
            outputs=[Dataset(namespace=f"s3://{item['bucket']}", name=item["key"]) for item in landed]
        )
