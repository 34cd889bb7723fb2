"""transform/compress: gzip or zlib, compress or decompress, with bounded input and output.

Compression uses level 6 (level 9, gzip's default, is 4x slower for ~1% smaller output) and writes
Go's gzip header (no name, mtime 0, OS 255), so equal input gives equal output on every run.
Decompression never truncates silently: output over ``MAX_OUTPUT_BYTES`` is a 413.
"""

from __future__ import annotations

import struct
import zlib
from typing import Literal

from pydantic import Field

from devutils.errors import RequestTooLargeError, ValidationError
from devutils.execution.budget import output_too_large
from devutils.models import ToolInput
from devutils.registry import Example, ToolContext, tool
from devutils.tools import _gobase64
from devutils.tools._bytesout import BytesOutput, bytes_output, text_output
from devutils.tools._inflate import InflateError, OutputTooLarge, inflate

LEVEL = 6
MAX_GZIP_MEMBERS = 64
_GO_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_MESSAGE = "Compression operation failed"


class CompressInput(ToolInput):
    content: str = Field(
        min_length=1, description="Text to compress, or standard base64 of data to decompress."
    )
    action: Literal["compress", "decompress"] = Field(description="compress | decompress.")
    algorithm: Literal["gzip", "zlib"] = Field(description="gzip | zlib container.")


def _gzip(data: bytes) -> bytes:
    deflater = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(data) + deflater.flush()
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return _GO_GZIP_HEADER + body + trailer


def _too_large(what: str, size: int, limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(
        _MESSAGE, f"{what} too large: {size} bytes exceeds limit of {limit} bytes"
    )


@tool(
    "/api/v1/transform/compress",
    title="Compress or decompress (gzip, zlib)",
    description=(
        "Compress the UTF-8 bytes of a text with gzip or zlib (result is standard base64), or "
        "decompress standard base64 input. Decompressed output is limited to MAX_OUTPUT_BYTES "
        "(8 MiB by default; 413 beyond); binary output sets isBinary and resultBase64."
    ),
    blocking="large",  # level-6 deflate of 1 MiB is ~22 ms: off the event loop
    examples=(
        Example({"content": "Hello, World!", "action": "compress", "algorithm": "gzip"}),
        Example(
            {"content": "eJzzSM3JyddRCM8vyklRBAAfngRq", "action": "decompress", "algorithm": "zlib"}
        ),
    ),
)
def transform_compress(inp: CompressInput, ctx: ToolContext) -> BytesOutput:
    limit = ctx.settings.max_output_bytes
    data = inp.content.encode()
    if inp.action == "compress":
        if len(data) > limit:
            raise _too_large("input", len(data), limit)
        packed = _gzip(data) if inp.algorithm == "gzip" else zlib.compress(data, LEVEL)
        return text_output(_gobase64.encode(packed))
    try:
        compressed = _gobase64.STD.decode(data)
    except _gobase64.Base64Error as exc:
        raise ValidationError(_MESSAGE, f"invalid base64 input: {exc}") from None
    if len(compressed) > limit:
        raise _too_large("compressed data", len(compressed), limit)
    try:
        return bytes_output(inflate(compressed, inp.algorithm, limit, MAX_GZIP_MEMBERS))
    except OutputTooLarge:
        raise output_too_large(limit, _MESSAGE) from None
    except InflateError as exc:
        raise ValidationError(_MESSAGE, str(exc)) from None
