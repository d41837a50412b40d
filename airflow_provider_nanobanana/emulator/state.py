"""The jobs the emulator has accepted, the images they produce, and the counters tests assert on.

A job never changes after it is stored: whether it is still processing is computed from the clock
(``ready_at``), so no background thread has to flip states and a poll always sees a consistent job.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

from airflow_provider_nanobanana.emulator.images import FORMAT_EXTENSIONS, ImageSpec
from airflow_provider_nanobanana.emulator.settings import ACEDATA, GEMINI, MODELSLAB


@dataclass(frozen=True)
class ImageFile:
    """One produced image: its URL path without extension, what it shows, and the format it was
    announced in (a download may still ask for another format through the URL's extension)."""

    stem: str
    spec: ImageSpec
    image_format: str

    def url(self, base_url: str, extension: str | None = None) -> str:
        return f"{base_url}{self.stem}.{extension or FORMAT_EXTENSIONS[self.image_format]}"


@dataclass(frozen=True, kw_only=True)
class Job:
    """What every vendor's job has; each vendor module subclasses it with its own fields."""

    vendor: str
    job_id: str
    owner: str
    created_at: float
    ready_at: float
    files: tuple[ImageFile, ...]
    fails: bool = False
    echoes_key: bool = False

    def failure_text(self, message: str) -> str:
        """The vendor's failure message; vendors echo request fields in it, the key among them."""
        return f"{message} (request key {self.owner})" if self.echoes_key else message

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.ready_at - (time.time() if now is None else now))

    def finished(self, now: float | None = None) -> bool:
        return self.remaining(now) == 0.0


class JobStore:
    """Thread-safe store of jobs and image files, plus the request/accept/poll counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # ModelsLab ids are large integers; keep counting across resets so an old id never
        # suddenly names a new job.
        self._numbers = itertools.count(90_000_000)
        self._jobs: dict[tuple[str, str], Job] = {}
        self._files: dict[str, ImageFile] = {}
        self._accepted = {MODELSLAB: 0, ACEDATA: 0, GEMINI: 0}
        self._blobs: dict[str, bytes] = {}  # Gemini Files API uploads, by file name
        self._polls: dict[str, int] = {}
        self._poll_times: dict[str, list[float]] = {}
        self._requests: dict[str, int] = {}

    def next_number(self) -> int:
        with self._lock:
            return next(self._numbers)

    def accept(self, job: Job) -> None:
        """Store a new job and its images; this is the moment a real vendor would charge."""
        with self._lock:
            self._jobs[(job.vendor, job.job_id)] = job
            self._files.update((file.stem, file) for file in job.files)
            self._accepted[job.vendor] += 1

    def poll(self, vendor: str, job_id: str) -> Job | None:
        """Look a job up on behalf of a status request, counting the poll when the job exists."""
        with self._lock:
            job = self._jobs.get((vendor, job_id))
            if job is not None:
                self._polls[job_id] = self._polls.get(job_id, 0) + 1
                self._poll_times.setdefault(job_id, []).append(time.time())
            return job

    def created_between(self, vendor: str, owner: str, low: float, high: float) -> list[Job]:
        """``owner``'s jobs created in ``[low, high]``, newest first (AceData's task search)."""
        with self._lock:
            jobs = [
                job
                for job in self._jobs.values()
                if job.vendor == vendor and job.owner == owner and low <= job.created_at <= high
            ]
        return sorted(jobs, key=lambda job: job.created_at, reverse=True)

    def put_blob(self, name: str, data: bytes) -> None:
        with self._lock:
            self._blobs[name] = data

    def blob(self, name: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(name)

    def jobs_of(self, vendor: str, owner: str) -> list[Job]:
        """``owner``'s jobs at ``vendor``, oldest first (Gemini's batches.list)."""
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.vendor == vendor and job.owner == owner]
        return sorted(jobs, key=lambda job: job.created_at)

    def image(self, stem: str) -> ImageFile | None:
        with self._lock:
            return self._files.get(stem)

    def unfinished(self, vendor: str, owner: str) -> int:
        """How many of ``owner``'s jobs are still processing (ModelsLab's queue limit counts these)."""
        now = time.time()
        with self._lock:
            return sum(
                1
                for job in self._jobs.values()
                if job.vendor == vendor and job.owner == owner and not job.finished(now)
            )

    def count_request(self, vendor: str, endpoint: str) -> None:
        name = f"{vendor}:{endpoint}"
        with self._lock:
            self._requests[name] = self._requests.get(name, 0) + 1

    def timeline(self) -> list[dict[str, str | float | int]]:
        """When each job was accepted and became ready, and when it was polled: what the waiting
        benchmark and the triggerer-restart test need to measure how late each job was noticed."""
        with self._lock:
            return [
                {
                    "vendor": job.vendor,
                    "job_id": job.job_id,
                    "created_at": job.created_at,
                    "ready_at": job.ready_at,
                    "polls": self._polls.get(job.job_id, 0),
                    "poll_times": list(self._poll_times.get(job.job_id, ())),
                }
                for job in self._jobs.values()
            ]

    def counters(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                "accepted": dict(self._accepted),
                "polls": dict(self._polls),
                "requests": dict(self._requests),
            }

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._files.clear()
            self._accepted = dict.fromkeys(self._accepted, 0)
            self._polls.clear()
            self._poll_times.clear()
            self._requests.clear()
            self._blobs.clear()
