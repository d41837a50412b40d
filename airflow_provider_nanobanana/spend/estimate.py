"""What a task may pay, said before it pays, and the cap (``max_cost_usd``) it must stay within.

Every operator builds an :class:`Estimate` from the requests it is about to send, logs its
:meth:`~Estimate.line` before the first paid request, and checks it against the cap; a dry run
returns it as the task's XCom. The same code serves both, so a dry run's estimate is the one the
real run logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_nanobanana import wording
from airflow_provider_nanobanana.exceptions import NanoBananaBudgetError
from airflow_provider_nanobanana.spend.catalogue import CHECKED
from airflow_provider_nanobanana.spend.prices import (
    CATALOGUE,
    MIXED,
    OVERRIDE,
    PRICES_EXAMPLE,
    REPORTED,
    Price,
)
from airflow_provider_nanobanana.validation import invalid

# Sums of floats: a cap equal to the estimate must not fail by a rounding error.
EPSILON = 1e-9


@dataclass
class _Group:
    price: Price
    images: int = 0
    usd: float = 0.0

    def describe(self) -> str:
        each = wording.usd(self.usd / self.images) if self.images else wording.usd(self.price.usd or 0)
        where = " from the connection's prices" if self.price.basis == OVERRIDE else ""
        return f"{self.price.label}, {each} each{where}"


class Estimate:
    """The images a task may pay for and about what they cost, by price."""

    def __init__(self) -> None:
        self.images = 0
        self._groups: dict[tuple[str, str], _Group] = {}

    def add(self, price: Price, images: int) -> float | None:
        """Count ``images`` at ``price``; return what they cost (None when the price is unknown)."""
        group = self._groups.setdefault((price.label, price.basis), _Group(price))
        cost = None if price.usd is None else price.usd * images
        group.images += images
        group.usd += cost or 0.0
        self.images += images
        return cost

    @property
    def usd(self) -> float | None:
        """The total, or None if any image has no known price."""
        if self.unknown:
            return None
        return sum(group.usd for group in self._groups.values())

    @property
    def unknown(self) -> list[Price]:
        return [group.price for group in self._groups.values() if group.price.usd is None]

    def line(self, paid_before: float = 0.0) -> str:
        """``Will pay for at most 5,000 images: about $335.00 (AceData nano-banana-2 2K, $0.067
        each; prices checked 2026-12)``."""
        head = f"Will pay for at most {self.images:,} {'image' if self.images == 1 else 'images'}"
        earlier = f"; earlier tries paid {wording.usd(paid_before)}" if paid_before else ""
        if not self.images:
            return f"Will pay for no new images{earlier}."
        if (total := self.usd) is None:
            return f"{head}; the price is unknown: {self._unknown_reason()}{earlier}."
        return f"{head}: about {wording.usd(total)} ({self._prices()}){earlier}."

    def _prices(self) -> str:
        """Each price used, and when the catalogue's were checked (if any was used)."""
        groups = [group.describe() for group in self._groups.values()]
        if any(group.price.basis == CATALOGUE for group in self._groups.values()):
            groups.append(f"prices checked {CHECKED}")
        return "; ".join(groups)

    def _unknown_reason(self, remedy_apart: bool = False) -> str:
        price = self.unknown[0]
        apart = "\n" if remedy_apart else " "
        remedy = f"Set it in the connection's prices extra, e.g. {PRICES_EXAMPLE}"
        return f"{price.label}: {price.source}.{apart}{remedy}"

    def to_dict(self) -> dict[str, Any]:
        total = self.usd
        return {
            "images": self.images,
            "cost_usd": None if total is None else round(total, 6),
            "prices": [
                {
                    "label": group.price.label,
                    "images": group.images,
                    "usd_each": group.price.usd,
                    "basis": group.price.basis,
                    "source": group.price.source,
                }
                for group in self._groups.values()
            ],
            "prices_checked": CHECKED,
        }

    # -- the cap -------------------------------------------------------------------------------

    def require_prices(self, cap: float | None) -> None:
        """With a cap, every image needs a price: fail (before any request) naming the one missing."""
        if cap is not None and self.unknown:
            raise NanoBananaBudgetError(
                f"max_cost_usd={wording.usd(cap)} is set, but nothing was sent: {self._unknown_reason(True)}",
                cap_usd=cap,
            )

    def check_cap(self, cap: float | None, paid_before: float = 0.0) -> None:
        """Fail before any request when the estimate (plus what earlier tries paid) is above ``cap``."""
        self.require_prices(cap)
        total = self.usd
        if cap is None or total is None or paid_before + total <= cap + EPSILON:
            return
        earlier = f" plus {wording.usd(paid_before)} earlier tries paid" if paid_before else ""
        raise NanoBananaBudgetError(
            f"The estimate, {wording.usd(total)} for {self.images:,} images ({self._prices()})"
            f"{earlier}, is above max_cost_usd={wording.usd(cap)}. Nothing was sent.\n"
            "Raise max_cost_usd, or ask for fewer or smaller images.",
            cap_usd=cap,
            estimate_usd=total,
            spent_usd=paid_before,
        )


def check_cap_value(value: Any) -> float | None:
    """``max_cost_usd`` as rendered (a number, or its text from a template), or None."""
    if value is None or value == "":
        return None
    try:
        cap = float(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    except ValueError:
        cap = None
    if cap is None or not cap >= 0:
        raise invalid("max_cost_usd", value, "a number of US dollars, 0 or more (templated: its text works)")
    return cap


def check_dry_run(value: Any) -> bool:
    """``dry_run`` as rendered: a bool, or ``"True"``/``"False"`` from a template."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid("dry_run", value, "True or False (templated: its text works)")


_BASES = {
    REPORTED: "from the usage the vendor reported",
    CATALOGUE: f"at catalogue prices, checked {CHECKED}",
    OVERRIDE: "at the connection's prices",
    MIXED: f"from reported usage and prices checked {CHECKED}",
}


def paid_line(cost_usd: float | None, basis: str, images: int, *, finished: bool = True) -> str:
    """The task's last word on money: ``Paid $0.0694 for 1 image (from the usage the vendor
    reported).``; for a job left running, what its images will cost."""
    counted = wording.plural(images, "image")
    if cost_usd is None:
        return (
            f"{'Paid' if finished else 'Will pay'} for {counted} at an unknown price: none is published; "
            "set the connection's prices extra to see it."
        )
    amount = wording.usd(cost_usd)
    if not finished:
        return f"The job's {counted} will cost about {amount} ({_BASES.get(basis, basis)})."
    return f"Paid {'about ' if basis != REPORTED else ''}{amount} for {counted} ({_BASES.get(basis, basis)})."
