"""Recognise an image by its first bytes.

A CDN error page can arrive as ``200 image/png``, so the Content-Type header proves nothing; the
magic bytes decide the format, and with it the S3 ``Content-Type`` and the key's extension.
"""

from __future__ import annotations

from dataclasses import dataclass

# Enough leading bytes to tell every supported format apart (WebP needs 12).
SNIFF_BYTES = 16


@dataclass(frozen=True)
class ImageFormat:
    name: str
    content_type: str
    extension: str


PNG = ImageFormat("png", "image/png", "png")
JPEG = ImageFormat("jpeg", "image/jpeg", "jpg")
WEBP = ImageFormat("webp", "image/webp", "webp")
GIF = ImageFormat("gif", "image/gif", "gif")


def sniff(head: bytes) -> ImageFormat | None:
    """The format ``head`` (the first :data:`SNIFF_BYTES` of a body) starts, or None if not an image."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    return None


def describe(head: bytes) -> str:
    """A short, log-safe description of a body that is not an image (its first printable bytes)."""
    text = head[:SNIFF_BYTES].decode("ascii", errors="replace")
    return repr("".join(char if char.isprintable() else "?" for char in text))
