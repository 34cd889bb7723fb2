"""time/calc: add or subtract a duration, or measure the time between two instants, in a zone.

Calendar parts (years, months, weeks, days) move the wall clock of the zone, so "P1D" from 09:00
the day before a DST change is 09:00 again, and a month from January 31 is the last day of
February (dateutil's ``relativedelta``).  Clock parts (hours, minutes, seconds) are exact elapsed
time.  This is the order and meaning of RFC 5545 and of JavaScript's Temporal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

import pydantic
from dateutil.relativedelta import relativedelta
from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import Example, ToolContext, tool
from devutils.tools._timefmt import rfc3339_fraction, unix_seconds
from devutils.tools._zones import format_offset, resolve_zone, zone_name
from devutils.tools.timeconv import parse_time

_FAILED = "Time calculation failed"
# ISO 8601 durations: PnYnMnWnDTnHnMnS, each part optional, a leading sign allowed; a fraction
# only on seconds (where it means something exact).
_DURATION = re.compile(
    r"(?P<sign>[+-])?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?"
    r"(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d{1,6})?)S)?)?",
    re.IGNORECASE,
)
_DATE_PARTS = ("years", "months", "weeks", "days")
MAX_PART = 1_000_000  # any one part; 10 000 years is the whole datetime range anyway


class Duration(ToolInput):
    years: int = Field(0, ge=-MAX_PART, le=MAX_PART)
    months: int = Field(0, ge=-MAX_PART, le=MAX_PART)
    weeks: int = Field(0, ge=-MAX_PART, le=MAX_PART)
    days: int = Field(0, ge=-MAX_PART, le=MAX_PART)
    hours: int = Field(0, ge=-MAX_PART * 24, le=MAX_PART * 24)
    minutes: int = Field(0, ge=-MAX_PART * 1440, le=MAX_PART * 1440)
    seconds: float = Field(0, ge=-1e11, le=1e11)


class TimeCalcInput(ToolInput):
    action: Literal["add", "subtract", "diff"] = Field(
        description="add or subtract a duration to start; diff: from start to end."
    )
    start: str = Field(
        max_length=64, description='ISO 8601 time (offset optional: then in timezone) or "now".'
    )
    end: str | None = Field(None, max_length=64, description="diff: the second time.")
    duration: str | None = Field(
        None, max_length=64, description="ISO 8601 duration such as P1M2DT3H or -PT90M."
    )
    units: Duration | None = Field(
        None, description="The duration as parts instead: years, months, weeks, days, ..."
    )
    timezone: str | None = Field(
        None, max_length=64, description="Zone for calendar parts and output; default UTC."
    )


class DurationParts(ToolOutput):
    years: int
    months: int
    days: int
    hours: int
    minutes: int
    seconds: float


class TimeCalcOutput(ToolOutput):
    result: str | None = Field(None, exclude_if=omit_none, description="add/subtract.")
    unix: int | None = Field(None, exclude_if=omit_none, description="result in unix s.")
    timezone: str
    offset: str | None = Field(None, exclude_if=omit_none, description="At result.")
    total_seconds: float | None = Field(None, exclude_if=omit_none, description="diff.")
    total_minutes: float | None = Field(None, exclude_if=omit_none)
    total_hours: float | None = Field(None, exclude_if=omit_none)
    total_days: float | None = Field(None, exclude_if=omit_none)
    calendar: DurationParts | None = Field(
        None, exclude_if=omit_none, description="diff on the zone's calendar."
    )
    iso_duration: str | None = Field(
        None, exclude_if=omit_none, description="diff as ISO 8601 (calendar parts)."
    )


def parse_duration(text: str) -> Duration:
    found = _DURATION.fullmatch(text.strip())
    clock_parts = ("hours", "minutes", "seconds")
    if (
        found is None
        or not any(found.groupdict()[name] for name in (*_DATE_PARTS, *clock_parts))
        or ("T" in text.upper() and not any(found.group(name) for name in clock_parts))
    ):
        raise ValidationError(
            _FAILED, f"duration: {text[:64]} is not an ISO 8601 duration such as P1Y2M3DT4H5M6S"
        )
    sign = -1 if found.group("sign") == "-" else 1
    parts = {
        name: int(found.group(name) or 0) * sign for name in (*_DATE_PARTS, "hours", "minutes")
    }
    seconds = float((found.group("seconds") or "0").replace(",", ".")) * sign
    if any(abs(value) > MAX_PART * 1440 for value in parts.values()):
        raise ValidationError(_FAILED, "duration: a part is too large")
    try:
        return Duration.model_validate({**parts, "seconds": seconds})
    except pydantic.ValidationError as exc:  # a part past the units' own bounds
        field = ".".join(str(item) for item in exc.errors()[0]["loc"])
        raise ValidationError(_FAILED, f"duration: the {field} part is too large") from None


def _instant(text: str, zone: tzinfo, ctx: ToolContext, field: str) -> datetime:
    if text.strip().lower() == "now":
        return ctx.clock().astimezone(UTC)
    try:
        return parse_time(text.strip(), "iso8601", zone, naive=zone)
    except ValidationError as exc:
        raise ValidationError(_FAILED, f"{field}: {exc.details}") from None


def _shift(start: datetime, zone: tzinfo, parts: Duration, sign: int) -> datetime:
    calendar = relativedelta(
        years=sign * parts.years,
        months=sign * parts.months,
        days=sign * (parts.days + 7 * parts.weeks),
    )
    if calendar:
        # The wall clock moves by the calendar parts; re-reading it in the zone gives the instant
        # (a wall time in a DST gap takes the offset from before the change, as zoneinfo does).
        local = start.astimezone(zone).replace(tzinfo=None)
        moved = (local + calendar).replace(tzinfo=zone).astimezone(UTC)
    else:
        # Clock parts only: exact time from the instant itself.  Re-reading its wall clock would
        # take the second pass of an hour the clocks repeat for the first (an hour earlier).
        moved = start.astimezone(UTC)
    exact = timedelta(hours=parts.hours, minutes=parts.minutes, seconds=parts.seconds)
    return moved + sign * exact


def _iso(parts: DurationParts) -> str:
    values = (parts.years, parts.months, parts.days, parts.hours, parts.minutes, parts.seconds)
    negative = any(value < 0 for value in values)  # _diff gives every part the same sign
    date = "".join(
        f"{abs(value)}{unit}"
        for value, unit in ((parts.years, "Y"), (parts.months, "M"), (parts.days, "D"))
        if value
    )
    secs = abs(parts.seconds)
    secs_text = f"{secs:.6f}".rstrip("0").rstrip(".") if secs % 1 else str(int(secs))
    clock = "".join(
        f"{text}{unit}"
        for text, unit in (
            (str(abs(parts.hours)), "H"),
            (str(abs(parts.minutes)), "M"),
            (secs_text, "S"),
        )
        if text != "0"
    )
    body = "P" + date + ("T" + clock if clock else "")
    return ("-" if negative else "") + (body if body != "P" else "PT0S")


@tool(
    "/api/v1/time/calc",
    raw=("result", "iso_duration"),
    title="Date arithmetic",
    description="Add or subtract an ISO 8601 duration or units (calendar-aware months, DST-aware "
    "days) in a time zone, or the difference between two times in units and as a duration.",
    examples=(
        Example(
            {"action": "add", "start": "2024-01-31T10:00:00Z", "duration": "P1M"},
            title="end of month",
        ),
        Example(
            {
                "action": "add",
                "start": "2024-03-09T09:00:00",
                "units": {"days": 1},
                "timezone": "America/New_York",
            },
            title="across a DST change",
        ),
        Example({"action": "subtract", "start": "2024-01-01", "duration": "P90D"}),
        Example({"action": "diff", "start": "2024-01-15T08:00:00Z", "end": "2025-03-20T12:30:00Z"}),
    ),
)
def time_calc(inp: TimeCalcInput, ctx: ToolContext) -> TimeCalcOutput:
    try:
        zone = resolve_zone(
            inp.timezone or ctx.settings.time_default_timezone, ctx.clock().year, "timezone"
        )
    except ValidationError as exc:
        raise ValidationError(_FAILED, exc.details) from None
    start = _instant(inp.start, zone, ctx, "start")
    if inp.action == "diff":
        if inp.end is None:
            raise ValidationError(_FAILED, "end is required for diff")
        end = _instant(inp.end, zone, ctx, "end")
        try:
            return _diff(start, end, zone)
        except (OverflowError, ValueError):  # the zone's wall clock leaves years 1-9999
            raise ValidationError(
                _FAILED, "an instant is outside the years 1-9999 in the zone"
            ) from None
    if inp.duration is not None and inp.units is None:
        parts = parse_duration(inp.duration)
    elif inp.units is not None and inp.duration is None:
        parts = inp.units
    else:
        raise ValidationError(_FAILED, f"{inp.action} takes exactly one of duration and units")
    try:
        moved = _shift(start, zone, parts, -1 if inp.action == "subtract" else 1)
        local = moved.astimezone(zone)
    except (OverflowError, ValueError):
        raise ValidationError(_FAILED, "the result is outside the years 1-9999") from None
    return TimeCalcOutput(
        result=rfc3339_fraction(local),
        unix=unix_seconds(moved),
        timezone=zone_name(zone, local),
        offset=format_offset(local.utcoffset()),
    )


# A wall-clock day can be shorter than a DST change or a skipped day (Samoa, 2011) pushes the
# calendar parts past the end; each try takes a day off them, and the last resort is none at all.
_CALENDAR_TRIES = 3


def _calendar_split(start: datetime, end: datetime, zone: tzinfo) -> DurationParts:
    """The difference as calendar parts on the zone's wall clock plus the exact time left, so that
    adding it to ``start`` (calendar parts first, then clock parts) gives ``end`` again.  Clock
    parts read from wall clocks would be an hour off across a DST change."""
    direction = -1 if end < start else 1
    begin = start.astimezone(zone).replace(tzinfo=None)
    target = end.astimezone(zone).replace(tzinfo=None)
    for _ in range(_CALENDAR_TRIES):
        wall = relativedelta(target, begin)
        calendar = relativedelta(years=wall.years, months=wall.months, days=wall.days)
        # As _shift reads it: no calendar parts keep the instant itself (the wall clock would
        # lose the second pass of a repeated hour: adding a relativedelta resets fold to 0).
        base = (begin + calendar).replace(tzinfo=zone) if calendar else start
        left = end - base.astimezone(UTC)
        if left * direction >= timedelta(0):
            break
        target -= timedelta(days=direction)
    else:
        calendar, left = relativedelta(), end - start
    micros = abs(left) // timedelta(microseconds=1)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    return DurationParts(
        years=calendar.years,
        months=calendar.months,
        days=calendar.days,
        hours=direction * hours,
        minutes=direction * minutes,
        seconds=direction * micros / 1_000_000,
    )


def _diff(start: datetime, end: datetime, zone: tzinfo) -> TimeCalcOutput:
    seconds = (end - start).total_seconds()
    parts = _calendar_split(start, end, zone)
    return TimeCalcOutput(
        timezone=zone_name(zone, start.astimezone(zone)),
        total_seconds=seconds,
        total_minutes=seconds / 60,
        total_hours=seconds / 3600,
        total_days=seconds / 86400,
        calendar=parts,
        iso_duration=_iso(parts),
    )
