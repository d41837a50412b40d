"""How counts and durations read in logs: no "1 images", no "eta None s"."""

from __future__ import annotations

import pytest

from airflow_provider_nanobanana import wording


@pytest.mark.parametrize(("count", "expected"), [(0, "0 images"), (1, "1 image"), (2, "2 images")])
def test_plural_counts_read_as_english(count, expected):
    assert wording.plural(count, "image") == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0.4, "0 s"), (59.6, "1 min"), (61, "1 min 1 s"), (3600, "1 h"), (3725, "1 h 2 min"), (-3, "0 s")],
)
def test_durations_read_at_a_glance(seconds, expected):
    assert wording.duration(seconds) == expected
