"""`make bench`: run the benchmarks, print one table, save the raw figures as JSON.

Waiting at scale (1,000 jobs in one triggerer loop) is not measured yet; see BENCHMARKS.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="nanobanana-bench-"))

from benchmarks import hook_overhead, parse_cost, transfer
from benchmarks.report import print_table, save_json

RESULTS = Path("bench-results")


def main() -> int:
    figures = [*parse_cost.run(), *hook_overhead.run(), *transfer.run()]
    RESULTS.mkdir(exist_ok=True)
    save_json(figures, RESULTS / "results.json")
    sys.stdout = sys.__stdout__
    print()
    print_table(figures)
    print(f"\nRaw results: {RESULTS / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
