"""How counts, sizes and durations read in task logs and messages."""

from __future__ import annotations

from datetime import datetime, timezone


def plural(count: int, noun: str) -> str:
    """``1 image``, ``3 images``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def size(byte_count: int) -> str:
    if byte_count >= 1024**3:
        return f"{byte_count / 1024**3:.1f} GiB"
    if byte_count >= 1024 * 1024:
        return f"{byte_count / 1024 / 1024:.1f} MiB"
    return f"{byte_count / 1024:.1f} KiB"


def duration(seconds: float) -> str:
    """``45 s``, ``12 min 5 s``, ``1 h 3 min``: what a person reads at a glance."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def job_ids(ids: list[str], shown: int = 3) -> str:
    """The first few job ids of a wait, and how many more."""
    listed = ", ".join(ids[:shown])
    return f"{listed} and {len(ids) - shown} more" if len(ids) > shown else listed


def utc(epoch: float) -> str:
    """``2026-12-02T18:12:08+00:00``: a moment as the vendors' consoles show it."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds")


def usd(amount: float) -> str:
    """``$335.00``, ``$0.067``, ``$0.1344``: cents for sums, four places for one image's price."""
    if amount >= 1 or amount == 0:
        return f"${amount:,.2f}"
    return "$" + f"{amount:.4f}".rstrip("0").ljust(4, "0")
