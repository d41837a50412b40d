"""The batch operator's ``items``: what each one asks for, as the job model's requests.

An item is a prompt, or a dict with ``prompt`` and any per-item field of
:class:`~airflow_provider_nanobanana.jobs.ImageJobRequest`; the operator's shared settings fill
what an item leaves out. A mapped upstream task renders to a list of its outputs, each of which
may itself be a list of items, so one level of nesting is flattened. Everything is checked here,
by item index, before any paid request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind
from airflow_provider_nanobanana.validation import invalid

ITEM_FIELDS = (
    "prompt",
    "images",
    "model",
    "width",
    "height",
    "aspect_ratio",
    "resolution",
    "count",
    "seed",
    "negative_prompt",
    "options",
)
BAD_ITEMS_SHOWN = 10


def flatten_items(items: Any) -> list[Any]:
    """The rendered ``items`` as one list: a list, a mapped task's outputs, or lists of either."""
    if isinstance(items, str | Mapping) or not isinstance(items, Iterable):
        raise invalid(
            "items",
            items,
            "a list of prompts or of dicts with a prompt (or an upstream task's output that is one)",
        )
    flat: list[Any] = []
    for item in items:
        if isinstance(item, Iterable) and not isinstance(item, str | Mapping):
            flat.extend(item)
        else:
            flat.append(item)
    if not flat:
        raise invalid("items", items, "at least one item")
    return flat


def item_requests(
    items: Any,
    kind: JobKind | str,
    shared: Mapping[str, Any],
    check: Callable[[ImageJobRequest], None] | None = None,
) -> list[ImageJobRequest]:
    """One request per item, in order; ``shared`` holds the operator's settings for every item and
    ``check`` (the hook's validation) looks at each. Every item is looked at, so one error says
    how many are bad, not just which comes first."""
    requests = []
    errors: list[NanoBananaInvalidRequestError] = []
    flat = flatten_items(items)
    for index, item in enumerate(flat):
        try:
            requests.append(_item_request(index, item, kind, shared, check))
        except NanoBananaInvalidRequestError as error:
            errors.append(error)
    if errors:
        raise _bad_items(errors, len(flat))
    return requests


def _item_request(
    index: int,
    item: Any,
    kind: JobKind | str,
    shared: Mapping[str, Any],
    check: Callable[[ImageJobRequest], None] | None,
) -> ImageJobRequest:
    fields = {"prompt": item} if isinstance(item, str) else item
    if not isinstance(fields, Mapping):
        raise invalid(f"items[{index}]", item, "a prompt, or a dict with a prompt")
    if unknown := [name for name in fields if name not in ITEM_FIELDS]:
        raise invalid(f"items[{index}].{unknown[0]}", fields[unknown[0]], f"one of {', '.join(ITEM_FIELDS)}")
    merged = {**{name: value for name, value in shared.items() if value is not None}, **fields}
    if not isinstance(merged.get("prompt"), str) or not merged["prompt"].strip():
        raise invalid(f"items[{index}].prompt", merged.get("prompt"), "a non-empty prompt")
    images = merged.get("images") or ()
    merged["images"] = (images,) if isinstance(images, str) else tuple(images)
    try:
        request = ImageJobRequest(kind=JobKind(kind), **merged)
    except (TypeError, ValueError) as error:
        raise invalid(f"items[{index}]", item, str(error)) from None
    if check is not None:
        try:
            check(request)
        except NanoBananaInvalidRequestError as error:
            raise invalid(f"items[{index}].{error.field}", error.value, error.allowed or str(error)) from None
    return request


def _bad_items(errors: list[NanoBananaInvalidRequestError], total: int) -> NanoBananaInvalidRequestError:
    """The first bad item's field, value and rule, and a message listing the first few in row
    order: 25 bad rows of 50 should read as a pattern to fix, not as one typo."""
    first = errors[0]
    if len(errors) == 1:
        return first
    listed = "\n".join(f"  {error}" for error in errors[:BAD_ITEMS_SHOWN])
    more = f"\n  ... and {len(errors) - BAD_ITEMS_SHOWN:,} more" if len(errors) > BAD_ITEMS_SHOWN else ""
    return NanoBananaInvalidRequestError(
        f"{len(errors):,} of {total:,} items are invalid; the first {min(len(errors), BAD_ITEMS_SHOWN)} "
        f"in row order:\n{listed}{more}",
        field=first.field,
        value=first.value,
        allowed=first.allowed,
    )


def fingerprint(requests: Sequence[ImageJobRequest], conn_id: str) -> str:
    """Identifies what a batch asked for: a retry whose items changed must not reattach by index."""
    described = [{name: getattr(request, name) for name in ("kind", *ITEM_FIELDS)} for request in requests]
    text = json.dumps([conn_id, described], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
