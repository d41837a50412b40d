"""Cost as an OpenLineage dataset facet: what producing an output cost, beside the output itself.

Imported only when the OpenLineage listener asks a task for its lineage (the client library is
optional), like the rest of the provider's OpenLineage code.
"""

from __future__ import annotations

import attr

try:
    from openlineage.client.generated.base import DatasetFacet
except ImportError:  # no OpenLineage client installed, so no listener will ask for this facet
    DatasetFacet = object

FACET_NAME = "nanobanana_cost"
_SCHEMA = (
    "https://github.com/airflow-provider-nanobanana/airflow-provider-nanobanana/blob/main/docs/"
    "NanoBananaCostDatasetFacet.json#/$defs/NanoBananaCostDatasetFacet"
)


@attr.define
class NanoBananaCostDatasetFacet(DatasetFacet):
    """``costUsd`` for the ``images`` this dataset holds, and its ``basis``: ``reported`` (the
    vendor's usage), ``catalogue`` (published prices), ``override`` (the connection's prices)
    or ``unknown``."""

    costUsd: float | None  # OpenLineage facets name their fields in camelCase
    basis: str
    images: int

    @staticmethod
    def _get_schema() -> str:
        return _SCHEMA
