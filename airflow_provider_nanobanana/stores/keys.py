"""Object keys from a template, built so that no value can write outside the prefix.

Values come from run ids, task ids and vendor job ids, which the DAG author does not fully
control (a run id can be anything the REST API was given). Each one must be a single path
segment, the template must start with ``{prefix}/``, and the rendered key is checked again, so a
``..`` or ``/`` anywhere fails the task before any download instead of writing somewhere else.
The same task instance and job always render the same keys: a retry overwrites, never duplicates.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from airflow_provider_nanobanana.validation import invalid

DEFAULT_KEY_TEMPLATE = "{prefix}/{dag_id}/{run_id}/{task_id}/{map_index}/{job_id}_{index}.{ext}"
KEY_FIELDS = ("prefix", "vendor", "dag_id", "run_id", "task_id", "map_index", "job_id", "index", "ext")
# Without these two fields, the images of one job, or of two jobs, would overwrite each other.
_UNIQUE_FIELDS = ("job_id", "index")
_MAX_KEY_BYTES = 1024


def check_key_template(template: Any) -> str:
    if not isinstance(template, str):
        raise invalid("key_template", template, "a str.format template")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise invalid("key_template", template, f"a valid str.format template ({error})") from None
    allowed = f"fields from {', '.join('{' + name + '}' for name in KEY_FIELDS)}"
    if unknown := [name for name in fields if name not in KEY_FIELDS]:
        raise invalid("key_template", template, f"unknown field {{{unknown[0]}}}; use {allowed}")
    if not template.startswith("{prefix}/"):
        raise invalid("key_template", template, "a template starting with {prefix}/")
    if missing := [name for name in _UNIQUE_FIELDS if name not in fields]:
        raise invalid("key_template", template, f"a template containing {{{missing[0]}}}, so keys are unique")
    return template


def normalize_prefix(prefix: Any) -> str:
    """Strip surrounding slashes; refuse empty, ``.`` and ``..`` segments inside the prefix."""
    if not isinstance(prefix, str):
        raise invalid("prefix", prefix, "a str such as 'images/nanobanana'")
    stripped = prefix.strip("/")
    if stripped and not _segments_ok(stripped.split("/")):
        raise invalid("prefix", prefix, "'/'-separated names without empty, '.' or '..' parts")
    return stripped


def render_key(template: str, prefix: str, values: Mapping[str, Any]) -> str:
    """Fill ``template`` (already checked) with ``values``, each of which must be one path segment."""
    segments = {name: _segment(name, value) for name, value in values.items()}
    key = template.format(prefix=prefix, **segments)
    if not prefix:
        key = key[1:]  # the template starts with "{prefix}/": land at the bucket root
    if not _segments_ok(key.split("/")) or (prefix and not key.startswith(prefix + "/")):
        raise invalid("key_template", template, f"a template whose keys stay under {prefix!r}; got {key!r}")
    if len(key.encode()) > _MAX_KEY_BYTES:
        raise invalid("key_template", template, f"keys of at most {_MAX_KEY_BYTES} bytes; got {key!r}")
    return key


def _segment(name: str, value: Any) -> str:
    text = str(value)
    if text in ("", ".", "..") or "/" in text or "\\" in text or not text.isprintable():
        raise invalid(f"key value {name}", text, "one printable path segment without '/', '\\' or '..'")
    return text


def _segments_ok(segments: list[str]) -> bool:
    return all(part not in ("", ".", "..") and part.isprintable() and "\\" not in part for part in segments)
