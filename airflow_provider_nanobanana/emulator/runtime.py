"""The emulator's shared brain: settings in force, armed faults, jobs and pending deliveries.

The Python API (:class:`~airflow_provider_nanobanana.emulator.Emulator`) and the admin HTTP
endpoints both call these methods, so a test driving the emulator from another process gets
exactly the same operations as one holding the object.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from airflow_provider_nanobanana.emulator.delivery import Deliveries
from airflow_provider_nanobanana.emulator.faults import FaultBook
from airflow_provider_nanobanana.emulator.settings import EmulatorSettings, Fault
from airflow_provider_nanobanana.emulator.state import JobStore


class Runtime:
    """Everything a request handler may read or change, shared by all serving threads."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._initial = settings
        self._settings = settings
        self._lock = threading.Lock()
        self.store = JobStore()
        self.faults = FaultBook(settings.faults)
        self.deliveries = Deliveries()

    @property
    def settings(self) -> EmulatorSettings:
        """The settings in force; read once per request so one request sees one consistent set."""
        return self._settings

    def configure(self, **changes: Any) -> EmulatorSettings:
        """Change settings fields; ``faults`` replaces the armed faults. Applies to new requests."""
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **changes)
            if "faults" in changes:
                self.faults.replace(self._settings.faults)
            return self._settings

    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.replace(())

    def reset(self) -> None:
        """Forget jobs, counters and faults, and go back to the construction-time settings
        (which re-arms any faults given at start-up, with their full ``times``)."""
        with self._lock:
            self.deliveries.cancel_all()
            self.store.clear()
            self._settings = self._initial
            self.faults.replace(self._initial.faults)

    def counters(self) -> dict[str, dict[str, int]]:
        return self.store.counters()

    def timeline(self) -> list[dict[str, str | float | int]]:
        return self.store.timeline()
