"""Requests and replies as plain values, so vendor handlers never touch sockets.

A handler gets a :class:`Request` and returns a :class:`Reply`; only the server writes bytes. The
reply's ``action`` is how a handler asks for the failures a real network produces: no answer at
all (``drop``) or an answer that stops half-way (``truncate``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from airflow_provider_nanobanana.emulator.runtime import Runtime


@dataclass(frozen=True)
class Request:
    """One HTTP request; ``headers`` has lower-case names, ``base_url`` is how the client reached
    us, ``params`` holds the named groups of the route that matched the path and ``query`` the
    query string's values."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    base_url: str
    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is absent, not JSON, or not an object."""
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Reply:
    """What to send back; ``truncate`` announces the full length but sends half the body."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    action: Literal["send", "drop", "truncate"] = "send"


Handler = Callable[[Request, "Runtime"], Reply]


@dataclass(frozen=True)
class Route:
    """One endpoint: ``pattern`` must match the whole path; ``method`` None accepts any method.

    Routes with a ``vendor`` and ``endpoint`` are counted as ``"<vendor>:<endpoint>"`` requests.
    """

    method: str | None
    pattern: str
    handler: Handler
    vendor: str | None = None
    endpoint: str | None = None


DROP = Reply(status=0, action="drop")

# Valid JSON up to the point where the "connection" gave out: what a broken proxy hands a client.
MALFORMED = Reply(status=200, body=b'{"status": "succ')


def json_reply(payload: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), headers=headers)


def retry_after(seconds: float) -> tuple[str, str]:
    """The Retry-After header, in whole seconds rounded up as RFC 9110 requires integers."""
    return ("Retry-After", str(math.ceil(seconds)))


def is_http_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8


def is_whole_number(value: object) -> bool:
    """JSON integers, also when a client wrote them as 1024.0; booleans are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


class InvalidRequest(Exception):
    """A request broke one of a vendor's rules; that vendor's module renders it as its error body.

    ``field`` names the offending field (ModelsLab's legacy shape keys its message by it) and
    ``status`` is the HTTP status a vendor that uses status codes would send.
    """

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status
