"""time/convert and time/now: the reference's formats and Go parsing rules, D7 additions, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

REF_UNIX = "1703518245"  # the reference's example: 2023-12-25T15:30:45Z
REF_ISO = "2023-12-25T15:30:45Z"


async def _convert(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/time/convert", json=body)


def _body(value: str, src: str, dst: str, zone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": value, "inputFormat": src, "outputFormat": dst}
    if zone is not None:
        body["timezone"] = zone
    return body


CONVERSIONS = [
    ("unix-to-iso8601", _body(REF_UNIX, "unix", "iso8601"), REF_ISO),
    ("unix-to-rfc3339", _body(REF_UNIX, "unix", "rfc3339"), REF_ISO),
    ("unix-to-human", _body(REF_UNIX, "unix", "human"), "2023-12-25 15:30:45 UTC"),
    ("unix-to-unix-ms", _body(REF_UNIX, "unix", "unix_ms"), "1703518245000"),
    ("unix-to-unix", _body(REF_UNIX, "unix", "unix"), REF_UNIX),
    ("iso8601-to-unix", _body(REF_ISO, "iso8601", "unix"), REF_UNIX),
    ("iso8601-millis", _body("2023-12-25T15:30:45.123Z", "iso8601", "unix_ms"), "1703518245123"),
    (
        "iso8601-nanos-floor",
        _body("2023-12-25T15:30:45.123999999Z", "iso8601", "unix_ms"),
        "1703518245123",
    ),
    (
        "iso8601-comma-fraction",
        _body("2023-12-25T15:30:45,5Z", "iso8601", "unix_ms"),
        "1703518245500",
    ),
    ("iso8601-no-zone-is-utc", _body("2023-12-25T15:30:45", "iso8601", "unix"), REF_UNIX),
    ("iso8601-offset-d7", _body("2023-12-25T21:00:45+05:30", "iso8601", "iso8601"), REF_ISO),
    ("iso8601-one-digit-hour", _body("2023-12-25T5:30:45Z", "iso8601", "unix"), "1703482245"),
    ("rfc3339-offset", _body("2023-12-25T10:30:45-05:00", "rfc3339", "iso8601"), REF_ISO),
    ("rfc3339-fraction-dropped", _body("2023-12-25T15:30:45.999Z", "rfc3339", "rfc3339"), REF_ISO),
    ("human-utc", _body("2023-12-25 15:30:45 UTC", "human", "unix"), REF_UNIX),
    ("human-no-zone", _body("2023-12-25 15:30:45", "human", "unix"), REF_UNIX),
    ("human-t", _body("2023-12-25T15:30:45", "human", "unix"), REF_UNIX),
    ("human-month-name", _body("December 25, 2023 15:30:45 UTC", "human", "unix"), REF_UNIX),
    ("human-month-lower", _body("december 25, 2023 15:30:45", "human", "unix"), REF_UNIX),
    ("human-spaces-collapse", _body("2023-12-25   15:30:45  UTC", "human", "unix"), REF_UNIX),
    ("trim-and-lowercase", _body(f"  {REF_UNIX}\n", " UNIX ", "ISO8601"), REF_ISO),
    ("unix-sign", _body("+0", "unix", "iso8601"), "1970-01-01T00:00:00Z"),
    (
        "unix-leading-zeros",
        _body("-0000000000000000000001", "unix", "iso8601"),
        "1969-12-31T23:59:59Z",
    ),
    ("unix-ms-floor", _body("-1", "unix_ms", "unix"), "-1"),
    ("earliest", _body("0001-01-01T00:00:00Z", "iso8601", "unix"), "-62135596800"),
    ("latest", _body("9999-12-31T23:59:59Z", "rfc3339", "unix"), "253402300799"),
    ("leap-day", _body("2024-02-29T00:00:00Z", "rfc3339", "unix"), "1709164800"),
    (
        "zone-new-york",
        _body(REF_UNIX, "unix", "iso8601", "America/New_York"),
        "2023-12-25T10:30:45-05:00",
    ),
    (
        "zone-kolkata-human",
        _body(REF_ISO, "rfc3339", "human", "Asia/Kolkata"),
        "2023-12-25 21:00:45 +05:30",
    ),
    ("zone-utc", _body(REF_UNIX, "unix", "rfc3339", "UTC"), REF_ISO),
    (
        "zone-summer-time",
        _body("2023-07-01T12:00:00Z", "rfc3339", "rfc3339", "Europe/Paris"),
        "2023-07-01T14:00:00+02:00",
    ),
    ("zone-ignored-for-unix", _body(REF_ISO, "iso8601", "unix", "Asia/Tokyo"), REF_UNIX),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [case[1:] for case in CONVERSIONS],
    ids=[case[0] for case in CONVERSIONS],
)
async def test_convert_known_answers(
    client: httpx.AsyncClient, body: dict[str, Any], expected: str
) -> None:
    response = await _convert(client, body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["result"] == expected
    # The reference's request gets the reference's answer; naming a zone adds the zone fields.
    zone_fields = {"timezone", "offset", "isDst", "abbreviation"}
    assert set(data) - {"result"} <= zone_fields
    assert ("timezone" in data) == ("timezone" in body)


async def test_snake_case_field_names(client: httpx.AsyncClient) -> None:
    body = {"input": REF_UNIX, "input_format": "unix", "output_format": "iso8601"}
    response = await _convert(client, body)
    assert response.json()["data"] == {"result": REF_ISO}


OUT_OF_RANGE = "failed to parse input time: time is outside the years 1-9999"
RFC_SHAPE = "expected YYYY-MM-DDTHH:MM:SS, an optional fraction, then Z or ±hh:mm"
WHOLE_SECONDS = "expected a whole number of seconds, optionally signed, e.g. 1703518245"

CONVERT_ERRORS = [
    (
        "unix-syntax",
        _body("abc", "unix", "iso8601"),
        f'failed to parse input time: invalid unix timestamp "abc": {WHOLE_SECONDS}',
    ),
    (
        "unix-fraction",
        _body("1.5", "unix", "iso8601"),
        f'failed to parse input time: invalid unix timestamp "1.5": {WHOLE_SECONDS}',
    ),
    (
        "unix-underscore",
        _body("1_000", "unix", "iso8601"),
        f'failed to parse input time: invalid unix timestamp "1_000": {WHOLE_SECONDS}',
    ),
    (
        "unix-overflow",
        _body("9223372036854775808", "unix", "iso8601"),
        OUT_OF_RANGE,
    ),
    (
        "unix-overflow-before-junk",
        _body("99999999999999999999x", "unix", "iso8601"),
        f'failed to parse input time: invalid unix timestamp "99999999999999999999x": {WHOLE_SECONDS}',
    ),
    (
        "unix-sign-only",
        _body("-", "unix", "iso8601"),
        f'failed to parse input time: invalid unix timestamp "-": {WHOLE_SECONDS}',
    ),
    (
        "unix-below-int64-min",
        _body("-9223372036854775809", "unix", "iso8601"),
        OUT_OF_RANGE,
    ),
    (
        "unix-ms-syntax",
        _body("12ms", "unix_ms", "iso8601"),
        'failed to parse input time: invalid unix timestamp "12ms": expected a whole number of '
        "milliseconds, optionally signed, e.g. 1703518245",
    ),
    ("unix-int64-max", _body("9223372036854775807", "unix", "iso8601"), OUT_OF_RANGE),
    # 2**63 is one past int64 (was read as 2262-04-11 in nanoseconds)
    ("unix-ns-past-int64", _body("9223372036854775808", "unix_ns", "iso8601"), OUT_OF_RANGE),
    ("unix-int64-min", _body("-9223372036854775808", "unix", "iso8601"), OUT_OF_RANGE),
    ("unix-year-10000", _body("253402300800", "unix", "iso8601"), OUT_OF_RANGE),
    ("unix-ms-year-0", _body("-62135596800001", "unix_ms", "iso8601"), OUT_OF_RANGE),
    ("iso-year-zero", _body("0000-06-01T00:00:00Z", "iso8601", "unix"), OUT_OF_RANGE),
    ("iso-offset-past-9999", _body("9999-12-31T23:59:59-01:00", "iso8601", "unix"), OUT_OF_RANGE),
    (
        "iso-space",
        _body("2023-12-25 15:30:45", "iso8601", "unix"),
        "failed to parse input time: invalid ISO8601 format",
    ),
    (
        "iso-date-bad-day",
        _body("2023-02-30", "iso8601", "unix"),
        "failed to parse input time: invalid ISO8601 format",
    ),
    (
        "rfc-date-only",
        _body("2023-12-25", "rfc3339", "unix"),
        f'failed to parse input time: invalid RFC3339 time "2023-12-25": {RFC_SHAPE}',
    ),
    (
        "rfc-no-zone",
        _body("2023-12-25T15:30:45", "rfc3339", "unix"),
        f'failed to parse input time: invalid RFC3339 time "2023-12-25T15:30:45": {RFC_SHAPE}',
    ),
    (
        "rfc-month",
        _body("2023-13-25T15:30:45Z", "rfc3339", "unix"),
        'failed to parse input time: invalid RFC3339 time "2023-13-25T15:30:45Z": month out of range',
    ),
    (
        "rfc-day",
        _body("2023-02-29T15:30:45Z", "rfc3339", "unix"),
        'failed to parse input time: invalid RFC3339 time "2023-02-29T15:30:45Z": day out of range',
    ),
    (
        "rfc-hour",
        _body("2023-12-25T24:00:00Z", "rfc3339", "unix"),
        'failed to parse input time: invalid RFC3339 time "2023-12-25T24:00:00Z": hour out of range',
    ),
    (
        "rfc-extra",
        _body("2023-12-25T15:30:45Z!", "rfc3339", "unix"),
        'failed to parse input time: invalid RFC3339 time "2023-12-25T15:30:45Z!": '
        'unexpected text "!" after the time',
    ),
    (
        "rfc-non-ascii-quoted",
        _body("2023-12-25T15:30:45é", "rfc3339", "unix"),
        f'failed to parse input time: invalid RFC3339 time "2023-12-25T15:30:45é": {RFC_SHAPE}',
    ),
    (
        "human-garbage",
        _body("yesterday", "human", "unix"),
        "failed to parse input time: invalid human-readable format",
    ),
    (
        "human-short-month",
        _body("Dec 25, 2023 15:30:45", "human", "unix"),
        "failed to parse input time: invalid human-readable format",
    ),
    (
        "number-for-iso8601",
        {"input": 1703518245, "inputFormat": "iso8601", "outputFormat": "unix"},
        "failed to parse input time: a number needs a unix input format (unix, unix_ms, unix_us, "
        "unix_ns or unix_auto); send iso8601 times as text",
    ),
    (
        "number-out-of-range",
        {"input": 2**63, "inputFormat": "unix", "outputFormat": "unix"},
        OUT_OF_RANGE,
    ),
    (
        "auto-text-syntax",
        _body("12e3", "unix_auto", "unix"),
        'failed to parse input time: invalid unix timestamp "12e3": expected a whole number of '
        "seconds, milliseconds, microseconds or nanoseconds, optionally signed, e.g. 1703518245",
    ),
    (
        "unknown-zone",
        _body("1", "unix", "iso8601", "Mars/Olympus"),
        "timezone: Mars/Olympus is not an IANA zone (e.g. Europe/Paris), an offset (+05:30) or "
        "a known abbreviation",
    ),
    (
        "zone-traversal",
        _body("1", "unix", "iso8601", "../../etc/passwd"),
        "timezone: ../../etc/passwd is not an IANA zone (e.g. Europe/Paris), an offset (+05:30) "
        "or a known abbreviation",
    ),
    (
        "zone-directory",
        _body("1", "unix", "iso8601", "America"),
        "timezone: America is not an IANA zone (e.g. Europe/Paris), an offset (+05:30) or a "
        "known abbreviation",
    ),
    (
        "zone-overflows-year",
        _body("9999-12-31T23:00:00Z", "rfc3339", "iso8601", "Asia/Tokyo"),
        "failed to format output time: time is outside the years 1-9999",
    ),
]


@pytest.mark.parametrize(
    ("body", "details"),
    [case[1:] for case in CONVERT_ERRORS],
    ids=[case[0] for case in CONVERT_ERRORS],
)
async def test_convert_errors(
    client: httpx.AsyncClient, body: dict[str, Any], details: str
) -> None:
    response = await _convert(client, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Failed to convert time",
        "details": details,
    }


@pytest.mark.parametrize(
    ("body", "message", "details"),
    [
        (
            {"inputFormat": "unix", "outputFormat": "unix"},
            'field "input" is required',
            "required fields: input, inputFormat, outputFormat",
        ),
        (_body("", "unix", "unix"), "Invalid request format", "input: must be 1 to 256 characters"),
        (
            {"input": 1703518245.5, "inputFormat": "unix", "outputFormat": "unix"},
            "Invalid request format",
            "input: must be text, or a whole number of the input unit (e.g. 1703518245)",
        ),
        (
            {"input": 2**64, "inputFormat": "unix", "outputFormat": "unix"},
            "Invalid request format",
            "input: number is too large for a 64-bit timestamp",
        ),
        (
            {"input": True, "inputFormat": "unix", "outputFormat": "unix"},
            "Invalid request format",
            "input: must be text, or a whole number of the input unit (e.g. 1703518245)",
        ),
        (
            _body("1", "Epoch", "unix"),
            "Invalid request format",
            "inputFormat: Input should be 'unix', 'unix_ms', 'unix_us', 'unix_ns', 'unix_auto', "
            "'iso8601', 'rfc3339' or 'human'",
        ),
        (
            _body("1", "unix", "RFC822"),
            "Invalid request format",
            "outputFormat: Input should be 'unix', 'unix_ms', 'unix_us', 'unix_ns', 'iso8601', "
            "'rfc3339' or 'human'",
        ),
        (_body("1", "", "unix"), "Invalid request format", "inputFormat: Input should be"),
        (
            _body("1", "unix", "unix", "x" * 65),
            "Invalid request format",
            "timezone: String should have at most 64 characters",
        ),
    ],
    ids=[
        "missing-input",
        "empty-input",
        "float-input",
        "huge-number",
        "bool-input",
        "unknown-input-format",
        "unknown-output-format",
        "empty-format",
        "long-zone",
    ],
)
async def test_convert_binding_errors(
    client: httpx.AsyncClient, body: dict[str, Any], message: str, details: str
) -> None:
    response = await _convert(client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == message
    assert error["details"].startswith(details)


def _number(value: int, src: str, dst: str) -> dict[str, Any]:
    return {"input": value, "inputFormat": src, "outputFormat": dst}


REF_MS = 1703518245123
NUMBER_AND_UNIT_CONVERSIONS = [
    ("number-seconds", _number(1703518245, "unix", "iso8601"), REF_ISO),
    ("number-negative", _number(-1, "unix", "iso8601"), "1969-12-31T23:59:59Z"),
    ("number-ms", _number(REF_MS, "unix_ms", "unix_ms"), str(REF_MS)),
    ("number-us", _number(REF_MS * 1000 + 456, "unix_us", "unix_us"), "1703518245123456"),
    (
        "number-ns-floors",
        _number(REF_MS * 10**6 + 456789, "unix_ns", "unix_ns"),
        "1703518245123456000",
    ),
    ("text-ns", _body(str(REF_MS * 10**6), "unix_ns", "iso8601"), REF_ISO),
    ("text-us", _body(str(REF_MS * 1000), "UNIX_US", "unix_ms"), str(REF_MS)),
    ("auto-seconds", _number(1703518245, "unix_auto", "unix_ms"), "1703518245000"),
    ("auto-seconds-below-1e11", _number(99_999_999_999, "unix_auto", "unix"), "99999999999"),
    ("auto-ms-from-1e11", _number(100_000_000_000, "unix_auto", "unix_ms"), "100000000000"),
    ("auto-ms", _number(REF_MS, "unix_auto", "unix_ms"), str(REF_MS)),
    ("auto-us", _number(REF_MS * 1000, "unix_auto", "unix_ms"), str(REF_MS)),
    ("auto-ns", _number(REF_MS * 10**6, "unix_auto", "unix_ms"), str(REF_MS)),
    ("auto-negative-ms", _number(-REF_MS, "unix_auto", "unix_ms"), str(-REF_MS)),
    ("auto-text", _body(str(REF_MS * 1000), "unix_auto", "rfc3339"), REF_ISO),
    ("auto-zero", _number(0, "unix_auto", "iso8601"), "1970-01-01T00:00:00Z"),
    ("date-only-iso", _body("2024-01-01", "iso8601", "unix"), "1704067200"),
    ("date-only-human", _body("2024-01-01", "human", "human"), "2024-01-01 00:00:00 UTC"),
    (
        "date-only-in-zone",
        _body("2024-01-01", "iso8601", "rfc3339", "Europe/Paris"),
        "2024-01-01T00:00:00+01:00",
    ),
    ("date-only-in-zone-unix", _body("2024-07-01", "iso8601", "unix", "Asia/Tokyo"), "1719759600"),
    ("date-only-leap-day", _body("2024-02-29", "iso8601", "unix_ms"), "1709164800000"),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [case[1:] for case in NUMBER_AND_UNIT_CONVERSIONS],
    ids=[case[0] for case in NUMBER_AND_UNIT_CONVERSIONS],
)
async def test_numbers_units_and_dates(
    client: httpx.AsyncClient, body: dict[str, Any], expected: str
) -> None:
    response = await _convert(client, body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["result"] == expected
    # The reference's request gets the reference's answer; naming a zone adds the zone fields.
    zone_fields = {"timezone", "offset", "isDst", "abbreviation"}
    assert set(data) - {"result"} <= zone_fields
    assert ("timezone" in data) == ("timezone" in body)


async def test_formats_are_enums_in_the_schema(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    schemas = response.json()["components"]["schemas"]
    convert = schemas["TimeConvertInput"]["properties"]
    assert convert["inputFormat"]["enum"] == [
        "unix", "unix_ms", "unix_us", "unix_ns", "unix_auto", "iso8601", "rfc3339", "human",
    ]  # fmt: skip
    assert convert["outputFormat"]["enum"] == [
        "unix", "unix_ms", "unix_us", "unix_ns", "iso8601", "rfc3339", "human",
    ]  # fmt: skip
    assert {"type": "integer"} in convert["input"]["anyOf"]


async def test_long_inputs_are_refused_before_parsing(client: httpx.AsyncClient) -> None:
    longest = "0" * 246 + REF_UNIX
    response = await _convert(client, _body(longest, "unix", "iso8601"))
    assert response.json()["data"] == {"result": REF_ISO}
    response = await _convert(client, _body("0" + longest, "unix", "iso8601"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Invalid request format"
    assert "input" in error["details"]


async def test_now_reads_the_injected_clock(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/time/now", params={"format": "ignored"})
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {
            "unixSeconds": 1703518245,
            "unixMilliseconds": 1703518245000,
            "iso8601": REF_ISO,
            "rfc3339": REF_ISO,
            "humanReadable": "2023-12-25 15:30:45 UTC",
        },
    }
