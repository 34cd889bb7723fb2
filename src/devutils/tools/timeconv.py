"""time tools: convert between the reference's formats, and the current time.

Parsing follows the reference's Go layouts (see :mod:`devutils.tools._golayout`), plus ISO 8601
offsets and date-only ISO dates (API-DELTAS D7).  A unix timestamp may be a JSON number or a
string, in seconds, milliseconds, microseconds or nanoseconds, or ``unix_auto`` to tell the unit
by magnitude.  Output is UTC unless an IANA ``timezone`` is given.  Times outside the years
1-9999 are refused with a 400, never a 500, and every message is our own (no Go or Python error
text).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from devutils.errors import ValidationError
from devutils.models import NoInput, ToolInput, ToolOutput, omit_none
from devutils.registry import Example, ToolContext, tool
from devutils.tools._golayout import GoParseError, Layout, Parsed, go_parse
from devutils.tools._gotext import strconv_quote
from devutils.tools._timefmt import EPOCH, human, rfc3339, unix_micros, unix_millis, unix_seconds
from devutils.tools._zones import format_offset, is_dst, resolve_zone, zone_name

_MESSAGE = "Failed to convert time"
_MAX_INPUT_CHARS = 256
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = 2**63 - 1
_RFC3339: Layout = ("2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", "Z07:00")
_NAIVE: Layout = _RFC3339[:-1]
_DATE: Layout = ("2006", "-", "01", "-", "02")
# The reference tries "...05Z", "...05.000Z", "...05.000000Z" and "...05"; Go accepts any fraction
# after the seconds, so the first and last cover all four.  D7 adds offsets (Z07:00) and dates.
_ISO8601 = (_RFC3339, _NAIVE)
_HUMAN: tuple[Layout, ...] = (
    ("2006", "-", "01", "-", "02", " ", "15", ":", "04", ":", "05", " UTC"),
    ("2006", "-", "01", "-", "02", " ", "15", ":", "04", ":", "05"),
    _NAIVE,
    ("January", " ", "2", ", ", "2006", " ", "15", ":", "04", ":", "05", " UTC"),
    ("January", " ", "2", ", ", "2006", " ", "15", ":", "04", ":", "05"),
)
_OUT_OF_RANGE = "failed to parse input time: time is outside the years 1-9999"
_RFC3339_SHAPE = "YYYY-MM-DDTHH:MM:SS, an optional fraction, then Z or ±hh:mm"

# Units of the unix formats, in microseconds (the resolution of a datetime) per unit, and the
# names used in messages.  Nanoseconds are floored to whole microseconds.
_UNITS: dict[str, tuple[str, int]] = {
    "unix": ("seconds", 1_000_000),
    "unix_ms": ("milliseconds", 1_000),
    "unix_us": ("microseconds", 1),
    "unix_ns": ("nanoseconds", 0),  # 0: divide by 1000 instead
}
# unix_auto: the unit is the one that puts the time between 1973 and 5138.  |n| below 1e11 is
# seconds (until 5138-11-16), below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
# So milliseconds before 1973-03-03 (|n| < 1e11) read as seconds: send unix_ms for those.
AUTO_THRESHOLDS: tuple[tuple[int, str], ...] = (
    (10**11, "unix"),
    (10**14, "unix_ms"),
    (10**17, "unix_us"),
)
UnixFormat = Literal["unix", "unix_ms", "unix_us", "unix_ns"]
InputFormat = Literal[
    "unix", "unix_ms", "unix_us", "unix_ns", "unix_auto", "iso8601", "rfc3339", "human"
]
OutputFormat = Literal["unix", "unix_ms", "unix_us", "unix_ns", "iso8601", "rfc3339", "human"]


def _format_name(value: Any) -> Any:
    # The reference trims and lower-cases format names (" UNIX " works); the enum holds the
    # canonical spelling.
    return value.strip().lower() if isinstance(value, str) else value


def _timestamp(value: Any) -> Any:
    # One clear sentence per mistake, instead of a union's two (one per member): the text and
    # integer members below still give the schema.
    if isinstance(value, str):
        if not 1 <= len(value) <= _MAX_INPUT_CHARS:
            raise ValueError(f"must be 1 to {_MAX_INPUT_CHARS} characters")
    elif (isinstance(value, float) and not -(2.0**63) <= value < 2.0**63) or (
        type(value) is int and not -(2**63) <= value < 2**64
    ):
        # Past 64 bits (signed or unsigned): integers arrive exact from the REST and MCP
        # parsers, as floats from others.
        raise ValueError("number is too large for a 64-bit timestamp")
    elif isinstance(value, bool | float) or not isinstance(value, int):
        raise ValueError("must be text, or a whole number of the input unit (e.g. 1703518245)")
    return value


class TimeConvertInput(ToolInput):
    # Length caps bound the work (and the error texts that quote the input).
    input: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=_MAX_INPUT_CHARS)] | int,
        BeforeValidator(_timestamp),
    ] = Field(
        description="The time to convert, in inputFormat: text, or for the unix formats also a "
        "JSON integer.",
    )
    input_format: Annotated[InputFormat, BeforeValidator(_format_name)] = Field(
        description="unix (seconds), unix_ms, unix_us, unix_ns, unix_auto (unit told by "
        "magnitude: |n| < 1e11 seconds, < 1e14 ms, < 1e17 µs, else ns), iso8601 (date-only "
        "YYYY-MM-DD allowed), rfc3339 or human. Case-insensitive."
    )
    output_format: Annotated[OutputFormat, BeforeValidator(_format_name)] = Field(
        description="unix (seconds), unix_ms, unix_us, unix_ns, iso8601, rfc3339 or human "
        "(YYYY-MM-DD HH:MM:SS UTC). Case-insensitive."
    )
    timezone: str | None = Field(
        None,
        max_length=64,
        description="Output zone for iso8601, rfc3339 and human: IANA (Europe/Paris), offset "
        "(+05:30) or unambiguous abbreviation; also a date-only input's zone when fromTimezone is "
        "not given. Default UTC.",
    )
    from_timezone: str | None = Field(
        None,
        max_length=64,
        description="Zone of an input written without offset (2024-03-10T02:30:00, or a date "
        "alone); default UTC (timezone for a date alone).",
    )


class TimeConvertOutput(ToolOutput):
    """The reference's ``{"result"}``; the zone fields join it when the request names a zone
    (``timezone`` or ``fromTimezone``) or TIME_DEFAULT_TIMEZONE is not UTC."""

    result: str = Field(description="The converted time.")
    timezone: str | None = Field(
        None, exclude_if=omit_none, description="Output zone: IANA name, UTC or an offset."
    )
    offset: str | None = Field(
        None, exclude_if=omit_none, description="Its UTC offset at that time (+05:30)."
    )
    is_dst: bool | None = Field(
        None, exclude_if=omit_none, description="Daylight saving time is in effect there and then."
    )
    abbreviation: str | None = Field(
        None, exclude_if=omit_none, description="Zone abbreviation (CET, EDT)."
    )


def _fail(details: str) -> ValidationError:
    return ValidationError(_MESSAGE, details)


def _integer(text: str, fmt: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        unit = (
            "seconds, milliseconds, microseconds or nanoseconds"
            if fmt == "unix_auto"
            else _UNITS[fmt][0]
        )
        raise _fail(
            f"failed to parse input time: invalid unix timestamp {strconv_quote(text.encode())}: "
            f"expected a whole number of {unit}, optionally signed, e.g. 1703518245"
        )
    return int(text)


def _auto_format(value: int) -> str:
    for limit, fmt in AUTO_THRESHOLDS:
        if abs(value) < limit:
            return fmt
    return "unix_ns"


def _from_unix(value: int, fmt: str) -> datetime:
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise _fail(_OUT_OF_RANGE)  # before timedelta: a huge int would be slow to scale
    if fmt == "unix_auto":
        fmt = _auto_format(value)
    scale = _UNITS[fmt][1]
    micros = value * scale if scale else value // 1000
    try:
        return EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise _fail(_OUT_OF_RANGE) from None


def _from_layouts(
    layouts: tuple[Layout, ...], text: str, details: str, naive: tzinfo = UTC
) -> datetime:
    for layout in layouts:
        try:
            parsed = go_parse(layout, text)
        except GoParseError:
            continue
        # Layouts ending " UTC" or with an offset say their zone; the others are wall clock.
        return _to_datetime(
            parsed, UTC if parsed.offset is not None or "UTC" in layout[-1] else naive
        )
    raise _fail(details)


def _to_datetime(parsed: Parsed, zone: tzinfo = UTC) -> datetime:
    try:
        moment = datetime(
            parsed.year,
            parsed.month,
            parsed.day,
            parsed.hour,
            parsed.minute,
            parsed.second,
            parsed.microsecond,
            tzinfo=zone,
        )
        return moment.astimezone(UTC) - timedelta(seconds=parsed.offset or 0)
    except (ValueError, OverflowError):
        raise _fail(_OUT_OF_RANGE) from None


def _date_only(text: str, zone: tzinfo | None) -> datetime | None:
    """Midnight of a ``YYYY-MM-DD`` date in ``zone`` (UTC when None), or None for other text."""
    try:
        parsed = go_parse(_DATE, text)
    except GoParseError:
        return None
    return _to_datetime(parsed, zone or UTC)


def parse_time(
    value: str | int, fmt: str, zone: tzinfo | None = None, naive: tzinfo = UTC
) -> datetime:
    """The instant ``value`` names; a date-only input is midnight in ``zone`` (else ``naive``), a
    date and time without offset is wall-clock time in ``naive``."""
    if isinstance(value, int):
        if fmt not in _UNITS and fmt != "unix_auto":
            raise _fail(
                f"failed to parse input time: a number needs a unix input format (unix, "
                f"unix_ms, unix_us, unix_ns or unix_auto); send {fmt} times as text"
            )
        return _from_unix(value, fmt)
    if fmt in _UNITS or fmt == "unix_auto":
        return _from_unix(_integer(value, fmt), fmt)
    if fmt in ("iso8601", "human"):
        date = _date_only(value, zone or naive)
        if date is not None:
            return date
    if fmt == "iso8601":
        return _from_layouts(
            _ISO8601, value, "failed to parse input time: invalid ISO8601 format", naive
        )
    if fmt == "rfc3339":
        try:
            return _to_datetime(go_parse(_RFC3339, value))
        except GoParseError as exc:
            raise _fail(
                f"failed to parse input time: invalid RFC3339 time "
                f"{strconv_quote(value.encode())}: {_rfc3339_problem(exc)}"
            ) from None
    if fmt == "human":
        return _from_layouts(
            _HUMAN, value, "failed to parse input time: invalid human-readable format", naive
        )
    raise _fail(f"failed to parse input time: unsupported input format: {fmt}")


def _rfc3339_problem(exc: GoParseError) -> str:
    if exc.problem == "does not match the layout":
        return f"expected {_RFC3339_SHAPE}"
    return exc.problem


def format_time(moment: datetime, fmt: str, zone: tzinfo | None) -> str:
    if fmt == "unix":
        return str(unix_seconds(moment))
    if fmt == "unix_ms":
        return str(unix_millis(moment))
    if fmt == "unix_us":
        return str(unix_micros(moment))
    if fmt == "unix_ns":
        return str(unix_micros(moment) * 1000)
    if fmt not in ("iso8601", "rfc3339", "human"):
        raise _fail(f"failed to format output time: unsupported output format: {fmt}")
    if zone is None:
        return rfc3339(moment) if fmt != "human" else human(moment)
    try:
        local = moment.astimezone(zone)
    except OverflowError:
        raise _fail("failed to format output time: time is outside the years 1-9999") from None
    return rfc3339(local) if fmt != "human" else human(local, utc=False)


def zone_for(name: str | None, ctx: ToolContext, field: str = "timezone") -> tzinfo | None:
    """The zone a request named, else TIME_DEFAULT_TIMEZONE; None means UTC written as ``Z``."""
    text = name if name is not None else ctx.settings.time_default_timezone
    try:
        zone = resolve_zone(text, ctx.clock().year, field)
    except ValidationError as exc:
        raise _fail(exc.details) from None
    return None if zone is UTC else zone


@tool(
    "/api/v1/time/convert",
    title="Convert a time between formats",
    description=(
        "Convert a time between unix (seconds), unix_ms, unix_us, unix_ns, iso8601, rfc3339 "
        "and human (YYYY-MM-DD HH:MM:SS UTC); unix_auto tells the unit of a timestamp by its "
        "size; between time zones (IANA, offsets), with the offset and DST. Timestamps may be JSON "
        "numbers."
    ),
    bind_error_message="Invalid request format",
    examples=(
        Example({"input": "1703518245", "inputFormat": "unix", "outputFormat": "iso8601"}),
        Example({"input": 1703518245123, "inputFormat": "unix_auto", "outputFormat": "rfc3339"}),
        Example({"input": "2024-01-01", "inputFormat": "iso8601", "outputFormat": "unix"}),
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
        Example(
            {
                "input": "2024-03-10T09:00:00",
                "inputFormat": "iso8601",
                "outputFormat": "iso8601",
                "fromTimezone": "Asia/Kolkata",
                "timezone": "America/New_York",
            },
            title="between zones",
        ),
    ),
)
def time_convert(inp: TimeConvertInput, ctx: ToolContext) -> TimeConvertOutput:
    zone = zone_for(inp.timezone, ctx)
    naive = zone_for(inp.from_timezone, ctx, "fromTimezone") or UTC
    value = inp.input.strip() if isinstance(inp.input, str) else inp.input
    # A date-only input is midnight in the input's zone: fromTimezone when given, else timezone
    # (the zone it was read in before fromTimezone existed).
    date_zone = zone if inp.timezone is not None and inp.from_timezone is None else None
    moment = parse_time(value, inp.input_format, date_zone, naive)
    result = format_time(moment, inp.output_format, zone)
    if inp.timezone is None and inp.from_timezone is None and zone is None:
        return TimeConvertOutput(result=result)  # the reference's answer to its own request
    try:
        local = moment.astimezone(zone or UTC)
    except OverflowError:
        raise _fail("failed to format output time: time is outside the years 1-9999") from None
    name = local.tzname()
    return TimeConvertOutput(
        result=result,
        timezone=zone_name(zone or UTC, local),
        offset=format_offset(local.utcoffset()),
        is_dst=is_dst(local),
        abbreviation=name if name and name.isalpha() else None,
    )


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
