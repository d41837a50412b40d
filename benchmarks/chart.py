"""The benchmark table as one picture: for every figure, ours relative to its peer.

Bars are ``ours / peer`` on a log scale (below 1: ours is smaller, which is better for every
figure measured here), green where the figure's target is met and red where it is not. Drawn with
Pillow, which the emulator already needs, so ``make bench`` adds no plotting dependency.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from benchmarks.report import Figure

ROW, LABEL_WIDTH, BAR_WIDTH, MARGIN = 26, 470, 420, 16
LOW, HIGH = 0.01, 10.0  # the ratio axis
MET, MISSED, GRID, TEXT = (46, 160, 67), (214, 39, 40), (200, 200, 200), (30, 30, 30)


def _x(ratio: float) -> float:
    share = (math.log10(min(max(ratio, LOW), HIGH)) - math.log10(LOW)) / (math.log10(HIGH) - math.log10(LOW))
    return MARGIN + LABEL_WIDTH + share * BAR_WIDTH


def draw_chart(figures: list[Figure], path: Path) -> None:
    rows = [figure for figure in figures if figure.ratio is not None]
    height = MARGIN * 2 + ROW * (len(rows) + 2)
    image = Image.new("RGB", (MARGIN * 3 + LABEL_WIDTH + BAR_WIDTH + 60, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    draw.text(
        (MARGIN, MARGIN), "ours / peer (log scale; green: target met, red: missed)", fill=TEXT, font=font
    )
    top = MARGIN + ROW
    for tick in (0.01, 0.1, 1.0, 10.0):
        x = _x(tick)
        draw.line([(x, top), (x, height - MARGIN - ROW)], fill=TEXT if tick == 1.0 else GRID, width=1)
        draw.text((x - 10, height - MARGIN - ROW + 4), f"{tick:g}", fill=TEXT, font=font)
    for row, figure in enumerate(rows):
        y = top + row * ROW
        draw.text((MARGIN, y + 5), f"{figure.name} vs {figure.peer_name}"[:68], fill=TEXT, font=font)
        start, end = sorted((_x(1.0), _x(figure.ratio)))
        draw.rectangle(
            [(start, y + 4), (max(end, start + 1), y + ROW - 4)], fill=MET if figure.met else MISSED
        )
        draw.text((_x(HIGH) + 6, y + 5), f"{figure.ratio:.2f}", fill=TEXT, font=font)
    image.save(path)
