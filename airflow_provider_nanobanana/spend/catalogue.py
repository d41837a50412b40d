"""What an image costs, as the vendors publish it, with where each figure comes from.

Google bills Gemini image output as tokens: an image of a given size is a fixed number of image
tokens at the model's image-output rate, thoughts and text are billed at its text-output rate, and
the prompt and input images at its input rate. Batch bills half. These are the published rates,
checked in :data:`CHECKED`; the README's "What it costs" table lists them with their sources.

ModelsLab and AceData publish no per-image price for their Nano Banana endpoints, so the catalogue
has none: a connection's ``prices`` extra supplies the rate the account actually pays
(:mod:`~airflow_provider_nanobanana.spend.prices`). Nothing here ever calls a billing API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CHECKED = "2026-12"
# Gemini Batch bills half the interactive price (Google's Batch API and optimization pages).
BATCH_SHARE = 0.5
# Thought tokens an estimate allows per answer of a model that thinks: Google's forum answer on
# Nano Banana Pro reports 700-900 per 1K image, billed at the text-output rate.
THOUGHT_ALLOWANCE = 1000
# Tokens an input image counts as (about $0.0011 per image at Pro's $2 per 1M input tokens).
INPUT_IMAGE_TOKENS = 560

_GOOGLE = "ai.google.dev/gemini-api/docs/pricing"
_VERTEX_CARD = "the Vertex AI model card (image tokens per size)"
_GATEWAY = "an AI gateway's changelog (ngrok, 2026-10); Google's own page not in reach"


@dataclass(frozen=True)
class GeminiRates:
    """One Gemini model's published rates, in USD per 1M tokens, and its image tokens per size."""

    image_output: float
    text_output: float
    input: float
    image_tokens: Mapping[str, int]
    source: str


_FLASH_TOKENS = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
_FLASH = GeminiRates(60.0, 3.0, 0.50, _FLASH_TOKENS, f"{_GOOGLE}; {_VERTEX_CARD}")
_PRO = GeminiRates(120.0, 12.0, 2.0, {"1K": 1120, "2K": 1120, "4K": 2000}, _GOOGLE)

GEMINI_RATES: dict[str, GeminiRates] = {
    "gemini-3.1-flash-image": _FLASH,
    "gemini-3.1-flash-image-preview": _FLASH,
    "gemini-3-pro-image": _PRO,
    "gemini-3-pro-image-preview": _PRO,
    "gemini-2.5-flash-image": GeminiRates(30.0, 2.50, 0.30, {"1K": 1290}, _GOOGLE),
    # Image tokens per size assumed as Nano Banana 2's: no page lists them for these two.
    "gemini-3.1-flash-lite-image": GeminiRates(30.0, 1.50, 0.25, {"1K": 1120}, _GATEWAY),
    "gemini-nano-banana-2.1": GeminiRates(
        30.0, 1.50, 0.25, {size: _FLASH_TOKENS[size] for size in ("1K", "2K", "4K")}, _GATEWAY
    ),
}

UNPUBLISHED: dict[str, str] = {
    "modelslab": "ModelsLab publishes no per-image price for its Nano Banana endpoints (the "
    "enterprise API is a dedicated-server subscription)",
    "acedata": "AceData publishes no per-image price in its docs (its console shows what each "
    "API costs the account)",
}
