"""Airflow finds the provider, its two connection types and hooks, and both UI declarations agree."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_nanobanana.connection_forms import FORMS
from airflow_provider_nanobanana.get_provider_info import get_provider_info
from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.gemini import GeminiHook
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook

HOOKS = {
    "nanobanana_modelslab": ModelsLabHook,
    "nanobanana_acedata": AceDataHook,
    "nanobanana_gemini": GeminiHook,
}


def entry_point():
    (point,) = [
        ep
        for ep in importlib.metadata.entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_nanobanana")
    ]
    return point


def test_entry_point_loads_provider_info_that_passes_airflow_schema():
    info = entry_point().load()()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    assert info == get_provider_info()


def test_package_name_equals_distribution_name():
    assert get_provider_info()["package-name"] == entry_point().dist.name == "airflow-provider-nanobanana"


def test_providers_manager_finds_both_connection_types_and_hooks():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.providers["airflow-provider-nanobanana"].version == importlib.metadata.version(
        "airflow-provider-nanobanana"
    )
    for conn_type, hook_class in HOOKS.items():
        hook_info = manager.hooks[conn_type]
        assert hook_info is not None
        assert hook_info.hook_class_name == f"{hook_class.__module__}.{hook_class.__name__}"
        assert hook_info.hook_name == hook_class.hook_name
        assert hook_info.connection_testable


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.conn_type)
def test_provider_info_ui_declaration_matches_hook_method(form):
    entry = next(
        item for item in get_provider_info()["connection-types"] if item["connection-type"] == form.conn_type
    )
    hook_class = HOOKS[form.conn_type]
    python_side = hook_class.get_ui_field_behaviour()
    yaml_side = entry["ui-field-behaviour"]
    assert yaml_side["hidden-fields"] == python_side["hidden_fields"]
    assert yaml_side["relabeling"] == python_side["relabeling"]
    assert yaml_side["placeholders"] == python_side["placeholders"]
    assert entry["hook-class-name"] == f"{hook_class.__module__}.{hook_class.__name__}"
    assert hook_class.conn_type == form.conn_type
    assert "get_ui_field_behaviour" in hook_class.__dict__, "Airflow only reads it from the class itself"


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.conn_type)
def test_every_conn_field_is_an_extra_the_hook_reads(form):
    modules = (HOOKS[form.conn_type].__module__, "airflow_provider_nanobanana.hooks.base")
    sources = "".join(Path(sys.modules[module].__file__).read_text() for module in modules)
    for name in form.conn_fields:
        assert f'"{name}"' in sources, f"{name} is offered in the form but never read"


def test_api_key_field_is_the_masked_password_and_unused_fields_are_hidden():
    for form in FORMS:
        behaviour = form.ui_field_behaviour()
        assert set(behaviour["hidden_fields"]) == {"schema", "port", "login"}
        assert "API" in behaviour["relabeling"]["password"]


def test_importing_provider_info_is_cheap():
    code = (
        "import sys, airflow_provider_nanobanana.get_provider_info as p; p.get_provider_info();"
        "heavy = [m for m in ('airflow', 'httpx', 'PIL') if m in sys.modules]; print(heavy)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_every_declared_module_imports():
    import importlib

    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        modules = [module for entry in info[section] for module in entry["python-modules"]]
        assert modules, section
        for module in modules:
            importlib.import_module(module)
    for transfer in info["transfers"]:
        importlib.import_module(transfer["python-module"])


def test_every_declared_extra_link_imports_as_an_operator_link():
    import importlib

    from airflow.providers.common.compat.sdk import BaseOperatorLink

    for path in get_provider_info()["extra-links"]:
        module, _, name = path.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), name), BaseOperatorLink)
