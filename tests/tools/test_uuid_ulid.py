"""id/uuid versions 3, 5 and 6 (RFC 9562 appendix A), id/ulid (ulid/spec) and id/inspect."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest

from devutils.errors import ServiceUnavailableError
from devutils.tools import _ulid, _uuidtime, ids
from tests.conftest import FIXED_NOW

# RFC 9562 appendix A: one instant (2022-02-22 19:22:22 UTC) as v1 (A.1), v6 (A.5) and v7 (A.6);
# v3 (A.2) and v5 (A.4) for the name "www.example.com" in the DNS namespace.
RFC_V1 = "c232ab00-9414-11ec-b3c8-9f6bdeced846"
RFC_V6 = "1ec9414c-232a-6b00-b3c8-9f6bdeced846"
RFC_V7 = "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"
RFC_V3 = "5df41881-3aed-3515-88a7-2f4a814cf09e"
RFC_V5 = "2ed6657d-e927-568b-95e1-2665a8aea6a2"
RFC_MILLIS = 1645557742000
RFC_TIME = "2022-02-22T19:22:22.000Z"
# The ULID spec's example: 1469918176385 ms gives the time part 01ARYZ6S41.
SPEC_ULID = "01ARYZ6S41TSV4RRFFQ69G5FAV"
SPEC_ULID_MILLIS = 1469918176385


async def _ok(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/id/{path}", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _error(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/id/{path}", json=body)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    return error


NAME_BASED = [
    ("v3-dns", 3, "dns", "www.example.com", RFC_V3),
    ("v5-dns", 5, "dns", "www.example.com", RFC_V5),
    ("v5-dns-upper-keyword", 5, "DNS", "www.example.com", RFC_V5),
    ("v3-namespace-uuid", 3, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com", RFC_V3),
    (
        "v5-url",
        5,
        "url",
        "https://example.com/",
        str(uuid.uuid5(uuid.NAMESPACE_URL, "https://example.com/")),
    ),
    ("v3-oid", 3, "oid", "1.3.6.1", str(uuid.uuid3(uuid.NAMESPACE_OID, "1.3.6.1"))),
    ("v5-x500", 5, "x500", "cn=a", str(uuid.uuid5(uuid.NAMESPACE_X500, "cn=a"))),
    ("v5-empty-name", 5, "dns", "", str(uuid.uuid5(uuid.NAMESPACE_DNS, ""))),
]


@pytest.mark.parametrize(
    ("version", "namespace", "name", "expected"),
    [case[1:] for case in NAME_BASED],
    ids=[case[0] for case in NAME_BASED],
)
async def test_name_based_uuids(
    client: httpx.AsyncClient, version: int, namespace: str, name: str, expected: str
) -> None:
    body = {"version": version, "namespace": namespace, "name": name}
    assert await _ok(client, "uuid", body) == {"uuids": [expected]}


def test_v6_layout_matches_rfc_9562_a1_and_a5() -> None:
    v1 = uuid.UUID(RFC_V1).int
    ticks = _uuidtime.uuid1_ticks(v1)
    assert ticks == 0x1EC9414C232AB00
    built = _uuidtime.uuid6_int(ticks, _uuidtime.clock_seq(v1), _uuidtime.node(v1))
    assert str(uuid.UUID(int=built)) == RFC_V6
    assert _uuidtime.uuid6_ticks(built) == ticks


@pytest.fixture
def fresh_v6_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new per-process timestamp guard: an earlier call in this process (the CLI tests read the
    real clock) may have used a later time, which version 6 never goes back from."""
    monkeypatch.setattr(ids, "_V6_CLOCK", _uuidtime.V6Clock())


@pytest.mark.usefixtures("fresh_v6_clock")
async def test_v6_carries_the_clock_in_text_order(client: httpx.AsyncClient) -> None:
    uuids = (await _ok(client, "uuid", {"version": 6, "count": 50}))["uuids"]
    values = [uuid.UUID(text) for text in uuids]
    assert {value.version for value in values} == {6}
    assert {value.variant for value in values} == {uuid.RFC_4122}
    assert uuids == sorted(uuids)
    assert len(set(uuids)) == 50
    ticks = [_uuidtime.uuid6_ticks(value.int) for value in values]
    assert ticks == list(range(ticks[0], ticks[0] + 50))
    assert ticks[0] == _uuidtime.gregorian_ticks(FIXED_NOW)
    assert all(_uuidtime.node(value.int) & 1 << 40 for value in values)
    later = (await _ok(client, "uuid", {"version": 6}))["uuids"][0]
    assert later > uuids[-1], "a second call at the same instant still sorts after"


UUID_ERRORS = [
    ("v3-no-name", {"version": 3, "namespace": "dns"}, "version 3 needs a namespace and a name"),
    ("v5-no-namespace", {"version": 5, "name": "x"}, "version 5 needs a namespace and a name"),
    (
        "v5-bad-namespace",
        {"version": 5, "namespace": "email", "name": "x"},
        "namespace must be dns, url, oid, x500 or a UUID",
    ),
    (
        "v3-count",
        {"version": 3, "namespace": "dns", "name": "x", "count": 2},
        "versions 3 and 5 give one UUID per namespace and name: count must be 1",
    ),
    (
        "v4-with-name",
        {"version": 4, "name": "x"},
        "namespace and name apply only to versions 3 and 5",
    ),
    (
        "v5-long-name",
        {"version": 5, "namespace": "dns", "name": "x" * 65537},
        "name exceeds maximum length of 65536 characters",
    ),
    ("v6-count-over", {"version": 6, "count": 1001}, "count exceeds maximum limit of 1000"),
]


@pytest.mark.parametrize(
    ("body", "details"), [case[1:] for case in UUID_ERRORS], ids=[case[0] for case in UUID_ERRORS]
)
async def test_uuid_errors(client: httpx.AsyncClient, body: dict[str, Any], details: str) -> None:
    error = await _error(client, "uuid", body)
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "Failed to generate UUIDs",
        "details": details,
    }


# --- ULID -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (SPEC_ULID_MILLIS << 80, "01ARYZ6S410000000000000000"),
        (0, "0" * 26),
        ((1 << 128) - 1, "7" + "Z" * 25),
        (_ulid.MAX_TIME << 80, "7ZZZZZZZZZ0000000000000000"),
    ],
    ids=["spec-time", "zero", "max", "max-time"],
)
def test_ulid_encoding(value: int, text: str) -> None:
    assert _ulid.encode(value) == text
    assert _ulid.decode(text) == value
    assert _ulid.decode(text.lower()) == value


@pytest.mark.parametrize(
    "text",
    [
        "8" + "0" * 25,
        "0" * 25,
        "0" * 27,
        "0" * 25 + "U",
        "0" * 25 + "I",
        "0" * 25 + "L",
        "0" * 25 + "O",
    ],
    ids=["over-128-bits", "short", "long", "letter-u", "letter-i", "letter-l", "letter-o"],
)
def test_ulid_decode_refuses(text: str) -> None:
    assert _ulid.decode(text) is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # As the spec's monotonic example counts ...R8, ...R9, ...RA (its time part
        # 000XAL6S41 holds an L, outside the alphabet, so it is not used as is).
        ("01ARYZ6S41TSV4RRFFQ69G5FR8", "01ARYZ6S41TSV4RRFFQ69G5FR9"),
        ("01ARYZ6S41TSV4RRFFQ69G5FR9", "01ARYZ6S41TSV4RRFFQ69G5FRA"),
        ("01ARYZ6S41TSV4RRFFQ69G5FRZ", "01ARYZ6S41TSV4RRFFQ69G5FS0"),
        ("01ARYZ6S41ZZZZZZZZZZZZZZZY", "01ARYZ6S41ZZZZZZZZZZZZZZZZ"),
    ],
    ids=["r8-r9", "r9-ra", "carry", "last-step"],
)
def test_ulid_increment(before: str, after: str) -> None:
    value = _ulid.decode(before)
    assert value is not None
    assert _ulid.increment(value) == _ulid.decode(after)


def test_ulid_increment_overflow_is_refused() -> None:
    generator = _ulid.Generator()
    assert _ulid.increment(5 << 80 | (1 << 80) - 1) is None
    generator.batch(5, 1, monotonic=True)
    # Two left in this millisecond: a batch of two fits, a third ULID would overflow.
    generator._last = 5 << 80 | (1 << 80) - 3
    assert generator.batch(5, 2, monotonic=True)[-1] == "0000000005ZZZZZZZZZZZZZZZZ"
    generator._last = 5 << 80 | (1 << 80) - 3
    with pytest.raises(ServiceUnavailableError):
        generator.batch(5, 3, monotonic=True)


async def test_ulids_carry_the_clock(client: httpx.AsyncClient) -> None:
    ulids = (await _ok(client, "ulid", {"count": 1000}))["ulids"]
    millis = int(FIXED_NOW.timestamp() * 1000)
    values = [_ulid.decode(text) for text in ulids]
    assert all(value is not None and value >> 80 == millis for value in values)
    assert all(text == text.upper() and len(text) == 26 for text in ulids)
    assert len(set(ulids)) == 1000
    assert ulids != sorted(ulids), "without monotonic the random parts are independent"


async def test_monotonic_ulids_count_up(client: httpx.AsyncClient) -> None:
    first = (await _ok(client, "ulid", {"count": 500, "monotonic": True}))["ulids"]
    second = (await _ok(client, "ulid", {"count": 3, "monotonic": True}))["ulids"]
    values = [_ulid.decode(text) or 0 for text in first + second]
    assert [value - values[0] for value in values] == list(range(503))
    assert (first + second) == sorted(first + second)


def test_v6_clock_never_goes_back() -> None:
    clock = _uuidtime.V6Clock()
    assert clock.take(1000, 5) == 1000  # uses 1000-1004
    assert clock.take(1000, 1) == 1005  # same instant: the next free one
    assert clock.take(900, 2) == 1006  # the clock went back: still after the last
    assert clock.take(5000, 1) == 5000


def test_monotonic_clock_going_back_keeps_order() -> None:
    generator = _ulid.Generator()
    later = generator.batch(2000, 1, monotonic=True)
    earlier = generator.batch(1000, 1, monotonic=True)
    assert earlier[0] > later[0]
    assert _ulid.decode(earlier[0]) == (_ulid.decode(later[0]) or 0) + 1
    fresh = generator.batch(3000, 1, monotonic=True)
    assert (_ulid.decode(fresh[0]) or 0) >> 80 == 3000


@pytest.mark.parametrize(
    ("body", "count"),
    [({}, 1), ({"count": 0}, 1), ({"count": -4}, 1), ({"count": 7}, 7)],
    ids=["default", "zero", "negative", "seven"],
)
async def test_ulid_counts(client: httpx.AsyncClient, body: dict[str, Any], count: int) -> None:
    assert len((await _ok(client, "ulid", body))["ulids"]) == count


@pytest.mark.parametrize(
    ("body", "message", "details"),
    [
        ({"count": 1001}, "Failed to generate ULIDs", "count exceeds maximum limit of 1000"),
        ({"monotonic": "yes"}, "Invalid request format", "monotonic"),
        ({"count": 1.5}, "Invalid request format", "count"),
    ],
    ids=["count-over", "monotonic-string", "count-float"],
)
async def test_ulid_errors(
    client: httpx.AsyncClient, body: dict[str, Any], message: str, details: str
) -> None:
    error = await _error(client, "ulid", body)
    assert error["message"] == message
    assert details in error["details"]


# --- inspect --------------------------------------------------------------------------------


def _forms(text: str) -> dict[str, Any]:
    value = uuid.UUID(text)
    return {
        "hex": value.hex,
        "base32": _ulid.encode(value.int),
        "urn": f"urn:uuid:{value}",
        "base64": base64.b64encode(value.bytes).decode(),
    }


INSPECT = [
    (
        "rfc-v1",
        RFC_V1.upper(),
        {
            "version": 1,
            "time": RFC_TIME,
            "unixMs": RFC_MILLIS,
            "clockSequence": 0x33C8,
            "node": "9f6bdeced846",
        },
    ),
    (
        "rfc-v6",
        RFC_V6,
        {
            "version": 6,
            "time": RFC_TIME,
            "unixMs": RFC_MILLIS,
            "clockSequence": 0x33C8,
            "node": "9f6bdeced846",
        },
    ),
    ("rfc-v7", RFC_V7, {"version": 7, "time": RFC_TIME, "unixMs": RFC_MILLIS}),
    ("rfc-v3", RFC_V3, {"version": 3}),
    ("rfc-v5-urn", "urn:uuid:" + RFC_V5, {"version": 5}),
    ("v4-braces", "{919108F7-52D1-4320-9BAC-F847DB4148A8}", {"version": 4}),
    ("v4-hex", "919108f752d143209bacf847db4148a8", {"version": 4}),
]


@pytest.mark.parametrize(
    ("text", "fields"), [case[1:] for case in INSPECT], ids=[case[0] for case in INSPECT]
)
async def test_inspect_uuid(client: httpx.AsyncClient, text: str, fields: dict[str, Any]) -> None:
    data = await _ok(client, "inspect", {"id": text})
    canonical = str(uuid.UUID(text))
    expected = {
        "type": "uuid",
        "canonical": canonical,
        "variant": "rfc9562",
        "time": None,
        "unixMs": None,
        "clockSequence": None,
        "node": None,
        **_forms(canonical),
        **fields,
    }
    assert data == expected


@pytest.mark.parametrize(
    ("text", "variant"),
    [
        ("00000000-0000-0000-0000-000000000000", "nil"),
        ("ffffffff-ffff-ffff-ffff-ffffffffffff", "max"),
        ("00000000-0000-0000-0000-000000000001", "ncs"),
        ("00000000-0000-4000-c000-000000000000", "microsoft"),
        ("00000000-0000-4000-e000-000000000000", "future"),
    ],
    ids=["nil", "max", "ncs", "microsoft", "future"],
)
async def test_inspect_variants(client: httpx.AsyncClient, text: str, variant: str) -> None:
    data = await _ok(client, "inspect", {"id": text})
    assert (data["variant"], data["version"], data["time"]) == (variant, None, None)


async def test_inspect_ulid(client: httpx.AsyncClient) -> None:
    data = await _ok(client, "inspect", {"id": SPEC_ULID.lower()})
    value = _ulid.decode(SPEC_ULID)
    assert value is not None
    as_uuid = uuid.UUID(int=value)
    assert data == {
        "type": "ulid",
        "canonical": SPEC_ULID,
        "version": None,
        "variant": None,
        "time": "2016-07-30T22:36:16.385Z",
        "unixMs": SPEC_ULID_MILLIS,
        "clockSequence": None,
        "node": None,
        **_forms(str(as_uuid)),
    }


@pytest.mark.usefixtures("fresh_v6_clock")
async def test_inspect_reads_back_generated_ids(client: httpx.AsyncClient) -> None:
    millis = int(FIXED_NOW.timestamp() * 1000)
    for version in (6, 7):
        text = (await _ok(client, "uuid", {"version": version}))["uuids"][0]
        data = await _ok(client, "inspect", {"id": text})
        assert data["version"] == version
        assert 0 <= data["unixMs"] - millis < 1000
    text = (await _ok(client, "ulid", {}))["ulids"][0]
    data = await _ok(client, "inspect", {"id": text})
    assert (data["unixMs"], data["time"]) == (millis, "2023-12-25T15:30:45.000Z")


async def test_inspect_time_beyond_year_9999(client: httpx.AsyncClient) -> None:
    data = await _ok(client, "inspect", {"id": "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert (data["unixMs"], data["time"]) == (_ulid.MAX_TIME, None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-a-uuid",
        "c232ab00-9414-11ec-b3c8-9f6bdeced84",
        "01ARYZ6S41TSV4RRFFQ69G5FAU",
        "8" * 26,
        "0" * 65,
    ],
    ids=["empty", "words", "short-uuid", "ulid-letter-u", "ulid-over-128-bits", "long"],
)
async def test_inspect_refuses(client: httpx.AsyncClient, text: str) -> None:
    error = await _error(client, "inspect", {"id": text})
    assert error["message"] == "Failed to inspect ID"
    assert "not a UUID" in error["details"]
