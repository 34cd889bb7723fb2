"""Length-prefixed messages over a pipe between the server and its pool processes."""

from __future__ import annotations

import os
import struct

_HEADER = struct.Struct("!Q")


class PipeClosed(EOFError):
    """The other end closed the pipe (or died)."""


def send(fd: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise PipeClosed
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(fd: int) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return _read_exactly(fd, size)


class Reader:
    """Collects one message from a non-blocking pipe, piece by piece, as the loop sees data."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        self._size: int | None = None

    def feed(self) -> bytes | None:
        """Read what is there; the whole message once complete, else None.  PipeClosed on EOF."""
        try:
            chunk = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return None
        if not chunk:
            raise PipeClosed
        self._buffer += chunk
        if self._size is None and len(self._buffer) >= _HEADER.size:
            (self._size,) = _HEADER.unpack_from(self._buffer)
        if self._size is not None and len(self._buffer) >= _HEADER.size + self._size:
            return bytes(self._buffer[_HEADER.size : _HEADER.size + self._size])
        return None
