"""Constants and small helpers shared by the emulator tests."""

from __future__ import annotations

import io
import time

from PIL import Image

ML_KEY = "modelslab-test-key"
AD_TOKEN = "acedata-test-key"
AD_AUTH = {"Authorization": f"Bearer {AD_TOKEN}"}
ENTERPRISE = "/api/v1/enterprise/nano_banana"
V7 = "/api/v7/images"
PROCESSING = 0.2  # what the session emulator of the pytest plugin uses


def wait_for_jobs() -> None:
    """Sleep just past the session emulator's processing time."""
    time.sleep(PROCESSING + 0.1)


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
