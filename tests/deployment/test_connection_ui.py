"""The Add Connection form, in headless Chromium against the deployment's API server.

For each provider connection type the form shows the provider's labels and placeholders, hides
the standard fields the hooks do not use, masks the key, and offers the typed extra fields; a
connection saved through the form reads back over the REST API with the values typed in.
Screenshots of both forms (standard and extra fields) go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_nanobanana.connection_forms import (
    ACEDATA_FORM,
    GEMINI_FORM,
    MODELSLAB_FORM,
    ConnectionForm,
)
from airflow_provider_nanobanana.emulator import Emulator
from airflow_provider_nanobanana.emulator.settings import DEFAULT_ACEDATA_TOKEN

from .debian import ensure_installed
from .deployment import PASSWORD, USER, AirflowDeployment

pytestmark = pytest.mark.deployment

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STANDARD_FIELDS = {
    "host": "Host",
    "password": "Password",
    "login": "Login",
    "schema": "Schema",
    "port": "Port",
}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    ensure_installed("chromium", str(CHROMIUM))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def add_connection_form(browser, airflow: AirflowDeployment):
    """A signed-in page with the Add Connection dialog open."""
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.goto(f"{airflow.url}/")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{airflow.url}/", timeout=30_000)
    page.goto(f"{airflow.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    yield page, page.get_by_role("dialog")
    page.close()


def pick_type(page, dialog, form: ConnectionForm) -> None:
    dialog.get_by_role("combobox").fill(form.hook_name)
    page.get_by_role("option", name=form.hook_name, exact=True).click()


def open_extra_fields(dialog, form: ConnectionForm) -> None:
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    for extra in form.conn_fields.values():
        dialog.get_by_text(extra["label"]).first.wait_for(state="visible")


@pytest.mark.parametrize(
    "form", [MODELSLAB_FORM, ACEDATA_FORM, GEMINI_FORM], ids=["modelslab", "acedata", "gemini"]
)
def test_add_connection_form_shows_the_providers_fields_and_masks_the_key(add_connection_form, form):
    page, dialog = add_connection_form

    pick_type(page, dialog, form)

    key = dialog.locator("input[name=password]")
    assert key.get_attribute("type") == "password", "the key is masked"
    for name, label in form.relabeling.items():
        assert dialog.get_by_text(label, exact=True).is_visible()
        assert dialog.locator(f"input[name={name}]").get_attribute("placeholder") == form.placeholders[name]
    for hidden in ("login", "schema", "port"):
        assert dialog.locator(f"input[name={hidden}]").count() == 0, f"{hidden} should be hidden"
        assert dialog.get_by_text(STANDARD_FIELDS[hidden], exact=True).count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"connection-form-{form.conn_type}.png"))
    open_extra_fields(dialog, form)
    for name in form.conn_fields:
        # Inputs carry the field's name; the JSON editor of an object field (prices) its id.
        assert dialog.locator(f"[name=element_{name}], #element_{name}").count() >= 1, name
    page.screenshot(path=str(ARTIFACTS / f"connection-form-{form.conn_type}-extra-fields.png"))


def test_a_connection_saved_through_the_form_reads_back_over_the_rest_api(
    add_connection_form, airflow: AirflowDeployment, vendor: Emulator
):
    page, dialog = add_connection_form
    pick_type(page, dialog, ACEDATA_FORM)
    dialog.locator("input[name=connection_id]").fill("acedata_from_the_form")
    dialog.locator("input[name=host]").fill(vendor.url)
    dialog.locator("input[name=password]").fill(DEFAULT_ACEDATA_TOKEN)
    open_extra_fields(dialog, ACEDATA_FORM)
    dialog.locator("input[name=element_max_retries]").fill("2")

    dialog.get_by_role("button", name="Save").click()
    page.get_by_role("dialog").wait_for(state="detached", timeout=15_000)

    saved = airflow.api.get("/connections/acedata_from_the_form").json()
    assert (saved["conn_type"], saved["host"]) == ("nanobanana_acedata", vendor.url)
    assert saved["password"] == "***", "the REST API never shows the key"
    assert int(json.loads(saved["extra"])["max_retries"]) == 2
    tested = airflow.airflow("connections", "test", "acedata_from_the_form")
    assert "Connection success!" in tested.stdout, "the key typed in the form is the one saved"
