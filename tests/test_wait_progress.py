"""WaitProgress: the lines a person watching a wait reads, at a rate that stays readable."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_nanobanana import polling
from airflow_provider_nanobanana.jobs import ImageJobResult, JobState, Vendor
from airflow_provider_nanobanana.polling import WaitProgress


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(polling.time, "time", clock.time)
    return clock


def pending(eta: float | None = None) -> ImageJobResult:
    return ImageJobResult(vendor=Vendor.ACEDATA, job_id="task-1", state=JobState.PENDING, eta_seconds=eta)


def test_an_hour_polled_every_five_seconds_is_about_twenty_lines(clock, caplog):
    caplog.set_level(logging.INFO)
    progress = WaitProgress("AceData", ["task-1"], deadline=clock.now + 7200)
    log = logging.getLogger("wait")
    for _ in range(720):  # an hour of polls 5 s apart
        clock.now += 5
        progress.polls += 1
        progress.report([pending()], 5, log)

    lines = [record.getMessage() for record in caplog.records]
    assert 15 <= len(lines) <= 25, len(lines)
    assert lines[0] == (
        "AceData task-1: 1 of 1 pending after 5 s and 1 poll; deadline in 1 h 59 min, next poll in 5 s."
    )
    assert all("task-1: 1 of 1 pending after" in line and "deadline in" in line for line in lines)
    assert "after 55 min 15 s and 663 polls" in lines[-1], "lines are at most 5 min apart late on"


def test_a_line_names_the_vendor_eta_and_the_end_names_the_outcome(clock, caplog):
    caplog.set_level(logging.INFO)
    progress = WaitProgress("ModelsLab", ["a", "b", "c", "d"], deadline=clock.now + 600)
    log = logging.getLogger("wait")
    progress.polls = 1
    progress.report([pending(eta=42)], 31.5, log)
    clock.now += 75
    progress.polls = 3
    progress.finished("succeeded", log)

    first, last = (record.getMessage() for record in caplog.records)
    assert first == (
        "ModelsLab a, b, c and 1 more: 1 of 4 pending after 0 s and 1 poll, vendor eta 42 s; "
        "deadline in 10 min, next poll in 32 s."
    )
    assert last == "ModelsLab a, b, c and 1 more succeeded after 1 min 15 s and 3 polls."
