"""Prices per image: the catalogue's Gemini token arithmetic, connection overrides and their order,
the vendors that publish none, and a job's cost from reported usage."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.spend.prices import (
    BilledAs,
    combined_cost,
    parse_prices,
    price_of,
)


def gemini(model: str = "gemini-3.1-flash-image", size: str | None = "1K", **kwargs) -> BilledAs:
    return BilledAs("Gemini", model, size, **kwargs)


@pytest.mark.parametrize(
    ("model", "size", "usd"),
    [
        ("gemini-3.1-flash-image", "512", 0.04482),
        ("gemini-3.1-flash-image", "1K", 0.0672),
        ("gemini-3.1-flash-image", "2K", 0.1008),
        ("gemini-3.1-flash-image", "4K", 0.1512),
        ("gemini-2.5-flash-image", "1K", 0.0387),
        ("gemini-3.1-flash-lite-image", "1K", 0.0336),
    ],
)
def test_a_gemini_image_costs_its_image_tokens_at_the_models_output_rate(model, size, usd):
    price = price_of(gemini(model, size), {}, "gemini")

    assert price.usd == pytest.approx(usd)
    assert (price.basis, price.label) == ("catalogue", f"Gemini {model} {size}")


def test_gemini_batch_bills_half_and_says_so_in_its_label():
    price = price_of(gemini(size="2K", batch=True), {}, "gemini")

    assert price.usd == pytest.approx(0.1008 / 2)
    assert price.label == "Gemini gemini-3.1-flash-image 2K batch"


def test_a_thinking_answer_and_input_images_add_their_tokens_to_the_estimate():
    plain = price_of(gemini("gemini-3-pro-image", "1K"), {}, "gemini").usd
    thinking = price_of(gemini("gemini-3-pro-image", "1K", thinks=True, input_images=2), {}, "gemini").usd

    assert plain == pytest.approx(1120 * 120 / 1e6)
    assert thinking == pytest.approx(plain + 1000 * 12 / 1e6 + 2 * 560 * 2 / 1e6)


@pytest.mark.parametrize(
    ("prices", "key"),
    [
        ({"nb2 2K interactive": 0.05, "nb2 2K": 0.06, "*": 0.01}, "nb2 2K interactive"),
        ({"nb2 2K": 0.06, "nb2 interactive": 0.07, "nb2": 0.08}, "nb2 2K"),
        ({"nb2 interactive": 0.07, "nb2": 0.08}, "nb2 interactive"),
        ({"nb2": 0.08, "*": 0.01}, "nb2"),
        ({"nano-banana-pro": 0.2, "*": 0.01}, "*"),
    ],
)
def test_the_most_specific_connection_price_wins(prices, key):
    price = price_of(BilledAs("AceData", "nb2", "2K"), prices, "acedata")

    assert (price.usd, price.basis) == (prices[key], "override")
    assert repr(key) in price.source


def test_a_connection_price_overrides_the_catalogue():
    price = price_of(gemini(), {"gemini-3.1-flash-image": 0.05}, "gemini")

    assert (price.usd, price.basis) == (0.05, "override")


@pytest.mark.parametrize(
    ("vendor", "says"), [("acedata", "AceData publishes"), ("modelslab", "ModelsLab publishes")]
)
def test_vendors_that_publish_no_price_have_none_and_say_why(vendor, says):
    price = price_of(BilledAs(vendor, "nano-banana", "1K"), {}, vendor)

    assert (price.usd, price.basis) == (None, "unknown")
    assert says in price.source


@pytest.mark.parametrize(
    "value",
    ['{"nano-banana": -1}', "not json", '["nano-banana", 0.04]', {"nano-banana": "cheap"}, {"x": True}],
)
def test_a_malformed_prices_extra_is_refused_naming_the_field_and_the_format(value):
    with pytest.raises(NanoBananaInvalidRequestError) as raised:
        parse_prices(value)

    assert raised.value.field == "connection extra prices"
    assert "USD per image" in raised.value.allowed


def test_the_prices_extra_may_be_a_dict_or_its_json_text():
    assert parse_prices('{"nb": 0.04}') == parse_prices({"nb": 0.04}) == {"nb": 0.04}
    assert parse_prices(None) == {}


def test_reported_usage_is_priced_token_by_token_at_each_rate_and_batch_share():
    price = price_of(gemini(size="2K", batch=True), {}, "gemini")
    usage = {"prompt": 40, "image": 1680, "text": 12}

    cost, basis = price.cost(1, usage)

    assert basis == "reported"
    assert cost == pytest.approx((40 * 0.5 + 1680 * 60 + 12 * 3) / 1e6 / 2, abs=1e-6)


def test_a_connection_price_is_what_the_account_pays_even_when_usage_is_reported():
    price = price_of(gemini(), {"*": 0.05}, "gemini")

    assert price.cost(2, {"prompt": 1, "image": 1120, "text": 0}) == (0.1, "override")


def test_without_usage_a_job_costs_its_delivered_images_at_the_price():
    price = price_of(BilledAs("AceData", "nano-banana", "1K"), {"*": 0.04}, "acedata")

    assert price.cost(3, None) == (0.12, "override")
    assert price_of(BilledAs("AceData", "x", "1K"), {}, "acedata").cost(3, None) == (None, "unknown")


def test_costs_of_several_jobs_add_up_and_an_unknown_one_makes_the_sum_unknown():
    reported = {"cost_usd": 0.07, "cost_basis": "reported"}
    catalogue = {"cost_usd": 0.03, "cost_basis": "catalogue"}

    assert combined_cost([reported, reported]) == {"cost_usd": 0.14, "cost_basis": "reported"}
    assert combined_cost([reported, catalogue]) == {"cost_usd": 0.1, "cost_basis": "mixed"}
    assert combined_cost([reported, {"cost_usd": None, "cost_basis": "unknown"}])["cost_usd"] is None


def test_the_connection_form_shows_the_same_prices_format_the_errors_give():
    from airflow_provider_nanobanana.connection_forms import FORMS
    from airflow_provider_nanobanana.spend.prices import PRICES_EXAMPLE

    for form in FORMS:
        assert PRICES_EXAMPLE in form.conn_fields["prices"]["description"]
