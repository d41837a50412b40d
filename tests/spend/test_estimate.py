"""The estimate line every task logs before paying, the cap that fails before any request, and the
templated values (``max_cost_usd``, ``dry_run``) as they render."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_nanobanana.exceptions import NanoBananaBudgetError, NanoBananaInvalidRequestError
from airflow_provider_nanobanana.spend.estimate import Estimate, check_cap_value, check_dry_run, paid_line
from airflow_provider_nanobanana.spend.prices import BilledAs, price_of

NB2 = price_of(BilledAs("AceData", "nano-banana-2", "2K"), {"nano-banana-2": 0.067}, "acedata")
UNPRICED = price_of(BilledAs("AceData", "nano-banana-pro", "4K"), {}, "acedata")


def estimate_of(*groups) -> Estimate:
    estimate = Estimate()
    for price, images in groups:
        estimate.add(price, images)
    return estimate


def test_the_estimate_line_names_the_count_the_total_the_price_and_when_it_was_checked():
    line = estimate_of((NB2, 5000)).line()

    assert line == (
        "Will pay for at most 5,000 images: about $335.00 (AceData nano-banana-2 2K, $0.067 each "
        "from the connection's prices)."
    )


def test_catalogue_prices_say_when_they_were_checked():
    catalogue = price_of(BilledAs("Gemini", "gemini-3.1-flash-image", "1K"), {}, "gemini")

    assert estimate_of((catalogue, 10)).line() == (
        "Will pay for at most 10 images: about $0.672 (Gemini gemini-3.1-flash-image 1K, $0.0672 each; "
        "prices checked 2026-12)."
    )


def test_an_unknown_price_says_where_to_set_it():
    line = estimate_of((NB2, 1), (UNPRICED, 2)).line()

    assert line.startswith("Will pay for at most 3 images; the price is unknown: AceData nano-banana-pro")
    assert "connection's prices extra" in line


def test_an_estimate_above_the_cap_fails_without_retries_naming_estimate_cap_and_price():
    with pytest.raises(NanoBananaBudgetError) as raised:
        estimate_of((NB2, 20)).check_cap(1.0)

    error = raised.value
    assert isinstance(error, AirflowFailException)
    assert (error.estimate_usd, error.cap_usd) == (pytest.approx(1.34), 1.0)
    for said in ("$1.34", "max_cost_usd=$1.00", "$0.067 each", "Nothing was sent"):
        assert said in str(error)


def test_an_estimate_equal_to_the_cap_passes():
    estimate_of((NB2, 100)).check_cap(6.7)


def test_earlier_tries_count_against_the_cap():
    with pytest.raises(NanoBananaBudgetError, match=r"plus \$0.50 earlier tries paid"):
        estimate_of((NB2, 10)).check_cap(1.0, paid_before=0.5)


def test_a_cap_with_an_unknown_price_fails_saying_how_to_set_it():
    with pytest.raises(NanoBananaBudgetError, match="Set it in the connection's prices extra"):
        estimate_of((UNPRICED, 1)).check_cap(10.0)
    estimate_of((UNPRICED, 1)).check_cap(None)  # no cap: an unknown price only shows in the line


@pytest.mark.parametrize(("value", "cap"), [(None, None), ("", None), (2, 2.0), ("1.5", 1.5), (0, 0.0)])
def test_max_cost_usd_renders_from_a_number_or_its_text(value, cap):
    assert check_cap_value(value) == cap


@pytest.mark.parametrize("value", ["cheap", -1, True, "nan", [1]])
def test_a_bad_max_cost_usd_is_refused_before_anything_is_sent(value):
    with pytest.raises(NanoBananaInvalidRequestError, match="max_cost_usd"):
        check_cap_value(value)


@pytest.mark.parametrize(("value", "dry"), [(True, True), ("False", False), (" true ", True)])
def test_dry_run_renders_from_a_bool_or_its_text(value, dry):
    assert check_dry_run(value) is dry


def test_a_bad_dry_run_is_refused():
    with pytest.raises(NanoBananaInvalidRequestError, match="dry_run"):
        check_dry_run("yes")


@pytest.mark.parametrize(
    ("cost", "basis", "line"),
    [
        (0.0694, "reported", "Paid $0.0694 for 1 image (from the usage the vendor reported)."),
        (0.134, "catalogue", "Paid about $0.134 for 1 image (at catalogue prices, checked 2026-12)."),
        (None, "unknown", "Paid for 1 image at an unknown price"),
    ],
)
def test_the_last_line_says_what_was_paid_and_on_what_basis(cost, basis, line):
    assert paid_line(cost, basis, 1).startswith(line)
