"""Bounded gzip/zlib/raw deflate decompression: the output cap is enforced while inflating, never after.

``zlib.decompressobj`` with ``max_length`` never produces more than one byte past the cap, so a
1 MB → 1 GiB bomb costs at most the cap in memory and the time to inflate it.  Input is fed in
slices of a memoryview (no copies of the remainder per call), gzip members are counted and capped
(``gzip.decompress`` is quadratic in the member count), checksums are verified by zlib at the end
of each member, and anything after the last member is an error.
"""

from __future__ import annotations

import zlib
from typing import Literal

Algorithm = Literal["gzip", "zlib", "deflate"]
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 64 * 1024
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "zlib": zlib.MAX_WBITS, "deflate": -zlib.MAX_WBITS}


class InflateError(ValueError):
    """Corrupt, truncated or trailing data; the message reads like the reference's details."""


class OutputTooLarge(ValueError):
    pass


def _header_problem(data: bytes, algorithm: Algorithm) -> str | None:
    """Go's reader-creation errors (``failed to create gzip reader: gzip: invalid header``)."""
    if algorithm == "deflate":
        return None if data else "EOF"  # raw deflate has no header
    if algorithm == "gzip":
        if len(data) < 10:
            return "EOF" if not data else "unexpected EOF"
        if data[:2] != GZIP_MAGIC or data[2] != 8:
            return "gzip: invalid header"
        return None
    if len(data) < 2:
        return "EOF" if not data else "unexpected EOF"
    cmf, flg = data[0], data[1]
    if cmf & 0x0F != 8 or cmf >> 4 > 7 or (cmf << 8 | flg) % 31:
        return "zlib: invalid header"
    if flg & 0x20:
        return "zlib: invalid dictionary"
    return None


def _zlib_problem(exc: zlib.error, algorithm: Algorithm) -> str:
    text = str(exc)
    if "incorrect data check" in text or "incorrect length check" in text:
        return f"{algorithm}: invalid checksum"
    if "incorrect header check" in text or "unknown compression method" in text:
        return f"{algorithm}: invalid header"
    return "flate: corrupt input: " + text.partition(": ")[2]


def inflate(data: bytes, algorithm: Algorithm, limit: int, max_members: int) -> bytes:
    """Decompress ``data`` completely; raise :class:`OutputTooLarge` past ``limit`` bytes."""
    problem = _header_problem(data, algorithm)
    if problem is not None:
        raise InflateError(f"failed to create {algorithm} reader: {problem}")
    view = memoryview(data)
    out = bytearray()
    pos = 0
    members = 0
    while True:
        members += 1
        if members > max_members:
            raise InflateError(f"decompression failed: more than {max_members} gzip members")
        inflater = zlib.decompressobj(_WBITS[algorithm])
        while not inflater.eof:
            chunk = view[pos : pos + _CHUNK]
            pos += len(chunk)
            try:
                # One byte past the cap is enough to know the output is too large.
                piece = inflater.decompress(chunk, limit - len(out) + 1)
            except zlib.error as exc:
                raise InflateError(
                    f"decompression failed: {_zlib_problem(exc, algorithm)}"
                ) from None
            out += piece
            if len(out) > limit:
                raise OutputTooLarge(limit)
            if not chunk and not piece and not inflater.eof:
                raise InflateError("decompression failed: unexpected EOF")
        pos -= len(inflater.unused_data)
        if pos >= len(data):
            return bytes(out)
        if algorithm != "gzip":
            raise InflateError(f"decompression failed: trailing data after the {algorithm} stream")
        if view[pos : pos + 2] != GZIP_MAGIC:
            # Go's gzip reader reads another header after each member: junk is an error there.
            raise InflateError("decompression failed: gzip: invalid header")
