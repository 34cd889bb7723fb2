"""time/cron: check a cron expression, say it in words, and list its next runs in a time zone.

croniter computes the runs (Vixie cron semantics: when both day-of-month and day-of-week are
restricted, a day matching either runs, unless one of them starts with ``*``: then both must;
croniter leaves ``#`` and ``W`` out of that union, so we merge two schedules for it; a wall time
that a DST change skips runs at the first time after the gap; a fixed-time job, one without ``*``
in its minute and hour fields, runs once in the hour a DST change repeats), cron-descriptor writes
the words.  Five fields, or six with seconds first (Quartz, Spring, node-cron), and the
``@hourly``-style aliases.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Literal

from cron_descriptor import DescriptionTypeEnum, ExpressionDescriptor, Options
from croniter import CroniterBadCronError, CroniterBadDateError, croniter
from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, always_off_loop, tool
from devutils.tools._timefmt import rfc3339
from devutils.tools._zones import resolve_zone, zone_name
from devutils.tools.timeconv import parse_time

_FAILED = "Invalid cron expression"
MAX_RUNS = 100
# Feb 29 on a given weekday recurs within 28 years, except across a century year that is not a
# leap year (2100, 2200, 2300), where the gap reaches 40 years: no valid schedule is rarer.
_SEARCH_YEARS = 48
ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronInput(ToolInput):
    expression: str = Field(
        min_length=1,
        max_length=256,
        description="5 fields (minute hour day month weekday), 6 with seconds first, or "
        "@hourly, @daily, @weekly, @monthly, @yearly.",
    )
    timezone: str | None = Field(
        None, max_length=64, description="Zone the schedule runs in; default UTC."
    )
    count: int = Field(5, ge=1, le=MAX_RUNS, description="Next runs to list (1-100).")
    after: str | None = Field(
        None, max_length=64, description="List runs after this ISO 8601 time; default now."
    )


class CronOutput(ToolOutput):
    expression: str = Field(description="The fields used (aliases expanded).")
    description: str = Field(description="The schedule in English.")
    has_seconds: bool
    timezone: str
    next_runs: list[str] = Field(description="RFC 3339 times in the zone.")


def _second_pass(moment: datetime, zone: tzinfo) -> bool:
    """Whether ``moment`` falls in the second pass of an hour the clocks repeat (fold 1)."""
    return moment.astimezone(UTC).astimezone(zone).fold == 1


@tool(
    "/api/v1/time/cron",
    raw=("next_runs", "description"),
    title="Explain a cron schedule",
    description="Validate a cron expression (5 fields, 6 with seconds, @daily-style aliases), "
    "explain it in words and list its next runs in a time zone.",
    blocking="large",  # a rare schedule may search years of dates
    estimate=always_off_loop,
    examples=(
        Example({"expression": "*/15 9-17 * * MON-FRI", "after": "2024-03-08T16:50:00Z"}),
        Example(
            {
                "expression": "0 2 * * *",
                "timezone": "America/New_York",
                "count": 3,
                "after": "2024-03-09T00:00:00Z",
            },
            title="across a DST change",
        ),
        Example({"expression": "@monthly", "count": 2, "after": "2024-01-15T00:00:00Z"}),
    ),
)
def time_cron(inp: CronInput, ctx: ToolContext) -> CronOutput:
    text = " ".join(inp.expression.split())
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise ValidationError(
                _FAILED,
                f"unknown alias {text[:32]}; known: {', '.join(ALIASES)} (@reboot is not a schedule)",
            )
        text = ALIASES[text.lower()]
    fields = text.split(" ")
    if len(fields) not in (5, 6):
        raise ValidationError(
            _FAILED, f"expected 5 fields (or 6 with seconds first), got {len(fields)}"
        )
    try:
        zone = resolve_zone(
            inp.timezone or ctx.settings.time_default_timezone, ctx.clock().year, "timezone"
        )
    except ValidationError as exc:
        raise ValidationError(_FAILED, exc.details) from None
    # An after without offset is wall time in the zone, as time/calc and time/convert read it.
    start = (
        ctx.clock().astimezone(UTC)
        if inp.after is None
        else parse_time(inp.after, "iso8601", zone, naive=zone)
    )
    try:
        local_start = start.astimezone(zone)
    except OverflowError:  # only an instant in the first hours of year 1, west of Greenwich
        raise ValidationError(_FAILED, "after is before the year 1 on the zone's clock") from None
    has_seconds = len(fields) == 6
    try:
        days = _day_rule(text, fields)
        sides = [
            _Side(_schedule(part, local_start, has_seconds)) for part in _union_parts(fields, days)
        ]
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise ValidationError(_FAILED, f"{text}: {_reason(exc)}") from None
    minute, hour = fields[-5], fields[-4]
    runs = _next_runs(sides, inp.count, zone, fixed_time="*" not in minute and "*" not in hour)
    if not runs:
        if any(side.past_9999 for side in sides):
            raise ValidationError(_FAILED, "the next runs fall after the year 9999")
        raise ValidationError(
            _FAILED, f"{text} never runs (no date matches within {_SEARCH_YEARS} years)"
        )
    return CronOutput(
        expression=text,
        description=_describe(text, days),
        has_seconds=has_seconds,
        timezone=zone_name(zone, start.astimezone(zone)),
        next_runs=[rfc3339(run.astimezone(zone)) for run in runs],
    )


DayRule = Literal["one", "both", "either"]


def _day_rule(text: str, fields: list[str]) -> DayRule:
    """How croniter combines the day fields, by its own test: when both are restricted, a field
    starting with ``*`` (implement_cron_bug, as Vixie cron) makes it AND, else it is OR."""
    expanded, _ = croniter.expand(text, second_at_beginning=len(fields) == 6)
    if expanded[2][0] == "*" or expanded[4][0] == "*":  # 2, 4: day of month, day of week
        return "one"
    return "both" if fields[-3].startswith("*") or fields[-1].startswith("*") else "either"


def _union_parts(fields: list[str], days: DayRule) -> list[str]:
    """The schedules whose runs together are the expression's.  croniter 7 keeps ``#`` and ``W``
    outside its day-field union (it ANDs them, or finds no date), so an OR with one of them is
    computed here as two schedules, each with the other day field ``*``, merged."""
    text = " ".join(fields)
    special = "#" in fields[-1] or "w" in fields[-3].lower()
    if days != "either" or not special:
        return [text]
    return [" ".join([*fields[:-1], "*"]), " ".join([*fields[:-3], "*", *fields[-2:]])]


def _schedule(text: str, local_start: datetime, has_seconds: bool) -> croniter:
    return croniter(
        text,
        local_start,
        second_at_beginning=has_seconds,
        max_years_between_matches=_SEARCH_YEARS,
        # As Vixie cron and cronie: a day field that starts with * (*/2) counts as
        # unrestricted, so with the other day field restricted both must match (AND).
        implement_cron_bug=True,
    )


class _Side:
    """One schedule's next run (in UTC, so the two passes of a repeated hour differ), or None
    once no date matches within the search bound or the next would be after the year 9999."""

    def __init__(self, schedule: croniter) -> None:
        self._schedule = schedule
        self.past_9999 = False
        self.head = self.advance()

    def advance(self) -> datetime | None:
        try:
            return self._schedule.get_next(datetime).astimezone(UTC)
        except CroniterBadDateError:
            return None
        except (ValueError, OverflowError):  # croniter stepped past datetime's year 9999
            self.past_9999 = True
            return None


def _next_runs(sides: list[_Side], count: int, zone: tzinfo, fixed_time: bool) -> list[datetime]:
    """The first ``count`` runs of all sides in order, each once; fewer (the runs found stand)
    when the schedules end."""
    runs: list[datetime] = []
    while len(runs) < count:
        heads = [side.head for side in sides if side.head is not None]
        if not heads:
            break
        run = min(heads)
        for side in sides:
            if side.head == run:
                side.head = side.advance()
        if fixed_time and _second_pass(run, zone):
            # The repeated hour when clocks go back: a fixed-time job ran in its first pass
            # (or, when listing starts between the two, already did), as cron does.
            continue
        runs.append(run)
    return runs


def _describe(fields: str, days: DayRule) -> str:
    options = Options()
    options.use_24hour_time_format = True
    options.throw_exception_on_parse_error = True
    try:
        descriptor = ExpressionDescriptor(fields, options)
        words = str(descriptor.get_description())
        weekdays = str(descriptor.get_description(DescriptionTypeEnum.DAYOFWEEK))
    except Exception:  # the words are a courtesy: croniter already accepted the schedule
        return "(no description available for this expression)"
    # cron-descriptor joins the weekday clause with "or on" for some forms (a list, one day) and
    # with nothing for others (a range, an nth weekday, a step), whatever the runs do: say it
    # from how the day fields combine.
    if days == "one" or not weekdays or words.count(weekdays) != 1:
        return words
    clause = weekdays.removeprefix(", ").removeprefix("or ").removeprefix("only ")
    joiner = "or" if days == "either" else "but only"
    return words.replace(weekdays, f", {joiner} {clause}")


def _reason(exc: Exception) -> str:
    reason = str(exc) or type(exc).__name__
    # croniter quotes the expression in brackets first; the caller has it already.
    return reason.split("] ", 1)[1] if reason.startswith("[") and "] " in reason else reason
