"""Each benchmark runs at a tiny scale, so `make bench` cannot rot unnoticed."""

from __future__ import annotations

import os
from unittest import mock

from airflow_versions import needs_airflow_3

from benchmarks import hook_overhead, parse_cost, transfer, waiting
from benchmarks.report import Figure, print_table, save_json


@needs_airflow_3  # it measures against HttpOperator imported the Airflow 3 way, from airflow.sdk
def test_parse_cost_measures_both_import_sets():
    (figure,) = parse_cost.run(samples=1)
    assert figure.ours > 0
    assert figure.peer > 0
    assert figure.details["modules_after_peer"] > 0


def test_hook_overhead_times_both_round_trips():
    with mock.patch.dict(os.environ):
        (figure,) = hook_overhead.run(rounds=3)
    assert figure.ours > 0
    assert figure.peer > 0


def test_transfer_moves_an_image_with_both_tools(tmp_path):
    with mock.patch.dict(os.environ):
        figures = transfer.run(sizes_mib=(1,), rounds=1)
    assert [figure.unit for figure in figures] == ["s", "MiB"]
    assert all(figure.peer is not None for figure in figures)
    save_json(figures, tmp_path / "results.json")
    assert '"ratio"' in (tmp_path / "results.json").read_text()


def test_waiting_measures_triggers_and_fixed_interval_polling():
    with mock.patch.dict(os.environ):
        figures = waiting.run(jobs=10, shortest=0.5, longest=1.5, peer_intervals=(0.5,))
    by_name = {figure.name.split(": ")[1]: figure for figure in figures}
    assert set(by_name) == {
        "detection lag p50",
        "detection lag p95",
        "requests per modelslab job",
        "requests per acedata job",
        "CPU share of one core",
        "peak RSS",
    }
    assert all(figure.peer_name == "fixed 0.5 s" for figure in figures)
    assert by_name["requests per acedata job"].ours < by_name["requests per acedata job"].peer
    assert by_name["peak RSS"].ours > 0


def test_the_chart_draws_one_bar_per_compared_figure(tmp_path):
    from PIL import Image

    from benchmarks.chart import draw_chart

    figures = [
        Figure("b", f"figure {n}", "s", 1.0 + n, 2.0, "peer", "ratio <= 1.0", n == 0) for n in range(3)
    ]
    draw_chart([*figures, Figure("b", "absolute", "s", 1.0, None, "", "-", True)], tmp_path / "chart.png")
    with Image.open(tmp_path / "chart.png") as chart:
        assert chart.height > 3 * 26
        colours = {colour for _, colour in chart.getcolors(maxcolors=100_000)}
    assert (46, 160, 67) in colours, "a met figure is green"
    assert (214, 39, 40) in colours, "a missed figure is red"


def test_the_table_shows_ratio_and_verdict(capsys):
    print_table([Figure("b", "figure", "s", 2.0, 4.0, "peer", "ratio <= 1.0", True)])
    assert "0.50" in capsys.readouterr().out
