"""id/uuid and id/nanoid: formats, versions, counts, limits, unbiased sampling, error paths."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import FIXED_NOW

CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NANOID_CHARS = re.compile(r"[A-Za-z0-9_-]+")


def _int(text: str) -> int:
    return uuid.UUID(text).int


async def _post(client: httpx.AsyncClient, kind: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/v1/id/{kind}", json=body)


async def _uuids(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    response = await _post(client, "uuid", body)
    assert response.status_code == 200, response.text
    uuids: list[str] = response.json()["data"]["uuids"]
    for text in uuids:
        assert CANONICAL.fullmatch(text), text
        assert uuid.UUID(text).variant == uuid.RFC_4122
    return uuids


async def _ids(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    response = await _post(client, "nanoid", body)
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()["data"]["ids"]
    return ids


async def _error(client: httpx.AsyncClient, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await _post(client, kind, body)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    return error


@pytest.mark.parametrize("version", [1, 4, 7])
async def test_uuid_versions(client: httpx.AsyncClient, version: int) -> None:
    uuids = await _uuids(client, {"version": version, "count": 50})
    assert len(set(uuids)) == 50
    assert {uuid.UUID(text).version for text in uuids} == {version}


async def test_uuid7_carries_the_clock_and_is_monotonic(client: httpx.AsyncClient) -> None:
    uuids = await _uuids(client, {"version": 7, "count": 1000})
    millis = int(FIXED_NOW.timestamp() * 1000)
    assert {uuid.UUID(text).int >> 80 for text in uuids} == {millis}
    assert uuids == sorted(uuids)
    assert len(set(uuids)) == 1000
    # The 74 random bits (rand_a, rand_b) rise through the batch without being a counter.
    randoms = [(value >> 64 & 0xFFF) << 62 | value & (1 << 62) - 1 for value in map(_int, uuids)]
    steps = [b - a for a, b in itertools.pairwise(randoms)]
    assert min(steps) > 0
    assert len(set(steps)) > 900


async def test_uuid1_uses_a_random_multicast_node(client: httpx.AsyncClient) -> None:
    uuids = [uuid.UUID(text) for text in await _uuids(client, {"version": 1, "count": 3})]
    nodes = {value.node for value in uuids}
    assert len(nodes) == 1
    assert nodes.pop() & (1 << 40), "the multicast bit marks a node that is not a MAC address"
    assert [value.time for value in uuids] == sorted(value.time for value in uuids)


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ({"version": 4}, 1),
        ({"version": 4, "count": 0}, 1),
        ({"version": 4, "count": -5}, 1),
        ({"version": 4, "count": None}, 1),
        ({"version": 4, "count": 1000}, 1000),
    ],
    ids=["missing", "zero", "negative", "null", "maximum"],
)
async def test_uuid_count_defaults(
    client: httpx.AsyncClient, body: dict[str, Any], count: int
) -> None:
    assert len(await _uuids(client, body)) == count


UUID_ERRORS = [
    (
        "count-over",
        {"version": 4, "count": 1001},
        "Failed to generate UUIDs",
        "count exceeds maximum limit of 1000",
    ),
    (
        "version-2",
        {"version": 2},
        "Invalid request format",
        "version: Input should be 1, 3, 4, 5, 6 or 7",
    ),
    ("version-8", {"version": 8}, "Invalid request format", "version"),
    ("version-zero", {"version": 0}, "Invalid request format", "version"),
    ("version-true", {"version": True}, "Invalid request format", "version"),
    ("version-missing", {"count": 2}, 'field "version" is required', "version"),
    ("version-string", {"version": "v4"}, "Invalid request format", "version"),
    ("version-float", {"version": 4.0}, "Invalid request format", "version"),
    ("count-string", {"version": 4, "count": "2"}, "Invalid request format", "count"),
]


@pytest.mark.parametrize(
    ("body", "message", "details"),
    [case[1:] for case in UUID_ERRORS],
    ids=[case[0] for case in UUID_ERRORS],
)
async def test_uuid_errors(
    client: httpx.AsyncClient, body: dict[str, Any], message: str, details: str
) -> None:
    error = await _error(client, "uuid", body)
    assert error["message"] == message
    assert details in error["details"]


@pytest.mark.parametrize(
    ("body", "size", "count"),
    [
        ({}, 21, 1),
        ({"size": 0, "count": 0}, 21, 1),
        ({"size": -3, "count": -3}, 21, 1),
        ({"size": 2}, 2, 1),
        ({"size": 50, "count": 1000}, 50, 1000),
        ({"size": 10, "count": 3}, 10, 3),
    ],
    ids=["empty", "zeros", "negatives", "min-size", "maximums", "ten-by-three"],
)
async def test_nanoid_sizes_and_counts(
    client: httpx.AsyncClient, body: dict[str, Any], size: int, count: int
) -> None:
    ids = await _ids(client, body)
    assert len(ids) == count
    assert {len(text) for text in ids} == {size}
    assert all(NANOID_CHARS.fullmatch(text) for text in ids)
    assert len(set(ids)) == count


NANOID_ERRORS = [
    ("size-over", {"size": 51}, "size exceeds maximum limit of 50"),
    ("count-over", {"count": 1001}, "count exceeds maximum limit of 1000"),
    ("size-checked-first", {"size": 51, "count": 1001}, "size exceeds maximum limit of 50"),
    (
        "size-one",
        {"size": 1},
        "failed to create Nano ID generator: length for ID is invalid (must be within 2-255)",
    ),
    (
        "alphabet-one",
        {"alphabet": "a"},
        "invalid alphabet: it must have 2-255 characters, all different",
    ),
    (
        "alphabet-dup",
        {"alphabet": "abca"},
        "invalid alphabet: it must have 2-255 characters, all different",
    ),
    (
        "alphabet-256",
        {"alphabet": "".join(map(chr, range(256, 512)))},
        "invalid alphabet: it must have 2-255 characters, all different",
    ),
]


@pytest.mark.parametrize(
    ("body", "details"),
    [case[1:] for case in NANOID_ERRORS],
    ids=[case[0] for case in NANOID_ERRORS],
)
async def test_nanoid_errors(client: httpx.AsyncClient, body: dict[str, Any], details: str) -> None:
    error = await _error(client, "nanoid", body)
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "Failed to generate Nano IDs",
        "details": details,
    }


@pytest.mark.parametrize(
    "body",
    [{"size": "21"}, {"count": 1.5}, {"alphabet": 7}],
    ids=["size-string", "count-float", "alphabet-number"],
)
async def test_nanoid_binding_errors(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    error = await _error(client, "nanoid", body)
    assert error["message"] == "Invalid request format"


async def test_nanoid_custom_alphabet(client: httpx.AsyncClient) -> None:
    ids = await _ids(client, {"size": 30, "count": 20, "alphabet": "01"})
    assert all(set(text) <= {"0", "1"} for text in ids)
    wide = "".join(chr(code) for code in range(0x3041, 0x3041 + 255))
    ids = await _ids(client, {"size": 50, "count": 5, "alphabet": wide})
    assert all(len(text) == 50 and set(text) <= set(wide) for text in ids)


async def test_nanoid_default_alphabet_is_fully_used(client: httpx.AsyncClient) -> None:
    ids = await _ids(client, {"size": 50, "count": 1000})
    counts = Counter("".join(ids))
    assert len(counts) == 64
    # 50,000 symbols: about 781 each; a bias such as "% 62" or a stuck symbol would show.
    assert min(counts.values()) > 550
    assert max(counts.values()) < 1050


async def test_custom_alphabet_sampling_is_unbiased(client: httpx.AsyncClient) -> None:
    # With 200 symbols, "byte % 200" would pick the first 56 twice as often as the rest.
    alphabet = "".join(chr(0x4E00 + index) for index in range(200))
    ids = await _ids(client, {"size": 50, "count": 1000, "alphabet": alphabet})
    counts = Counter("".join(ids))
    low = sum(counts[char] for char in alphabet[:56]) / 56
    high = sum(counts[char] for char in alphabet[56:]) / 144
    assert 0.9 < low / high < 1.1
