"""Each store's Airflow provider, imported only when a destination uses that store.

The Google and Azure providers are optional (the ``gcs`` and ``azure`` extras). A destination on
a store whose provider is missing is refused while its arguments are checked, before any paid
request, naming the extra that installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from airflow_provider_nanobanana.stores.location import Location
from airflow_provider_nanobanana.validation import invalid

_PROVIDER_MODULES = {
    "gs": ("airflow.providers.google.cloud.hooks.gcs", "apache-airflow-providers-google"),
    "abfs": ("airflow.providers.microsoft.azure.hooks.data_lake", "apache-airflow-providers-microsoft-azure"),
    "wasb": ("airflow.providers.microsoft.azure.hooks.wasb", "apache-airflow-providers-microsoft-azure"),
}


def provider_hooks(field: str, location: Location) -> ModuleType | None:
    """The hooks module of ``location``'s store (None for S3 and local files, which need none
    beyond this package's own dependencies)."""
    module_and_package = _PROVIDER_MODULES.get(location.store.scheme)
    if module_and_package is None:
        return None
    module, package = module_and_package
    try:
        return importlib.import_module(module)
    except ImportError:
        raise invalid(
            field,
            location.uri,
            f"{location.store.label} needs {package}: pip install "
            f"'airflow-provider-nanobanana[{location.store.extra}]'",
        ) from None
