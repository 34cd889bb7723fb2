"""time tools: convert between the reference's formats, and the current time.

Parsing follows the reference's Go layouts (see :mod:`devutils.tools._golayout`), plus ISO 8601
offsets (API-DELTAS D7).  Output is UTC unless an IANA ``timezone`` is given.  Times outside the
years 1-9999 are refused with a 400, never a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import NoInput, ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools._golayout import GoParseError, Layout, Parsed, go_parse
from devutils.tools._gotext import strconv_quote
from devutils.tools._timefmt import EPOCH, human, rfc3339, unix_millis, unix_seconds

_MESSAGE = "Failed to convert time"
_INTEGER = re.compile(r"([+-]?)([0-9]*)")
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1
_RFC3339: Layout = ("2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", "Z07:00")
_NAIVE: Layout = _RFC3339[:-1]
# The reference tries "...05Z", "...05.000Z", "...05.000000Z" and "...05"; Go accepts any fraction
# after the seconds, so the first and last cover all four.  D7 adds offsets (Z07:00).
_ISO8601 = (_RFC3339, _NAIVE)
_HUMAN: tuple[Layout, ...] = (
    ("2006", "-", "01", "-", "02", " ", "15", ":", "04", ":", "05", " UTC"),
    ("2006", "-", "01", "-", "02", " ", "15", ":", "04", ":", "05"),
    _NAIVE,
    ("January", " ", "2", ", ", "2006", " ", "15", ":", "04", ":", "05", " UTC"),
    ("January", " ", "2", ", ", "2006", " ", "15", ":", "04", ":", "05"),
)
_OUT_OF_RANGE = "failed to parse input time: time is outside the years 1-9999"


class TimeConvertInput(ToolInput):
    # Length caps bound the work (and the Go-style error texts that quote the input).
    input: str = Field(
        min_length=1, max_length=256, description="The time to convert, in inputFormat."
    )
    input_format: str = Field(
        min_length=1, max_length=64, description="unix | unix_ms | iso8601 | rfc3339 | human."
    )
    output_format: str = Field(
        min_length=1, max_length=64, description="unix | unix_ms | iso8601 | rfc3339 | human."
    )
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA zone (e.g. Europe/Paris) for iso8601, rfc3339 and human output; "
        "default UTC.",
    )


class TimeConvertOutput(ToolOutput):
    result: str = Field(description="The converted time.")


def _fail(details: str) -> ValidationError:
    return ValidationError(_MESSAGE, details)


def _int_problem(text: str) -> str:
    """Go ``strconv.ParseInt(text, 10, 64)``'s verdict: "" when fine."""
    match = _INTEGER.match(text)
    sign, digits = (match.group(1), match.group(2)) if match else ("", "")
    value_digits = digits.lstrip("0")
    # Length first: int() of a megabyte of digits is slow.  Go stops at the first digit that
    # overflows uint64, before it sees a later bad character.
    if len(value_digits) > 20 or int(value_digits or "0") > _UINT64_MAX:
        return "value out of range"
    if match is None or not digits or match.end() != len(text):
        return "invalid syntax"
    limit = _INT64_MAX + 1 if sign == "-" else _INT64_MAX
    return "value out of range" if int(value_digits or "0") > limit else ""


def _parse_integer(text: str, what: str) -> int:
    problem = _int_problem(text)
    if problem:
        quoted = strconv_quote(text.encode())
        raise _fail(
            f"failed to parse input time: invalid {what}: "
            f"strconv.ParseInt: parsing {quoted}: {problem}"
        )
    return int(text)


def _from_layouts(layouts: tuple[Layout, ...], text: str, details: str) -> datetime:
    for layout in layouts:
        try:
            parsed = go_parse(layout, text)
        except GoParseError:
            continue
        return _to_datetime(parsed)
    raise _fail(details)


def _to_datetime(parsed: Parsed) -> datetime:
    try:
        moment = datetime(
            parsed.year,
            parsed.month,
            parsed.day,
            parsed.hour,
            parsed.minute,
            parsed.second,
            parsed.microsecond,
            tzinfo=UTC,
        )
        return moment - timedelta(seconds=parsed.offset or 0)
    except (ValueError, OverflowError):
        raise _fail(_OUT_OF_RANGE) from None


def parse_time(text: str, fmt: str) -> datetime:
    try:
        if fmt == "unix":
            return EPOCH + timedelta(seconds=_parse_integer(text, "unix timestamp"))
        if fmt == "unix_ms":
            millis = _parse_integer(text, "unix milliseconds timestamp")
            return EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise _fail(_OUT_OF_RANGE) from None
    if fmt == "iso8601":
        return _from_layouts(_ISO8601, text, "failed to parse input time: invalid ISO8601 format")
    if fmt == "rfc3339":
        try:
            return _to_datetime(go_parse(_RFC3339, text))
        except GoParseError as exc:
            raise _fail(f"failed to parse input time: invalid RFC3339 format: {exc}") from None
    if fmt == "human":
        return _from_layouts(
            _HUMAN, text, "failed to parse input time: invalid human-readable format"
        )
    raise _fail(f"failed to parse input time: unsupported input format: {fmt}")


def format_time(moment: datetime, fmt: str, zone: tzinfo | None) -> str:
    if fmt == "unix":
        return str(unix_seconds(moment))
    if fmt == "unix_ms":
        return str(unix_millis(moment))
    if fmt not in ("iso8601", "rfc3339", "human"):
        raise _fail(f"failed to format output time: unsupported output format: {fmt}")
    if zone is None:
        return rfc3339(moment) if fmt != "human" else human(moment)
    try:
        local = moment.astimezone(zone)
    except OverflowError:
        raise _fail("failed to format output time: time is outside the years 1-9999") from None
    return rfc3339(local) if fmt != "human" else human(local, utc=False)


def _zone(name: str | None) -> tzinfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _fail(f"unknown time zone {name}") from None


@tool(
    "/api/v1/time/convert",
    title="Convert a time between formats",
    description=(
        "Convert a time between unix (seconds), unix_ms, iso8601, rfc3339 and human "
        "(YYYY-MM-DD HH:MM:SS UTC). Output is UTC unless an IANA timezone is given."
    ),
    bind_error_message="Invalid request format",
    examples=(
        Example({"input": "1703518245", "inputFormat": "unix", "outputFormat": "iso8601"}),
        Example(
            {"input": "2023-12-25T15:30:45Z", "inputFormat": "iso8601", "outputFormat": "unix"}
        ),
        Example(
            {
                "input": "2023-12-25T15:30:45Z",
                "inputFormat": "rfc3339",
                "outputFormat": "human",
                "timezone": "America/New_York",
            }
        ),
    ),
)
def time_convert(inp: TimeConvertInput, ctx: ToolContext) -> TimeConvertOutput:
    zone = _zone(inp.timezone)
    moment = parse_time(inp.input.strip(), inp.input_format.strip().lower())
    return TimeConvertOutput(result=format_time(moment, inp.output_format.strip().lower(), zone))


class TimeNowOutput(ToolOutput):
    unix_seconds: int = Field(description="Seconds since 1970-01-01T00:00:00Z.")
    unix_milliseconds: int = Field(description="Milliseconds since the epoch.")
    iso8601: str = Field(description="YYYY-MM-DDTHH:MM:SSZ (UTC).")
    rfc3339: str = Field(description="YYYY-MM-DDTHH:MM:SSZ (UTC).")
    human_readable: str = Field(description="YYYY-MM-DD HH:MM:SS UTC.")


@tool(
    "/api/v1/time/now",
    title="Current time",
    description="The current UTC time as unix seconds, milliseconds, ISO 8601 and readable text.",
    method="GET",
    idempotent=False,
    bind_error_message="Invalid request format",
    examples=(Example({}),),
)
def time_now(inp: NoInput, ctx: ToolContext) -> TimeNowOutput:
    now = ctx.clock().astimezone(UTC)
    text = rfc3339(now)
    return TimeNowOutput(
        unix_seconds=unix_seconds(now),
        unix_milliseconds=unix_millis(now),
        iso8601=text,
        rfc3339=text,
        human_readable=human(now),
    )
