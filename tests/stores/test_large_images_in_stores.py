"""A 96 MiB image lands in each store in bounded memory (measured in a separate process, the
transfer benchmark's child, so the emulators in this one do not count), whole and verified."""

from __future__ import annotations

import hashlib

from benchmarks.transfer import measure_transfer

LARGE = 96 * 1024 * 1024


def test_a_96_mib_image_lands_in_each_store_with_under_64_mib_of_memory_growth(
    finished_job, emulator, store, prefix
):
    job = finished_job("acedata")

    report = measure_transfer("ours", job, emulator, LARGE, store.uri(prefix), store.conn_id)

    (item,) = report["landed"]
    assert item["size"] > LARGE
    body = store.objects(prefix)[item["key"]]  # beside the child's small warm-up image
    assert len(body) == item["size"]
    assert hashlib.sha256(body).hexdigest() == item["sha256"]
    assert report["rss_growth_mib"] < 64, report
