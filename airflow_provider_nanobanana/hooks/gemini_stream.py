"""Read Gemini answers as they stream, decoding each inline image into a spool file on the way.

A Gemini image answer is JSON in which every image is an ``inlineData.data`` base64 string
(about 2 MB at 1K, 8 MB at 4K), and a Batch results file is one such answer per line. Parsing it
with ``json.loads`` would hold the body, then the decoded string, then the image bytes. This
scanner reads the bytes once: the base64 of an image goes straight through a decoder into a
:func:`tempfile.SpooledTemporaryFile` (memory up to :data:`SPOOL_MEMORY`, disk beyond), and
everything else, a few hundred bytes per answer, becomes a *skeleton* JSON value in which each
image's ``data`` is the index of its spool. A thinking model's ``thoughtSignature`` (an opaque
token of a megabyte or two that only a later turn of a chat could use) is dropped on the way: it
reaches the skeleton as ``""``. Top-level values (one answer, or one line of a results file) are
handed back with their spools as soon as they close.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tempfile
from typing import IO, Any

SPOOL_MEMORY = 8 * 1024 * 1024
_INLINE_KEYS = (b"inlineData", b"inline_data")
_DROPPED_KEYS = (b"thoughtSignature", b"thought_signature")
_STRING_RUN = re.compile(rb'[^"\\]*')
_KEY_BYTES = 32  # keys worth recognising are short; longer strings are only copied
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENERS, _CLOSERS = b"{[", b"}]"
_WHITESPACE = b" \t\r\n"


class UnreadableAnswerError(ValueError):
    """The bytes are not the JSON (or JSON lines) they should be: cut short, or garbled."""


class _Decoder:
    """Base64 text arriving in pieces, decoded into one spool."""

    def __init__(self) -> None:
        # The spool outlives this decoder: the scanner's caller closes it.
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        self._pending = b""

    def feed(self, text: bytes) -> None:
        data = self._pending + text.replace(b"\\", b"")  # "\/" is how some encoders write "/"
        whole = len(data) - len(data) % 4
        self._pending = data[whole:]
        try:
            self.spool.write(base64.b64decode(data[:whole], validate=True))
        except (binascii.Error, ValueError):
            raise UnreadableAnswerError("an inline image is not base64 text") from None

    def close(self) -> IO[bytes]:
        if self._pending:
            raise UnreadableAnswerError("an inline image's base64 text ends mid-way")
        self.spool.seek(0)
        return self.spool


class InlineImageScanner:
    """Feed it an answer's bytes in any chunks; it returns the top-level values completed so far,
    each with its spools: ``spools[n]`` holds the decoded bytes of the image whose skeleton
    ``data`` is ``n``. The caller owns returned spools and closes them; :meth:`close` closes those
    of a value not completed."""

    def __init__(self) -> None:
        self._spools: list[IO[bytes]] = []
        self._skeleton = bytearray()
        self._stack: list[bytes | None] = []  # per open object/array: the key it is the value of
        self._in_string = False
        self._dropping = False  # inside a string whose content is not kept
        self._escaped = False
        self._string = bytearray()
        self._last_string = b""
        self._key: bytes | None = None
        self._expects_value = False
        self._decoder: _Decoder | None = None

    def feed(self, chunk: bytes) -> list[tuple[Any, list[IO[bytes]]]]:
        done: list[tuple[Any, list[IO[bytes]]]] = []
        position, size = 0, len(chunk)
        while position < size:
            if self._decoder is not None:
                position = self._feed_image(chunk, position)
            elif self._in_string:
                position = self._feed_string(chunk, position)
            else:
                value = self._feed_structure(chunk[position])
                position += 1
                if value is not None:
                    done.append(value)
        return done

    def finish(self) -> None:
        """The answer ended: it must have ended between values."""
        if self._stack or self._in_string or self._decoder is not None or self._skeleton.strip():
            raise UnreadableAnswerError("the answer ends in the middle of a JSON value")

    def close(self) -> None:
        close_spools(self._spools)
        if self._decoder is not None:
            self._decoder.spool.close()

    # -- the three modes -------------------------------------------------------------------------

    def _feed_image(self, chunk: bytes, position: int) -> int:
        assert self._decoder is not None
        end = chunk.find(b'"', position)
        if end == -1:
            self._decoder.feed(chunk[position:])
            return len(chunk)
        self._decoder.feed(chunk[position:end])
        self._spools.append(self._decoder.close())
        self._skeleton += str(len(self._spools) - 1).encode()
        self._decoder = None
        return end + 1

    def _feed_string(self, chunk: bytes, position: int) -> int:
        run_end = _STRING_RUN.match(chunk, position).end()
        run = chunk[position:run_end]
        kept = not self._dropping
        if kept:
            self._skeleton += run
        if self._escaped and run:
            self._escaped = False
        if len(self._string) < _KEY_BYTES:
            self._string += run[: _KEY_BYTES - len(self._string)]
        if run_end == len(chunk):
            return run_end
        byte = chunk[run_end]
        if self._escaped:
            self._escaped = False
            self._string.append(byte)
        elif byte == _BACKSLASH:
            self._escaped = True
            self._string.append(byte)
        else:  # the closing quote
            self._in_string = self._dropping = False
            self._last_string = bytes(self._string)
            self._string.clear()
            kept = True
        if kept:
            self._skeleton.append(byte)
        return run_end + 1

    def _feed_structure(self, byte: int) -> Any:
        if not self._stack and byte in _WHITESPACE:
            return None  # between the lines of a results file
        if byte == _QUOTE:
            starts_image = (
                self._expects_value
                and self._key == b"data"
                and bool(self._stack)
                and self._stack[-1] in _INLINE_KEYS
            )
            dropped = self._expects_value and self._key in _DROPPED_KEYS
            self._expects_value = False
            if starts_image:
                self._decoder = _Decoder()
            else:
                self._in_string, self._dropping = True, dropped
                self._skeleton.append(byte)
            return None
        self._skeleton.append(byte)
        if byte == ord(":"):
            self._key, self._expects_value = self._last_string, True
        elif byte in _OPENERS:
            self._stack.append(self._key if self._expects_value else None)
            self._expects_value = False
        elif byte in _CLOSERS:
            if not self._stack:
                raise UnreadableAnswerError("the answer closes a JSON value it never opened")
            self._stack.pop()
            if not self._stack:
                return self._complete()
        elif byte == ord(","):
            self._expects_value = False
        elif not self._stack and byte not in _WHITESPACE:
            raise UnreadableAnswerError("the answer is not a JSON object")
        return None

    def _complete(self) -> tuple[Any, list[IO[bytes]]]:
        text, self._skeleton = bytes(self._skeleton), bytearray()
        spools, self._spools = self._spools, []
        try:
            return json.loads(text), spools
        except ValueError:
            close_spools(spools)
            raise UnreadableAnswerError("the answer is not valid JSON") from None


def close_spools(spools: list[IO[bytes]]) -> None:
    for spool in spools:
        spool.close()
