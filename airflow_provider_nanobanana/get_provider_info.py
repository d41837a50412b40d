"""The provider's self-description, found by Airflow through the ``apache_airflow_provider`` entry point.

Third-party providers have no ``provider.yaml`` at run time, so this dict carries what a community
provider declares there, including the connection form metadata Airflow 3.2+ reads without
importing any hook.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_nanobanana import __version__
from airflow_provider_nanobanana.connection_forms import FORMS


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-nanobanana",
        "name": "Nano Banana",
        "description": "Generate and edit images with Nano Banana (Google Gemini image models) "
        "through ModelsLab, AceData Cloud or Google's Gemini API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Nano Banana",
                "external-doc-url": "https://github.com/airflow-provider-nanobanana/airflow-provider-nanobanana",
                "tags": ["ai"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Nano Banana",
                "python-modules": [
                    "airflow_provider_nanobanana.hooks.modelslab",
                    "airflow_provider_nanobanana.hooks.acedata",
                    "airflow_provider_nanobanana.hooks.gemini",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "Nano Banana",
                "python-modules": [
                    "airflow_provider_nanobanana.operators.generate",
                    "airflow_provider_nanobanana.operators.edit",
                    "airflow_provider_nanobanana.operators.img2img",
                    "airflow_provider_nanobanana.operators.batch",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Nano Banana",
                "python-modules": ["airflow_provider_nanobanana.sensors.image_job"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Nano Banana",
                "python-modules": [
                    "airflow_provider_nanobanana.triggers.image_job",
                    "airflow_provider_nanobanana.triggers.batch",
                ],
            }
        ],
        "transfers": [
            {
                "source-integration-name": "Nano Banana",
                "target-integration-name": "Amazon Simple Storage Service (S3)",
                "python-module": "airflow_provider_nanobanana.transfers.images_to_s3",
            }
        ],
        "extra-links": ["airflow_provider_nanobanana.links.NanoBananaImageLink"],
        "connection-types": [form.provider_info_entry() for form in FORMS],
        "config": {
            "nanobanana": {
                "description": "Settings of the Nano Banana provider.",
                "options": {
                    "min_deferral_seconds": {
                        "description": "Seconds after a task defers before its trigger first polls. "
                        "A trigger that fires before the scheduler has handled the exit of the "
                        "process that deferred meets Airflow's defer-exit race, which fails the try "
                        "(apache/airflow issue 67287). dag.test() has no scheduler: 0 is safe there.",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "0",
                        "default": "15",
                    }
                },
            }
        },
    }
