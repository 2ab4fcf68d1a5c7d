"""A bounded reader of `Transfer-Encoding: chunked` request bodies.

It replaces werkzeug's development-server dechunker, which has two flaws
that hostile input reaches:
- when the client closes inside a chunk, its `readinto` reports more bytes
  than the buffer holds, and `RawIOBase.read` then copies past the end of the
  buffer: the process dies with a segfault (or answers with heap memory);
- it believes any chunk size, e.g. `FFFFFFFFFFFF`.

Here every chunk header is checked (hex digits, at most `max_chunk` bytes)
and a short read is an error. Errors are `ChunkedBodyError`, which the HTTP
layer answers with a 400.
"""

from __future__ import annotations

import io
import re

CHUNK_HEADER = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
MAX_HEADER_LINE = 1024  # a chunk size with extensions; longer is malformed


class ChunkedBodyError(OSError):
    """The chunked body is malformed, too large, or ends early."""


class BoundedDechunkedInput(io.RawIOBase):
    def __init__(self, rfile: io.BufferedIOBase, max_chunk: int) -> None:
        self._rfile = rfile
        self._max_chunk = max_chunk
        self._left_in_chunk = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and not self._done:
            if self._left_in_chunk == 0:
                self._left_in_chunk = self._next_chunk_size()
                if self._left_in_chunk == 0:
                    self._finish()
                    break
            data = self._rfile.read(min(len(view) - filled, self._left_in_chunk))
            if not data:
                raise ChunkedBodyError("the body ended inside a chunk")
            view[filled : filled + len(data)] = data
            filled += len(data)
            self._left_in_chunk -= len(data)
            if self._left_in_chunk == 0:
                self._chunk_terminator()
        return filled

    def _next_chunk_size(self) -> int:
        line = self._rfile.readline(MAX_HEADER_LINE)
        match = CHUNK_HEADER.fullmatch(line)
        if match is None:
            raise ChunkedBodyError("malformed chunk header")
        size = int(match.group(1), 16)
        if size > self._max_chunk:
            raise ChunkedBodyError(f"a chunk of {size} bytes exceeds the limit of {self._max_chunk} bytes")
        return size

    def _chunk_terminator(self) -> None:
        if self._rfile.readline(3) not in (b"\r\n", b"\n"):
            raise ChunkedBodyError("a chunk is not followed by a line break")

    def _finish(self) -> None:
        # The last chunk: skip trailer fields up to the empty line that ends the body.
        self._done = True
        for _ in range(100):
            line = self._rfile.readline(MAX_HEADER_LINE)
            if line in (b"\r\n", b"\n", b""):
                return
        raise ChunkedBodyError("too many trailer fields")
