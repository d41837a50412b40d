"""The price of one image of one request, and what a finished job cost.

A hook says what a request is billed as (:class:`BilledAs`: the vendor's model, size and mode);
this module prices it: first from the connection's ``prices`` extra, so a negotiated rate or a
new model needs no release, then from the :mod:`catalogue`. A job's cost comes from the usage the
vendor reported where it reports any (Gemini's ``usageMetadata``), else from the price per image
times the images delivered; each cost says which (its *basis*).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_nanobanana.spend.catalogue import (
    BATCH_SHARE,
    GEMINI_RATES,
    INPUT_IMAGE_TOKENS,
    THOUGHT_ALLOWANCE,
    UNPUBLISHED,
    GeminiRates,
)
from airflow_provider_nanobanana.validation import invalid

REPORTED, CATALOGUE, OVERRIDE, UNKNOWN = "reported", "catalogue", "override", "unknown"
MIXED = "mixed"  # jobs counted together whose costs have different bases
PRICES_EXAMPLE = '{"nano-banana-2": 0.067, "nano-banana-pro 4K": 0.24, "gemini-3-pro-image batch": 0.06}'
PRICES_FORMAT = (
    "a JSON object of USD per image keyed by model, 'model size', 'model mode' or "
    "'model size mode' (mode: interactive or batch), or '*' for any, e.g. " + PRICES_EXAMPLE
)
_MODES = ("interactive", "batch")


@dataclass(frozen=True)
class BilledAs:
    """What one request of a vendor is billed as; ``label`` is how a person reads it."""

    vendor_label: str
    model: str
    size: str | None = None
    batch: bool = False
    thinks: bool = False
    input_images: int = 0

    @property
    def label(self) -> str:
        parts = (self.vendor_label, self.model, self.size, "batch" if self.batch else None)
        return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class Price:
    """USD per image (None: nobody published one), its basis and where it comes from."""

    label: str
    usd: float | None
    basis: str
    source: str
    rates: GeminiRates | None = None
    share: float = 1.0

    def cost(self, images: int, usage: Mapping[str, int] | None) -> tuple[float | None, str]:
        """What a job that delivered ``images`` cost, and on what basis: a connection price wins
        (it is what the account pays), then the vendor's reported usage, then the catalogue."""
        if self.basis != OVERRIDE and self.rates is not None and usage:
            rates = self.rates
            usd = (
                usage.get("prompt", 0) * rates.input
                + usage.get("image", 0) * rates.image_output
                + usage.get("text", 0) * rates.text_output
            ) / 1e6
            return round(usd * self.share, 6), REPORTED
        if self.usd is None:
            return None, UNKNOWN
        return round(self.usd * images, 6), self.basis


def parse_prices(value: Any) -> dict[str, float]:
    """The ``prices`` extra of a connection (a dict, or its JSON text), checked."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid("connection extra prices", value, PRICES_FORMAT) from None
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and isinstance(usd, int | float) and not isinstance(usd, bool) and usd >= 0
        for key, usd in value.items()
    ):
        raise invalid("connection extra prices", value, PRICES_FORMAT)
    return {key.strip(): float(usd) for key, usd in value.items()}


def price_of(billed: BilledAs, prices: Mapping[str, float], vendor: str) -> Price:
    """The price per image of ``billed``, from the connection's ``prices`` or the catalogue."""
    mode = _MODES[billed.batch]
    sizes = (f"{billed.model} {billed.size} {mode}", f"{billed.model} {billed.size}") if billed.size else ()
    for key in (*sizes, f"{billed.model} {mode}", billed.model, "*"):
        if key in prices:
            return Price(billed.label, prices[key], OVERRIDE, f"the connection's prices[{key!r}]")
    rates = GEMINI_RATES.get(billed.model) if vendor == "gemini" else None
    if rates is None or (billed.size or "1K") not in rates.image_tokens:
        why = UNPUBLISHED.get(vendor, f"no published price is known for {billed.model}")
        return Price(billed.label, None, UNKNOWN, why)
    tokens = (
        rates.image_tokens[billed.size or "1K"] * rates.image_output
        + THOUGHT_ALLOWANCE * billed.thinks * rates.text_output
        + INPUT_IMAGE_TOKENS * billed.input_images * rates.input
    )
    share = BATCH_SHARE if billed.batch else 1.0
    return Price(billed.label, tokens / 1e6 * share, CATALOGUE, rates.source, rates, share)


def combined_cost(costs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``cost_usd`` and ``cost_basis`` of several jobs together: the sum (None if any is
    unknown) and the basis they share, or ``mixed``."""
    total: float | None = 0.0
    bases: set[str] = set()
    for cost in costs:
        bases.add(cost.get("cost_basis") or UNKNOWN)
        total = None if total is None or cost.get("cost_usd") is None else total + cost["cost_usd"]
    basis = bases.pop() if len(bases) == 1 else MIXED if bases else CATALOGUE
    return {"cost_usd": None if total is None else round(total, 6), "cost_basis": basis}
