"""transform/compress breadth: raw deflate, bzip2, xz/lzma, brotli and zstd round trips, interop
with the reference tools, error paths, and real decompression bombs refused with bounded memory."""

from __future__ import annotations

import base64
import bz2
import lzma
import shutil
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from devutils.tools._inflate import OutputTooLarge
from devutils.tools.compress import _unpack

MIB = 1024 * 1024
GIB = 1024 * MIB
NEW_FORMATS = ["deflate", "bzip2", "lzma", "brotli", "zstd"]
# The reference command-line tool that reads each format (``-d -c`` reads stdin to stdout).
CLI_DECODERS = {
    "bzip2": ["bzip2", "-d", "-c"],
    "lzma": ["xz", "-d", "-c"],
    "zstd": ["zstd", "-d", "-c"],
}
LIBRARY_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "deflate": lambda data: zlib.decompress(data, -zlib.MAX_WBITS),
    "bzip2": bz2.decompress,
    "lzma": lzma.decompress,
    "brotli": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompress(data),
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _call(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/transform/compress", json=body)


def _decompress(data: bytes, algorithm: str) -> dict[str, Any]:
    return {"content": _b64(data), "action": "decompress", "algorithm": algorithm}


TEXTS = [
    ("short", "Hello, World!"),
    ("unicode", "Grüße, 世界 🎉" * 50),
    ("repetitive", "abc" * 10_000),
]


@pytest.mark.parametrize("algorithm", NEW_FORMATS)
@pytest.mark.parametrize("text", [text for _, text in TEXTS], ids=[name for name, _ in TEXTS])
async def test_round_trip_and_library_interop(
    client: httpx.AsyncClient, algorithm: str, text: str
) -> None:
    response = await _call(client, {"content": text, "action": "compress", "algorithm": algorithm})
    assert response.status_code == 200, response.text
    packed = base64.b64decode(response.json()["data"]["result"], validate=True)
    assert LIBRARY_DECODERS[algorithm](packed) == text.encode()
    response = await _call(client, _decompress(packed, algorithm))
    assert response.json()["data"] == {"result": text, "isBinary": False, "resultBase64": None}


@pytest.mark.parametrize("algorithm", sorted(CLI_DECODERS))
async def test_reference_tools_read_our_output(client: httpx.AsyncClient, algorithm: str) -> None:
    command = CLI_DECODERS[algorithm]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    text = "interop " * 1000
    response = await _call(client, {"content": text, "action": "compress", "algorithm": algorithm})
    packed = base64.b64decode(response.json()["data"]["result"])
    done = subprocess.run(  # noqa: ASYNC221 - a short local decoder run
        command, input=packed, capture_output=True, check=True, timeout=30
    )
    assert done.stdout == text.encode()


@pytest.mark.parametrize("algorithm", sorted(CLI_DECODERS))
async def test_we_read_the_reference_tools_output(
    client: httpx.AsyncClient, algorithm: str
) -> None:
    command = CLI_DECODERS[algorithm]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    text = b"made by the reference tool\n" * 100
    packed = subprocess.run(  # noqa: ASYNC221 - a short local encoder run
        [command[0], "-c", "-9"], input=text, capture_output=True, check=True, timeout=30
    ).stdout
    response = await _call(client, _decompress(packed, algorithm))
    assert response.json()["data"]["result"] == text.decode()


async def test_legacy_lzma_and_concatenated_streams(client: httpx.AsyncClient) -> None:
    alone = lzma.compress(b"legacy", format=lzma.FORMAT_ALONE)
    response = await _call(client, _decompress(alone, "lzma"))
    assert response.json()["data"]["result"] == "legacy"
    for algorithm, pack in (
        ("lzma", lzma.compress),
        ("bzip2", bz2.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
    ):
        joined = pack(b"one ") + pack(b"two")
        response = await _call(client, _decompress(joined, algorithm))
        assert response.json()["data"]["result"] == "one two", algorithm


@pytest.mark.parametrize(
    ("nuls_after", "result"),
    [((4, 0), "one two"), ((8, 12), "one two"), ((0, 3), None), ((2, 0), None)],
    ids=["between", "between-and-after", "after-not-by-four", "between-not-by-four"],
)
async def test_xz_stream_padding(
    client: httpx.AsyncClient, nuls_after: tuple[int, int], result: str | None
) -> None:
    """.xz allows NUL padding after each stream, in fours (xz's file format, section 2.2); xz -d
    reads it and so must we."""
    first, second = nuls_after
    packed = lzma.compress(b"one ") + bytes(first) + lzma.compress(b"two") + bytes(second)
    response = await _call(client, _decompress(packed, "lzma"))
    if result is None:
        assert response.status_code == 400
        assert "multiple of four" in response.json()["error"]["details"]
    else:
        assert response.json()["data"]["result"] == result


PACKERS: dict[str, Callable[[bytes], bytes]] = {
    "deflate": lambda data: zlib.compress(data)[2:-4],
    "bzip2": bz2.compress,
    "lzma": lzma.compress,
    "brotli": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def _valid(algorithm: str) -> bytes:
    return PACKERS[algorithm](b"hello world" * 20)


@pytest.mark.parametrize("algorithm", NEW_FORMATS)
@pytest.mark.parametrize("damage", ["truncated", "trailing-junk", "not-compressed"])
async def test_corrupt_input_is_a_400(
    client: httpx.AsyncClient, algorithm: str, damage: str
) -> None:
    valid = _valid(algorithm)
    data = {
        "truncated": valid[: len(valid) // 2],
        "trailing-junk": valid + b"junk",
        "not-compressed": b"plain text, not compressed at all",
    }[damage]
    response = await _call(client, _decompress(data, algorithm))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == "Compression operation failed"
    assert error["details"].startswith("decompression failed: ")


async def test_too_many_streams_are_refused(big_body_client: httpx.AsyncClient) -> None:
    for algorithm, empty in (
        ("bzip2", bz2.compress(b"")),
        ("lzma", lzma.compress(b"")),
        ("zstd", zstandard.ZstdCompressor().compress(b"")),
    ):
        response = await _call(big_body_client, _decompress(empty * 5_000, algorithm))
        assert response.status_code == 400
        assert "more than 64" in response.json()["error"]["details"]
        response = await _call(big_body_client, _decompress(empty * 64, algorithm))
        assert response.json()["data"]["result"] == ""


async def test_zstd_window_over_the_cap_is_refused(client: httpx.AsyncClient) -> None:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=27)
    packer = zstandard.ZstdCompressor(compression_params=params)  # no content size: streamed
    chunker = packer.compressobj()
    packed = chunker.compress(b"x" * 1000) + chunker.flush()
    response = await _call(client, _decompress(packed, "zstd"))
    assert response.status_code == 400
    assert "zstd" in response.json()["error"]["details"]


def _bombs() -> dict[str, bytes]:
    """1 GiB of zeros in each format (xz and bzip2 as 16 concatenated 64 MiB streams: compressing
    a whole GiB takes them seconds; the decoder sees the same 1 GiB either way)."""
    chunk = bytes(16 * MIB)
    packer = zstandard.ZstdCompressor(level=3).compressobj(size=GIB)
    zstd_bomb = b"".join(packer.compress(chunk) for _ in range(64)) + packer.flush()
    encoder = brotli.Compressor(quality=1)
    brotli_bomb = b"".join(encoder.process(chunk) for _ in range(64)) + encoder.finish()
    return {
        "zstd": zstd_bomb,
        "brotli": brotli_bomb,
        "lzma": lzma.compress(bytes(64 * MIB), preset=0) * 16,
        "bzip2": bz2.compress(bytes(64 * MIB), 1) * 16,
    }


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return _bombs()


def test_bombs_are_real(bombs: dict[str, bytes]) -> None:
    # The bombs decode to 1 GiB with the libraries' own streaming readers (counted, not kept).
    reader = zstandard.ZstdDecompressor().stream_reader(bombs["zstd"])
    total = 0
    while piece := reader.read(16 * MIB):
        total += len(piece)
    assert total == GIB
    assert zstandard.get_frame_parameters(bombs["zstd"]).content_size == GIB
    decoder = bz2.BZ2Decompressor()
    assert len(decoder.decompress(bombs["bzip2"][: len(bombs["bzip2"]) // 16])) == 64 * MIB
    for bomb in bombs.values():
        assert len(bomb) < 256 * 1024  # all small enough for the 1 MiB body limit as base64


@pytest.mark.parametrize("algorithm", ["zstd", "brotli", "lzma", "bzip2"])
async def test_gibibyte_bombs_are_413(
    client: httpx.AsyncClient, bombs: dict[str, bytes], algorithm: str
) -> None:
    response = await _call(client, _decompress(bombs[algorithm], algorithm))
    assert response.status_code == 413, response.text
    assert response.json()["error"] == {
        "code": "REQUEST_TOO_LARGE",
        "message": "Compression operation failed",
        "details": "output would exceed 8 MiB (MAX_OUTPUT_BYTES)",
    }


def test_bomb_memory_stays_bounded(bombs: dict[str, bytes], tmp_path: Any) -> None:
    """Decode every bomb in a child whose address space may grow by only 160 MiB: a decoder that
    produced the whole GiB (or even a fraction of it) would fail with MemoryError there."""
    for name, bomb in bombs.items():
        (tmp_path / name).write_bytes(bomb)
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from devutils.tools._inflate import OutputTooLarge
        from devutils.tools.compress import _unpack
        size = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
        limit = size + 160 * {MIB}
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for name in ("zstd", "brotli", "lzma", "bzip2"):
            try:
                _unpack(Path(sys.argv[1], name).read_bytes(), name, 8 * {MIB})
            except OutputTooLarge:
                print(name, "refused")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == [
        "zstd refused",
        "brotli refused",
        "lzma refused",
        "bzip2 refused",
    ]


def test_output_cap_is_exact_for_every_format() -> None:
    data = bytes(range(256)) * 40  # 10 KiB
    for algorithm, pack in PACKERS.items():
        blob = pack(data)
        assert _unpack(blob, algorithm, len(data)) == data  # type: ignore[arg-type]
        with pytest.raises(OutputTooLarge):
            _unpack(blob, algorithm, len(data) - 1)  # type: ignore[arg-type]
