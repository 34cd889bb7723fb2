"""transform/compress: round trips, Go-compatible containers, every error path and bombs."""

from __future__ import annotations

import base64
import gzip
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from devutils.http.app import Application
from devutils.tools._inflate import OutputTooLarge, inflate

MIB = 1024 * 1024
GO_GZIP_HEADER = bytes.fromhex("1f8b08000000000000ff")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _gzip_bomb(mib: int) -> bytes:
    """A valid gzip of ``mib`` MiB of zeros, built in milliseconds.

    A full flush leaves the deflate stream byte-aligned with no back-references across it, so one
    compressed MiB repeated is a valid stream of many MiB; an empty final block closes it.
    """
    zeros = bytes(MIB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return GO_GZIP_HEADER + segment * mib + final + trailer


async def _call(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/transform/compress", json=body)


async def _ok(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await _call(client, body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _error(client: httpx.AsyncClient, body: dict[str, Any], status: int) -> dict[str, Any]:
    response = await _call(client, body)
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _decompress(data: bytes, algorithm: str) -> dict[str, Any]:
    return {"content": _b64(data), "action": "decompress", "algorithm": algorithm}


@pytest.fixture
async def small_client(make_app: Callable[..., Application]) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(max_output_bytes=1024)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


TEXTS = [
    ("short", "Hello, World!"),
    ("unicode", "Grüße, 世界 🎉" * 50),
    ("repetitive", "abc" * 10_000),
    ("one-char", "x"),
]


@pytest.mark.parametrize("algorithm", ["gzip", "zlib"])
@pytest.mark.parametrize("text", [text for _, text in TEXTS], ids=[name for name, _ in TEXTS])
async def test_round_trip(client: httpx.AsyncClient, algorithm: str, text: str) -> None:
    packed = await _ok(client, {"content": text, "action": "compress", "algorithm": algorithm})
    raw = base64.b64decode(packed["result"], validate=True)
    expected = gzip.decompress(raw) if algorithm == "gzip" else zlib.decompress(raw)
    assert expected == text.encode()
    body = {"content": packed["result"], "action": "decompress", "algorithm": algorithm}
    assert await _ok(client, body) == {"result": text, "isBinary": False, "resultBase64": None}


async def test_containers_match_go(client: httpx.AsyncClient) -> None:
    body = {"content": "Hello, World!", "action": "compress", "algorithm": "gzip"}
    first = base64.b64decode((await _ok(client, body))["result"])
    # Go's gzip header: no name, mtime 0, XFL 0, OS 255; equal input gives equal output.
    assert first[:10] == GO_GZIP_HEADER
    assert base64.b64decode((await _ok(client, body))["result"]) == first
    body["algorithm"] = "zlib"
    assert base64.b64decode((await _ok(client, body))["result"])[:2] == b"\x78\x9c"


async def test_known_answers(client: httpx.AsyncClient) -> None:
    zlib_hello = {
        "content": "eJzzSM3JyddRCM8vyklRBAAfngRq",
        "action": "decompress",
        "algorithm": "zlib",
    }
    assert (await _ok(client, zlib_hello))["result"] == "Hello, World!"
    gzip_hello = {
        "content": "H4sIAAAAAAAA//NIzcnJBwCCidH3BQAAAA==",
        "action": "decompress",
        "algorithm": "gzip",
    }
    assert (await _ok(client, gzip_hello))["result"] == "Hello"


async def test_go_style_stream_with_empty_stored_block(client: httpx.AsyncClient) -> None:
    """Go ends its deflate stream with a sync flush (00 00 ff ff) before the final block."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS)
    packed = deflater.compress(b"go style") + deflater.flush(zlib.Z_SYNC_FLUSH)
    packed += deflater.flush()
    assert b"\x00\x00\xff\xff" in packed
    assert (await _ok(client, _decompress(packed, "zlib")))["result"] == "go style"


async def test_binary_output_is_flagged(client: httpx.AsyncClient) -> None:
    data = await _ok(client, _decompress(zlib.compress(b"\xff\x00abc"), "zlib"))
    assert data == {"result": "\ufffd\x00abc", "isBinary": True, "resultBase64": "/wBhYmM="}


async def test_concatenated_gzip_members(client: httpx.AsyncClient) -> None:
    members = gzip.compress(b"one ", mtime=0) + gzip.compress(b"two", mtime=0)
    assert (await _ok(client, _decompress(members, "gzip")))["result"] == "one two"


def _corrupt_checksum(packed: bytes, at: int) -> bytes:
    return packed[:at] + bytes([packed[at] ^ 0xFF]) + packed[at + 1 :]


HELLO_GZIP = gzip.compress(b"hello hello hello", mtime=0)
HELLO_ZLIB = zlib.compress(b"hello hello hello")

DECOMPRESS_ERRORS = [
    ("bad-base64", "!!!!", "gzip", "invalid base64 input: illegal base64 data at input byte 0"),
    (
        "unpadded-base64",
        _b64(HELLO_GZIP).rstrip("="),
        "gzip",
        "invalid base64 input: illegal base64 data at input byte 36",
    ),
    (
        "zlib-as-gzip",
        _b64(HELLO_ZLIB),
        "gzip",
        "failed to create gzip reader: gzip: invalid header",
    ),
    (
        "gzip-as-zlib",
        _b64(HELLO_GZIP),
        "zlib",
        "failed to create zlib reader: zlib: invalid header",
    ),
    ("short-gzip", _b64(b"\x1f\x8b\x08"), "gzip", "failed to create gzip reader: unexpected EOF"),
    ("short-zlib", _b64(b"\x78"), "zlib", "failed to create zlib reader: unexpected EOF"),
    (
        "truncated-gzip",
        _b64(HELLO_GZIP[:-6]),
        "gzip",
        "decompression failed: unexpected EOF",
    ),
    (
        "truncated-zlib",
        _b64(HELLO_ZLIB[:-3]),
        "zlib",
        "decompression failed: unexpected EOF",
    ),
    (
        "gzip-crc",
        _b64(_corrupt_checksum(HELLO_GZIP, len(HELLO_GZIP) - 8)),
        "gzip",
        "decompression failed: gzip: invalid checksum",
    ),
    (
        "gzip-length",
        _b64(_corrupt_checksum(HELLO_GZIP, len(HELLO_GZIP) - 4)),
        "gzip",
        "decompression failed: gzip: invalid checksum",
    ),
    (
        "zlib-adler",
        _b64(_corrupt_checksum(HELLO_ZLIB, len(HELLO_ZLIB) - 1)),
        "zlib",
        "decompression failed: zlib: invalid checksum",
    ),
    (
        "gzip-trailing-garbage",
        _b64(HELLO_GZIP + b"garbage"),
        "gzip",
        "decompression failed: gzip: invalid header",
    ),
    (
        "gzip-trailing-nuls",
        _b64(HELLO_GZIP + b"\x00" * 8),
        "gzip",
        "decompression failed: gzip: invalid header",
    ),
    (
        "zlib-trailing-garbage",
        _b64(HELLO_ZLIB + b"x"),
        "zlib",
        "decompression failed: trailing data after the zlib stream",
    ),
    (
        "bad-block-type",
        _b64(GO_GZIP_HEADER + b"\x07" + b"\x00" * 12),
        "gzip",
        "decompression failed: flate: corrupt input: invalid block type",
    ),
]


@pytest.mark.parametrize(
    ("content", "algorithm", "details"),
    [case[1:] for case in DECOMPRESS_ERRORS],
    ids=[case[0] for case in DECOMPRESS_ERRORS],
)
async def test_decompress_errors_are_400(
    client: httpx.AsyncClient, content: str, algorithm: str, details: str
) -> None:
    body = {"content": content, "action": "decompress", "algorithm": algorithm}
    error = await _error(client, body, 400)
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "Compression operation failed",
        "details": details,
    }


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        ({"action": "compress", "algorithm": "gzip"}, "content"),
        ({"content": "", "action": "compress", "algorithm": "gzip"}, "content"),
        ({"content": "x", "action": "compress", "algorithm": "lz4"}, "algorithm"),
        ({"content": "x", "action": "squash", "algorithm": "gzip"}, "action"),
        ({"content": "x", "action": "compress"}, "algorithm"),
    ],
    ids=["missing-content", "empty-content", "bad-algorithm", "bad-action", "missing-algorithm"],
)
async def test_binding_errors(
    client: httpx.AsyncClient, body: dict[str, Any], detail_part: str
) -> None:
    error = await _error(client, body, 400)
    missing = detail_part not in body
    assert error["message"] == (
        f'field "{detail_part}" is required' if missing else "Invalid request"
    )
    assert detail_part in error["details"]


async def test_size_limits_are_413(small_client: httpx.AsyncClient) -> None:
    fits = {"content": "a" * 1024, "action": "compress", "algorithm": "zlib"}
    packed = (await _ok(small_client, fits))["result"]
    too_big = {"content": "a" * 1025, "action": "compress", "algorithm": "zlib"}
    error = await _error(small_client, too_big, 413)
    assert error == {
        "code": "REQUEST_TOO_LARGE",
        "message": "Compression operation failed",
        "details": "input too large: 1025 bytes exceeds limit of 1024 bytes",
    }
    # Output exactly at the limit is fine; one byte more is refused, never truncated.
    body = {"content": packed, "action": "decompress", "algorithm": "zlib"}
    assert (await _ok(small_client, body))["result"] == "a" * 1024
    error = await _error(small_client, _decompress(zlib.compress(b"a" * 1025), "zlib"), 413)
    assert error["details"] == "output would exceed 1 KiB (MAX_OUTPUT_BYTES)"
    error = await _error(small_client, _decompress(bytes(range(256)) * 5, "zlib"), 413)
    assert error["details"] == "compressed data too large: 1280 bytes exceeds limit of 1024 bytes"


def test_bomb_builder_makes_valid_gzip() -> None:
    assert gzip.decompress(_gzip_bomb(3)) == bytes(3 * MIB)


async def test_one_megabyte_bomb_of_a_gibibyte_is_refused(
    big_body_client: httpx.AsyncClient,
) -> None:
    bomb = _gzip_bomb(1000)
    assert len(bomb) < MIB  # under the compressed-size limit, so the streaming cap must act
    error = await _error(big_body_client, _decompress(bomb, "gzip"), 413)
    assert error["code"] == "REQUEST_TOO_LARGE"
    assert error["details"] == "output would exceed 8 MiB (MAX_OUTPUT_BYTES)"


def test_bomb_memory_stays_near_the_cap() -> None:
    bomb = _gzip_bomb(1000)
    tracemalloc.start()
    try:
        with pytest.raises(OutputTooLarge):
            inflate(bomb, "gzip", MIB, 64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MIB


async def test_many_empty_members_are_refused(big_body_client: httpx.AsyncClient) -> None:
    member = gzip.compress(b"", mtime=0)
    error = await _error(big_body_client, _decompress(member * 50_000, "gzip"), 400)
    assert error["details"] == "decompression failed: more than 64 gzip members"
    assert (await _ok(big_body_client, _decompress(member * 64, "gzip")))["result"] == ""


async def test_nested_bomb_is_decoded_one_layer(client: httpx.AsyncClient) -> None:
    inner = _gzip_bomb(8)
    outer = gzip.compress(inner, mtime=0)
    data = await _ok(client, _decompress(outer, "gzip"))
    assert data["isBinary"] is True
    assert base64.b64decode(data["resultBase64"]) == inner
