"""Checks that run before any paid request, each failing with the field, the value and what is allowed.

Vendors answer bad input with terse messages ("model is invalid.") and sometimes only after
queueing the job; checking here first gives the DAG author one precise error at task start.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError

_DATA_URI = re.compile(r"^data:image/[\w.+-]+;base64,(?P<payload>.*)$", re.DOTALL)
_PREVIEW_CHARS = 80
# Neither vendor documents a prompt limit. Both forward to Gemini image models, the smallest of
# which takes 32,768 input tokens (text and images together), so a prompt this long cannot be
# meant and would only be refused, or billed, after the fact. [inferred]
MAX_PROMPT_CHARS = 30_000
# C0 controls but tab, newline and carriage return, and DEL: no prompt means them, and a NUL
# truncates the text in some upstream services.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Input images an operator reads from a store before sending (``stores/inputs.py``).
STORED_SCHEMES = ("s3://", "gs://", "abfs://", "wasb://", "file://")
_OPTIONS_ALLOWED = "a dict of vendor settings, or the text of a JSON object"


def invalid(field: str, value: Any, allowed: str) -> NanoBananaInvalidRequestError:
    """Build the error every check raises, so all messages read the same way."""
    shown = repr(value)
    if len(shown) > _PREVIEW_CHARS:
        shown = shown[:_PREVIEW_CHARS] + "...'"
    return NanoBananaInvalidRequestError(
        f"Invalid {field}={shown}: {allowed}.", field=field, value=value, allowed=allowed
    )


def require_prompt(prompt: Any, field: str = "prompt") -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid(field, prompt, "a non-empty text prompt is required")
    return check_text(field, prompt, max_chars=MAX_PROMPT_CHARS)


def check_int(field: str, value: Any, low: int, high: int, multiple_of: int | None = None) -> int:
    rule = f"an integer from {low} to {high}" + (f" divisible by {multiple_of}" if multiple_of else "")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(field, value, rule)
    if multiple_of and value % multiple_of:
        raise invalid(field, value, rule)
    return value


def check_number(field: str, value: Any, low: float | None = None, high: float | None = None) -> float:
    in_range = "a number" if low is None or high is None else f"a number from {low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, value, in_range)
    if (low is not None and value < low) or (high is not None and value > high):
        raise invalid(field, value, in_range)
    return value


def check_seed(value: Any, maximum: int | None = None) -> int:
    allowed = "a non-negative integer (0 lets the vendor pick)"
    if maximum is not None:
        allowed = f"an integer from 0 to {maximum} (0 lets the vendor pick)"
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid("seed", value, allowed)
    if maximum is not None and value > maximum:
        raise invalid("seed", value, allowed)
    return value


def check_choice(field: str, value: Any, choices: Collection[str]) -> str:
    if value not in choices:
        raise invalid(field, value, "one of " + ", ".join(choices))
    return value


def check_model_choice(
    field: str,
    value: Any,
    model: str,
    choices_by_model: Mapping[str, Collection[str]],
    *,
    none_reason: str = "",
) -> str:
    """``value`` if ``model`` takes it. Otherwise the error names the model, what it takes (or
    ``none_reason`` when it takes nothing), and the models of the same vendor that take ``value``."""
    allowed = choices_by_model[model]
    if value in allowed:
        return value
    rule = f"one of {', '.join(allowed)} for {model}" if allowed else none_reason or f"nothing for {model}"
    takers = [name for name, choices in choices_by_model.items() if value in choices]
    elsewhere = f"{value} is taken by {', '.join(takers)}" if takers else f"no model here takes {value!r}"
    raise invalid(field, value, f"{rule} ({elsewhere})")


def yes_no(field: str, value: Any) -> str:
    """ModelsLab flags are the strings "yes"/"no"; accept Python booleans too, since DAGs use them."""
    if value is True or value == "yes":
        return "yes"
    if value is False or value == "no":
        return "no"
    raise invalid(field, value, '"yes", "no", True or False')


def check_text(field: str, value: Any, *, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """A string without control characters (tab, newline, carriage return are fine), of bounded size."""
    if not isinstance(value, str):
        raise invalid(field, value, "a string")
    if len(value) > max_chars:
        raise invalid(field, f"<text of {len(value)} characters>", f"at most {max_chars} characters")
    if match := _CONTROL_CHARS.search(value):
        raise invalid(
            field,
            value,
            f"text without control characters; found {match.group()!r} at position {match.start()}",
        )
    return value


def check_options(value: Any) -> dict[str, Any]:
    """``options`` as a dict. Templates render to text, so the text of a JSON object, or of a
    Python dict (what ``"{{ params.options }}"`` renders to), is read too; nothing is evaluated."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise invalid("options", value, _OPTIONS_ALLOWED) from None
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid("options", value, _OPTIONS_ALLOWED)
    return dict(value)


def is_stored(value: Any) -> bool:
    """Whether ``value`` names an object in a store (which vendors cannot read themselves)."""
    return isinstance(value, str) and re.match(r"^(s3|gs|abfs|wasb|file)://[^/]*/.+", value) is not None


def check_url(field: str, value: Any, *, data_uri_limit: int | None = None) -> str:
    """An http(s) URL or, where the vendor takes images inline, a base64 data URI.

    A stored object's URI (``s3://bucket/key``, ``gs://``, ``abfs://``, ``wasb://``, ``file://``)
    passes too: operators validate a request before they read its stored inputs (so a wrong image
    count fails before any download), and hooks refuse to *send* one.
    """
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value
    if is_stored(value):
        return value
    if data_uri_limit is None:
        raise invalid(field, value, "an http(s) URL")
    match = _DATA_URI.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(field, value, "an http(s) URL or a data:image/...;base64,... URI")
    try:
        size = len(base64.b64decode(match["payload"], validate=True))
    except (binascii.Error, ValueError):
        raise invalid(field, value, "a data URI with valid base64 content") from None
    if size > data_uri_limit:
        raise invalid(field, f"<data URI of {size} bytes>", f"at most {data_uri_limit} bytes per image")
    return value


def reject_unsupported(vendor: str, operation: str, values: dict[str, Any], hint: str = "") -> None:
    """Refuse set fields the chosen vendor endpoint has no use for instead of dropping them silently."""
    for field, value in values.items():
        if value is not None and value != () and value != {}:
            raise invalid(field, value, f"not supported by {vendor} {operation}{hint}")


def reject_unknown_options(vendor: str, options: dict[str, Any], known: Collection[str]) -> None:
    for name in options:
        if name not in known:
            raise invalid(
                f"options.{name}", options[name], f"not a known {vendor} option; known: {', '.join(known)}"
            )
