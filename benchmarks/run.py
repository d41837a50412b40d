"""`make bench`: run the benchmarks, print one table, save the raw figures as JSON and a chart."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="nanobanana-bench-"))

from benchmarks import batch_overhead, hook_overhead, parse_cost, transfer, waiting
from benchmarks.chart import draw_chart
from benchmarks.report import print_table, save_json

RESULTS = Path("bench-results")


def main() -> int:
    figures = [
        *parse_cost.run(),
        *hook_overhead.run(),
        *transfer.run(),
        *waiting.run(),
        *batch_overhead.run(),
    ]
    RESULTS.mkdir(exist_ok=True)
    save_json(figures, RESULTS / "results.json")
    draw_chart(figures, RESULTS / "chart.png")
    sys.stdout = sys.__stdout__
    print()
    print_table(figures)
    print(f"\nRaw results: {RESULTS / 'results.json'}; chart: {RESULTS / 'chart.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
