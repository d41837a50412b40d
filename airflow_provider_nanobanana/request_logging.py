"""httpx logs every request at INFO (``HTTP Request: POST ... "HTTP/1.1 200 OK"``): a line per
poll, hundreds in one batch's task log. Airflow 3's task logging config sets httpx's logger to
WARNING; Airflow 2's leaves it unset, so the provider sets the same level where no one chose one,
before it opens its first client."""

from __future__ import annotations

import logging


def quiet_request_lines() -> None:
    logger = logging.getLogger("httpx")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
