"""`make bench`'s batch row at a tiny scale in the deployment tier, so it cannot rot unnoticed."""

from __future__ import annotations

import pytest

from benchmarks import batch_overhead

from .conftest import JOB_SECONDS

pytestmark = pytest.mark.deployment


def test_the_batch_overhead_bench_measures_both_runs_in_one_deployment(airflow, vendor):
    vendor.configure(processing_seconds=2.0)  # what is measured is Airflow's CPU, not the wait
    try:
        measured = batch_overhead.compare(airflow, vendor, images=3)
    finally:
        vendor.configure(processing_seconds=JOB_SECONDS)

    assert measured["batch"]["task_instances"] == 2, "the prompts task and the batch"
    assert measured["mapped"]["task_instances"] == 3 + 2, (
        "three mapped tasks, the requests task, the transfer"
    )
    for result in measured.values():
        assert result["cpu_per_image"] > 0
        assert {"api-server", "scheduler", "triggerer"} <= set(result["cpu_seconds"])
