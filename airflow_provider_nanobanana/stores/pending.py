"""The bytes of a body received but not yet sent, taken out in the sizes a store's API wants."""

from __future__ import annotations


class PendingBytes:
    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> None:
        self._pieces.append(data)
        self.size += len(data)

    def take(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer if fewer are pending), as one piece; the rest stays."""
        joined = b"".join(self._pieces)
        self._pieces = [joined[size:]] if len(joined) > size else []
        self.size = max(len(joined) - size, 0)
        return joined[:size]

    def clear(self) -> None:
        self._pieces.clear()
        self.size = 0
