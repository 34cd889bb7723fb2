"""transform/compress: gzip, zlib, raw deflate, bzip2, xz (lzma), brotli or zstd, compress or
decompress, with bounded input and output.

Compression uses level 6 for the deflate family (level 9, gzip's default, is 4x slower for ~1%
smaller output) and writes Go's gzip header (no name, mtime 0, OS 255), so equal input gives equal
output on every run; bzip2 level 9, xz preset 6 (dictionary no larger than the input, so memory
follows the input), brotli quality 6 (11 is ~10x slower) and zstd level 3.  Decompression never
truncates silently: output over ``MAX_OUTPUT_BYTES`` is a 413, enforced while decoding
(:mod:`._inflate`, :mod:`._unpack`).
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from typing import Literal

import brotli
import zstandard
from pydantic import Field

from devutils.errors import RequestTooLargeError, ValidationError
from devutils.execution.budget import output_too_large
from devutils.models import ToolInput
from devutils.registry import OFF_LOOP_WORK, Example, ToolContext, tool
from devutils.tools import _gobase64
from devutils.tools._bytesout import BytesOutput, bytes_output, text_output
from devutils.tools._inflate import InflateError, OutputTooLarge, inflate
from devutils.tools._unpack import unpack

LEVEL = 6
MAX_GZIP_MEMBERS = 64  # also caps bzip2/xz streams and zstd frames
BROTLI_QUALITY = 6
ZSTD_LEVEL = 3
XZ_PRESET = 6
Algorithm = Literal["gzip", "zlib", "deflate", "bzip2", "lzma", "brotli", "zstd"]
_GO_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_MESSAGE = "Compression operation failed"


class CompressInput(ToolInput):
    content: str = Field(
        min_length=1, description="Text to compress, or standard base64 of data to decompress."
    )
    action: Literal["compress", "decompress"] = Field(description="compress | decompress.")
    algorithm: Algorithm = Field(description="Format; lzma writes xz and reads xz or .lzma.")


def _gzip(data: bytes) -> bytes:
    deflater = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(data) + deflater.flush()
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return _GO_GZIP_HEADER + body + trailer


def _xz(data: bytes) -> bytes:
    dictionary = max(1 << 16, 1 << (len(data) - 1).bit_length())
    options = {"id": lzma.FILTER_LZMA2, "preset": XZ_PRESET, "dict_size": min(dictionary, 1 << 23)}
    return lzma.compress(data, lzma.FORMAT_XZ, filters=[options])


def _pack(data: bytes, algorithm: Algorithm) -> bytes:
    if algorithm == "gzip":
        return _gzip(data)
    if algorithm == "zlib":
        return zlib.compress(data, LEVEL)
    if algorithm == "deflate":
        deflater = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        return deflater.compress(data) + deflater.flush()
    if algorithm == "bzip2":
        return bz2.compress(data, 9)
    if algorithm == "lzma":
        return _xz(data)
    if algorithm == "brotli":
        packed: bytes = brotli.compress(data, quality=BROTLI_QUALITY)
        return packed
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)


def _unpack(data: bytes, algorithm: Algorithm, limit: int) -> bytes:
    if algorithm == "gzip" or algorithm == "zlib" or algorithm == "deflate":
        return inflate(data, algorithm, limit, MAX_GZIP_MEMBERS)
    return unpack(data, algorithm, limit, MAX_GZIP_MEMBERS)


def _too_large(what: str, size: int, limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(
        _MESSAGE, f"{what} too large: {size} bytes exceeds limit of {limit} bytes"
    )


@tool(
    "/api/v1/transform/compress",
    title="Compress or decompress",
    description=(
        "Compress the UTF-8 bytes of a text (gzip, zlib, deflate, bzip2, xz, brotli, zstd; "
        "result is standard base64), or decompress standard base64 input. Output is capped at "
        "MAX_OUTPUT_BYTES (413); binary output sets isBinary and resultBase64."
    ),
    blocking="large",  # level-6 deflate of 1 MiB is ~22 ms: off the event loop
    # A 48-byte bzip2 input decompresses to 8 MiB: decompression never runs on the event loop.
    estimate=lambda inp: OFF_LOOP_WORK if inp.action == "decompress" else len(inp.content),
    examples=(
        Example({"content": "Hello, World!", "action": "compress", "algorithm": "gzip"}),
        Example(
            {"content": "eJzzSM3JyddRCM8vyklRBAAfngRq", "action": "decompress", "algorithm": "zlib"}
        ),
        Example({"content": "KLUv/SAFKQAAaGVsbG8=", "action": "decompress", "algorithm": "zstd"}),
    ),
)
def transform_compress(inp: CompressInput, ctx: ToolContext) -> BytesOutput:
    limit = ctx.settings.max_output_bytes
    data = inp.content.encode()
    if inp.action == "compress":
        if len(data) > limit:
            raise _too_large("input", len(data), limit)
        return text_output(_gobase64.encode(_pack(data, inp.algorithm)))
    try:
        compressed = _gobase64.STD.decode(data)
    except _gobase64.Base64Error as exc:
        raise ValidationError(_MESSAGE, f"invalid base64 input: {exc}") from None
    if len(compressed) > limit:
        raise _too_large("compressed data", len(compressed), limit)
    try:
        return bytes_output(_unpack(compressed, inp.algorithm, limit))
    except OutputTooLarge:
        raise output_too_large(limit, _MESSAGE) from None
    except InflateError as exc:
        raise ValidationError(_MESSAGE, str(exc)) from None
