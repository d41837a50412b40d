"""Draw the images the emulator serves: real PNG/JPEG files a person can recognise at a glance.

Each picture shows its prompt, vendor, position in the job ("2 of 4") and size over a background
derived from (prompt, index, seed), so the samples of one job differ visibly while a repeated
download of one URL returns identical bytes, just as a CDN would. Pillow is imported only when a
picture is drawn, so importing the emulator (or a DAG that imports the provider) never needs it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
EXTENSION_FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg"}
FORMAT_EXTENSIONS = {"png": "png", "jpeg": "jpg"}
_VENDOR_NAMES = {"modelslab": "ModelsLab", "acedata": "AceData Cloud", "gemini": "Google Gemini API"}
_Colour = tuple[int, int, int]
_PANEL = (250, 248, 240)
_INK = (28, 28, 32)
_MUTED = (90, 90, 100)


@dataclass(frozen=True)
class ImageSpec:
    """Everything that decides what one served image looks like (its format comes from the URL)."""

    vendor: str
    prompt: str
    width: int
    height: int
    index: int
    total: int
    seed: int


def require_pillow() -> None:
    """Fail at start-up, not at the first image request, when Pillow is not installed."""
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "The Nano Banana emulator draws its images with Pillow, which is not installed: "
            "pip install 'airflow-provider-nanobanana[emulator]'."
        ) from None


@functools.lru_cache(maxsize=32)
def render(spec: ImageSpec, image_format: str) -> bytes:
    """Encode the picture for ``spec`` as ``png`` or ``jpeg``; recent renders are kept in memory
    because clients fetch each image at least twice (announce, then download) and 4K frames cost."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(f"{spec.prompt}\x00{spec.index}\x00{spec.seed}".encode()).digest()
    background, accent = _colours(digest)
    image = Image.new("RGB", (spec.width, spec.height), background)
    draw = ImageDraw.Draw(image)
    _draw_pattern(draw, spec.width, spec.height, digest)
    _draw_card(draw, spec, accent)
    buffer = io.BytesIO()
    if image_format == "jpeg":
        image.save(buffer, "JPEG", quality=85)
    else:
        # Level 1 keeps 4K frames well under a second; the flat shapes still compress well.
        image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def pad(body: bytes, image_format: str, padding: int) -> bytes:
    """``body`` grown by ``padding`` bytes and still a valid image: a private ancillary PNG chunk
    before ``IEND`` (decoders skip it), or bytes after a JPEG's end marker."""
    if padding <= 0:
        return body
    filler = bytes(padding)
    if image_format == "jpeg":
        return body + filler
    chunk_type = b"nbPd"
    chunk = (
        struct.pack(">I", padding) + chunk_type + filler + struct.pack(">I", zlib.crc32(chunk_type + filler))
    )
    return body[:-12] + chunk + body[-12:]  # IEND is the last 12 bytes


def _colours(digest: bytes) -> tuple[_Colour, _Colour]:
    """A background from the hash and its opposite hue, so the pattern always shows."""
    background = (digest[0], digest[1], digest[2])
    accent = ((digest[0] + 128) % 256, (digest[1] + 128) % 256, (digest[2] + 128) % 256)
    return background, accent


def _draw_pattern(draw: ImageDraw.ImageDraw, width: int, height: int, digest: bytes) -> None:
    """Stripes, rings or checks, chosen and sized by the hash so sibling samples look different."""
    background, accent = _colours(digest)
    step = max(8, min(width, height) // (5 + digest[7] % 6))
    style = digest[6] % 3
    if style == 0:
        for x in range(-height, width, step * 2):
            draw.polygon(
                [(x, 0), (x + step, 0), (x + step + height, height), (x + height, height)], fill=accent
            )
    elif style == 1:
        cx, cy = digest[8] * width // 255, digest[9] * height // 255
        for radius in range(max(width, height) * 2, 0, -step * 2):
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=accent)
            inner = radius - step
            if inner > 0:
                draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=background)
    else:
        for row, y in enumerate(range(0, height, step)):
            for x in range((row % 2) * step, width, step * 2):
                draw.rectangle((x, y, x + step - 1, y + step - 1), fill=accent)


def _draw_card(draw: ImageDraw.ImageDraw, spec: ImageSpec, accent: _Colour) -> None:
    """A light card with large text: vendor on top, the wrapped prompt, then index, size and seed."""
    from PIL import ImageFont

    unit = min(spec.width, spec.height)
    inset = max(4, unit // 12)
    draw.rounded_rectangle(
        (inset, inset, spec.width - inset, spec.height - inset),
        radius=inset // 2,
        fill=_PANEL,
        outline=accent,
        width=max(2, inset // 6),
    )
    small = ImageFont.load_default(size=max(10, unit // 26))
    large = ImageFont.load_default(size=max(12, unit // 15))
    left, top = inset * 3 // 2, inset * 3 // 2
    text_width = spec.width - 2 * left
    vendor = _VENDOR_NAMES.get(spec.vendor, spec.vendor)
    draw.text((left, top), f"{vendor} emulator - Nano Banana", font=small, fill=_MUTED)
    footer = f"image {spec.index + 1} of {spec.total}  |  {spec.width}x{spec.height}  |  seed {spec.seed}"
    footer_lines = _wrap(footer, small, text_width, max_lines=2)
    footer_top = spec.height - inset * 3 // 2 - _line_height(small) * len(footer_lines)
    for number, line in enumerate(footer_lines):
        draw.text((left, footer_top + number * _line_height(small)), line, font=small, fill=_MUTED)
    prompt_top = top + _line_height(small) * 2
    max_lines = max(1, (footer_top - prompt_top - _line_height(small)) // _line_height(large))
    for number, line in enumerate(_wrap(spec.prompt, large, text_width, max_lines)):
        draw.text((left, prompt_top + number * _line_height(large)), line, font=large, fill=_INK)


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    return int(font.size * 1.25)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap measured in pixels; words wider than a line are cut, overflow ends in '...'."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while font.getlength(word) > width and len(word) > 1:
            cut = max(1, int(len(word) * width / font.getlength(word)) - 1)
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(f"{last} ...") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], f"{last.rstrip()} ..."]
    return lines
