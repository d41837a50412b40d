"""What the Add Connection form shows for each vendor, declared once.

Airflow 3.2+ reads ``conn-fields`` and ``ui-field-behaviour`` from provider info without importing
the hooks; older UIs call each hook's ``get_ui_field_behaviour()``. Both are rendered from the
definitions below so they cannot disagree. This module is plain data: provider discovery imports
it, so it must stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_HIDDEN_FIELDS = ("schema", "port", "login")


def _optional(kind: str, **schema: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **schema}


_TIMEOUT_FIELD = {
    "label": "Request timeout (seconds)",
    "description": "How long one HTTP request may take before it is abandoned. Default 60.",
    "schema": _optional("number", minimum=1),
}
_RETRIES_FIELD = {
    "label": "Retry budget",
    "description": "Retries after the first attempt on connection errors, 429 and 5xx. Default 3. "
    "Generation requests are only re-sent when the vendor cannot have accepted them.",
    "schema": _optional("integer", minimum=0, maximum=10),
}

# The same example as spend/prices.py gives in its errors; kept here as text so that provider
# discovery, which imports this module, stays cheap.
_PRICES_FIELD = {
    "label": "Prices (USD per image)",
    "description": "What this account pays per image, overriding the published prices (ModelsLab "
    "and AceData publish none): a JSON object keyed by model, 'model size', 'model mode' or "
    "'model size mode' (mode: interactive or batch), or '*', e.g. "
    '{"nano-banana-2": 0.067, "nano-banana-pro 4K": 0.24, "gemini-3-pro-image batch": 0.06}. '
    "Estimates, max_cost_usd and the cost in every record use it.",
    "schema": _optional("object"),
}


@dataclass(frozen=True)
class ConnectionForm:
    """The standard-field behaviour and the typed extra fields of one connection type."""

    conn_type: str
    hook_class_name: str
    hook_name: str
    relabeling: dict[str, str]
    placeholders: dict[str, str]
    conn_fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ui_field_behaviour(self) -> dict[str, Any]:
        """The dict ``get_ui_field_behaviour()`` returns (the pre-3.2 UI's spelling)."""
        return {
            "hidden_fields": list(_HIDDEN_FIELDS),
            "relabeling": dict(self.relabeling),
            "placeholders": dict(self.placeholders),
        }

    def provider_info_entry(self) -> dict[str, Any]:
        """The ``connection-types`` item of provider info (the 3.2+ spelling)."""
        return {
            "connection-type": self.conn_type,
            "hook-class-name": self.hook_class_name,
            "hook-name": self.hook_name,
            "conn-fields": self.conn_fields,
            "ui-field-behaviour": {
                "hidden-fields": list(_HIDDEN_FIELDS),
                "relabeling": dict(self.relabeling),
                "placeholders": dict(self.placeholders),
            },
        }


MODELSLAB_FORM = ConnectionForm(
    conn_type="nanobanana_modelslab",
    hook_class_name="airflow_provider_nanobanana.hooks.modelslab.ModelsLabHook",
    hook_name="Nano Banana (ModelsLab)",
    relabeling={"password": "API Key", "host": "Base URL"},
    placeholders={
        "password": "your ModelsLab API key (the enterprise server key for the enterprise API)",
        "host": "https://modelslab.com (leave empty unless you use a proxy or the emulator)",
        "extra": '{"api_family": "enterprise", "timeout": 60, "max_retries": 3}',
    },
    conn_fields={
        "api_family": {
            "label": "API family",
            "description": "enterprise: your dedicated nano_banana server (/api/v1/enterprise/nano_banana); "
            "v7: the shared /api/v7/images endpoints.",
            "schema": _optional("string", enum=["enterprise", "v7", None], default="enterprise"),
        },
        "timeout": _TIMEOUT_FIELD,
        "max_retries": _RETRIES_FIELD,
        "prices": _PRICES_FIELD,
    },
)

ACEDATA_MODELS = (
    "nano-banana",
    "nano-banana-2-lite",
    "nano-banana-2",
    "nano-banana-pro",
    "nano-banana:official",
    "nano-banana-2-lite:official",
    "nano-banana-2:official",
    "nano-banana-pro:official",
)

ACEDATA_FORM = ConnectionForm(
    conn_type="nanobanana_acedata",
    hook_class_name="airflow_provider_nanobanana.hooks.acedata.AceDataHook",
    hook_name="Nano Banana (AceData Cloud)",
    relabeling={"password": "API Token", "host": "Base URL"},
    placeholders={
        "password": "your AceData Cloud token; its allowed APIs must include /nano-banana/images and /tasks",
        "host": "https://api.acedata.cloud (leave empty unless you use a proxy or the emulator)",
        "extra": '{"default_model": "nano-banana", "timeout": 60, "max_retries": 3}',
    },
    conn_fields={
        "default_model": {
            "label": "Default model",
            "description": "Model used when a task does not name one.",
            "schema": _optional("string", enum=[*ACEDATA_MODELS, None], default="nano-banana"),
        },
        "timeout": _TIMEOUT_FIELD,
        "max_retries": _RETRIES_FIELD,
        "prices": _PRICES_FIELD,
    },
)

GEMINI_MODELS = (
    "gemini-3.1-flash-image",
    "gemini-3.1-flash-lite-image",
    "gemini-3-pro-image",
    "gemini-nano-banana-2.1",
    "gemini-2.5-flash-image",
    "gemini-3-pro-image-preview",
    "gemini-3.1-flash-image-preview",
)

GEMINI_FORM = ConnectionForm(
    conn_type="nanobanana_gemini",
    hook_class_name="airflow_provider_nanobanana.hooks.gemini.GeminiHook",
    hook_name="Nano Banana (Google Gemini API)",
    relabeling={"password": "API Key", "host": "Base URL"},
    placeholders={
        "password": "your Gemini API key from Google AI Studio (sent as x-goog-api-key)",
        "host": "https://generativelanguage.googleapis.com (leave empty unless you use a proxy or the "
        "emulator)",
        "extra": '{"default_model": "gemini-3.1-flash-image", "timeout": 60, "max_retries": 3}',
    },
    conn_fields={
        "default_model": {
            "label": "Default model",
            "description": "Model used when a task does not name one.",
            "schema": _optional("string", enum=[*GEMINI_MODELS, None], default=GEMINI_MODELS[0]),
        },
        "timeout": _TIMEOUT_FIELD,
        "max_retries": _RETRIES_FIELD,
        "prices": _PRICES_FIELD,
    },
)

FORMS = (MODELSLAB_FORM, ACEDATA_FORM, GEMINI_FORM)
