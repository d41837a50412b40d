"""A faithful local emulator of the ModelsLab and AceData Cloud Nano Banana image APIs.

Start it in tests (``Emulator(...).start()`` or the pytest plugin), or from a shell with
``nanobanana-emulator``; point a hook's connection host at ``emulator.url`` and the hook works
unchanged. Importing this package starts nothing and does not import Pillow.
"""

from airflow_provider_nanobanana.emulator.server import Emulator
from airflow_provider_nanobanana.emulator.settings import EmulatorSettings, Fault

__all__ = ["Emulator", "EmulatorSettings", "Fault"]
