"""Bounded bzip2, xz/lzma, brotli and zstd decompression: the output cap acts while decoding.

Each format is decoded incrementally and never asked for more than one byte past the cap:
``BZ2Decompressor``/``LZMADecompressor`` take ``max_length``; brotli (1.2+) takes
``output_buffer_limit`` and is drained with empty input until it can accept more; zstd has no
output bound per call, so its input is fed in slices of :data:`ZSTD_SLICE` bytes (one zstd block
yields at most 128 KiB, and a block needs at least 4 input bytes, so one slice yields at most
1 MiB).  Decoder memory is bounded too: xz/lzma by ``memlimit``, zstd by ``max_window_size``
(frames that need a larger window, such as ``--long`` or ``--ultra`` output, are refused).
Concatenated streams/frames are accepted, counted and capped like gzip members, and so is the
NUL stream padding the .xz format allows after each stream (a multiple of four bytes, as ``xz -d``
requires); anything else after the last stream is an error, and so is a truncated stream.
"""

from __future__ import annotations

import bz2
import lzma
import re
from collections.abc import Callable
from typing import Literal, Protocol

import brotli
import zstandard

from devutils.tools._inflate import InflateError, OutputTooLarge

Format = Literal["bzip2", "lzma", "brotli", "zstd"]
_CHUNK = 64 * 1024
ZSTD_SLICE = 32
ZSTD_MAX_WINDOW = 8 * 1024 * 1024  # zstd's levels 1-19 use at most this (window log 23)
LZMA_MEMLIMIT = 72 * 1024 * 1024  # xz -9 needs 65 MiB to decode; more is refused
XZ_MAGIC = b"\xfd7zXZ\x00"
_NOT_NUL = re.compile(rb"[^\x00]")


class _Decoder(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _failed(problem: object) -> InflateError:
    return InflateError(f"decompression failed: {problem}")


def _streams(
    data: bytes,
    make: Callable[[], _Decoder],
    name: str,
    limit: int,
    max_streams: int,
    padding_after: Callable[[bytes, int, int], int] | None = None,
) -> bytes:
    """bz2/lzma: one decoder per concatenated stream, output capped while it is produced.
    ``padding_after(data, start, end)`` gives where the next stream begins after the stream read
    from ``start`` to ``end``."""
    view = memoryview(data)
    out = bytearray()
    pos = 0
    streams = 0
    while True:
        start = pos
        streams += 1
        if streams > max_streams:
            raise _failed(f"more than {max_streams} {name} streams")
        decoder = make()
        while not decoder.eof:
            chunk = b""
            if decoder.needs_input:
                chunk = bytes(view[pos : pos + _CHUNK])
                pos += len(chunk)
                if not chunk:
                    raise _failed("unexpected EOF")
            try:
                piece = decoder.decompress(chunk, limit - len(out) + 1)
            except (OSError, lzma.LZMAError, EOFError) as exc:
                raise _failed(f"{name}: {exc}") from None
            out += piece
            if len(out) > limit:
                raise OutputTooLarge(limit)
        pos -= len(decoder.unused_data)
        if padding_after is not None:
            pos = padding_after(data, start, pos)
        if pos >= len(data):
            return bytes(out)


def _xz_padding(data: bytes, start: int, end: int) -> int:
    """Skip the Stream Padding after an .xz stream: NUL bytes, a multiple of four (the .xz file
    format 1.2.1, section 2.2).  Legacy .lzma files have none."""
    if not data.startswith(XZ_MAGIC, start):
        return end
    found = _NOT_NUL.search(data, end)
    after = found.start() if found else len(data)
    if (after - end) % 4:
        raise _failed("lzma: stream padding is not a multiple of four bytes")
    return after


def _bzip2(data: bytes, limit: int, max_streams: int) -> bytes:
    return _streams(data, bz2.BZ2Decompressor, "bzip2", limit, max_streams)


def _lzma(data: bytes, limit: int, max_streams: int) -> bytes:
    def make() -> lzma.LZMADecompressor:
        return lzma.LZMADecompressor(lzma.FORMAT_AUTO, memlimit=LZMA_MEMLIMIT)

    return _streams(data, make, "lzma", limit, max_streams, _xz_padding)


def _brotli(data: bytes, limit: int) -> bytes:
    view = memoryview(data)
    out = bytearray()
    pos = 0
    decoder = brotli.Decompressor()
    while not decoder.is_finished():
        chunk = b""
        if decoder.can_accept_more_data():
            chunk = bytes(view[pos : pos + _CHUNK])
            pos += len(chunk)
        try:
            piece = decoder.process(chunk, output_buffer_limit=limit - len(out) + 1)
        except brotli.error:
            raise _failed("brotli: corrupt input") from None
        out += piece
        if len(out) > limit:
            raise OutputTooLarge(limit)
        if not chunk and not piece and not decoder.is_finished():
            raise _failed("unexpected EOF")
    if pos < len(data):
        raise _failed("trailing data after the brotli stream")
    return bytes(out)


def _zstd(data: bytes, limit: int, max_frames: int) -> bytes:
    view = memoryview(data)
    out = bytearray()
    pos = 0
    frames = 0
    context = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    while pos < len(data) or frames == 0:
        frames += 1
        if frames > max_frames:
            raise _failed(f"more than {max_frames} zstd frames")
        decoder = context.decompressobj()
        while not decoder.eof:
            chunk = bytes(view[pos : pos + ZSTD_SLICE])
            pos += len(chunk)
            if not chunk:
                raise _failed("unexpected EOF")
            try:
                out += decoder.decompress(chunk)
            except zstandard.ZstdError as exc:
                raise _failed(str(exc)) from None
            if len(out) > limit:
                raise OutputTooLarge(limit)
        pos -= len(decoder.unused_data)
    return bytes(out)


def unpack(data: bytes, fmt: Format, limit: int, max_streams: int) -> bytes:
    """Decompress ``data`` completely; raise :class:`OutputTooLarge` past ``limit`` bytes."""
    if not data:
        raise _failed("EOF")
    if fmt == "bzip2":
        return _bzip2(data, limit, max_streams)
    if fmt == "lzma":
        return _lzma(data, limit, max_streams)
    if fmt == "brotli":
        return _brotli(data, limit)
    return _zstd(data, limit, max_streams)
