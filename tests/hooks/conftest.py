"""Hook fixtures: each hook talks to the emulator over real HTTP, with fast retries."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.hooks.acedata import AceDataHook
from airflow_provider_nanobanana.hooks.gemini import GeminiHook
from airflow_provider_nanobanana.hooks.modelslab import ModelsLabHook

MODELSLAB_KEY = "modelslab-test-key"
ACEDATA_KEY = "acedata-test-key"


@pytest.fixture
def modelslab(emulator):
    with ModelsLabHook(retry_delay=0.05) as hook:
        yield hook


@pytest.fixture
def modelslab_v7(emulator):
    with ModelsLabHook(api_family="v7", retry_delay=0.05) as hook:
        yield hook


@pytest.fixture
def acedata(emulator):
    with AceDataHook(retry_delay=0.05) as hook:
        yield hook


@pytest.fixture
def gemini(emulator):
    with GeminiHook(retry_delay=0.05) as hook:
        yield hook
