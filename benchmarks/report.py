"""One row per measured figure, printed as a table and saved as JSON.

Shared 2-core machines are noisy, so each figure is judged by a ratio to a peer measured in the
same run, or by an absolute target where the issue sets one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    """``ours`` against ``peer`` (same unit); ``met`` says whether ``target`` holds."""

    benchmark: str
    name: str
    unit: str
    ours: float
    peer: float | None
    peer_name: str
    target: str
    met: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return None if not self.peer else self.ours / self.peer


def print_table(figures: list[Figure]) -> None:
    header = f"{'figure':<58} {'ours':>10} {'peer':>10} {'(peer)':<18} {'ratio':>6}  {'target':<16} met?"
    print(header)
    print("-" * len(header))
    for figure in figures:
        peer = f"{figure.peer:>10.4g}" if figure.peer is not None else f"{'-':>10}"
        ratio = f"{figure.ratio:>6.2f}" if figure.ratio is not None else f"{'-':>6}"
        name = f"{figure.name} ({figure.unit})"
        met = "yes" if figure.met else "NO"
        print(
            f"{name:<58} {figure.ours:>10.4g} {peer} {figure.peer_name[:18]:<18} {ratio}  "
            f"{figure.target:<16} {met}"
        )


def save_json(figures: list[Figure], path: Path) -> None:
    rows = [{**asdict(figure), "ratio": figure.ratio} for figure in figures]
    path.write_text(json.dumps(rows, indent=2) + "\n")
