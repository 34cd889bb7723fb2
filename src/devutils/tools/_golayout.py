"""The part of Go's ``time.Parse`` the reference's time/convert relies on, with Go's error texts.

A layout is a tuple of elements: Go's standard chunks (``2006`` ``01`` ``January`` ``02`` ``2``
``15`` ``04`` ``05`` ``Z07:00``) or literal text.  Parsing follows Go element by element, so the
same inputs are accepted (one-digit hours, any number of fraction digits after the seconds, runs of
spaces matching one space, case-insensitive month names) and errors read
``parsing time "<in>" as "<layout>": cannot parse "<rest>" as "<elem>"`` or ``...: month out of
range`` exactly as in the reference.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

from devutils.tools._gotext import time_quote

Layout = tuple[str, ...]
_STD = frozenset({"2006", "01", "January", "02", "2", "15", "04", "05", "Z07:00"})
# Go's English names (calendar.month_name follows the process locale).
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class GoParseError(ValueError):
    """Go's ``time.Parse`` error text, and ``problem``: what went wrong, in our own words."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class Parsed:
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    microsecond: int
    offset: int | None  # seconds east of UTC; None when the layout has no zone


class _Bad(Exception):
    """Go's ``errBad`` inside one element."""


def _digit(text: str, index: int) -> bool:
    return index < len(text) and "0" <= text[index] <= "9"


def _getnum(text: str, fixed: bool) -> tuple[int, str]:
    if not _digit(text, 0):
        raise _Bad
    if not _digit(text, 1):
        if fixed:
            raise _Bad
        return int(text[0]), text[1:]
    return int(text[:2]), text[2:]


def _skip(value: str, prefix: str) -> str | None:
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                return None
            prefix = prefix.lstrip(" ")
            value = value.lstrip(" ")
            continue
        if not value or value[0] != prefix[0]:
            return None
        prefix, value = prefix[1:], value[1:]
    return value


def _month_name(value: str) -> tuple[int, str]:
    for index, name in enumerate(_MONTHS, start=1):
        head = value[: len(name)]
        if head.isascii() and head.lower() == name.lower():
            return index, value[len(name) :]
    raise _Bad


def _zone(value: str) -> tuple[int, str, str]:
    """``Z07:00``: the offset in seconds, the rest, and a range-error name or ""."""
    if value[:1] == "Z":
        return 0, value[1:], ""
    if len(value) < 6 or value[3] != ":":
        raise _Bad
    sign, hours_text, minutes_text, rest = value[0], value[1:3], value[4:6], value[6:]
    hours, _ = _getnum(hours_text, True)
    minutes, _ = _getnum(minutes_text, True)
    if sign not in "+-":
        raise _Bad
    problem = "time zone offset minute" if minutes > 60 else ""
    if not problem and hours > 24:
        problem = "time zone offset hour"
    offset = (hours * 60 + minutes) * 60
    return (-offset if sign == "-" else offset), rest, problem


class _State:
    def __init__(self) -> None:
        self.fields = {"year": 1, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
        self.microsecond = 0
        self.offset: int | None = None


_RANGES = {"01": ("month", 1, 12), "02": ("day", 0, 31), "2": ("day", 0, 31)}
_RANGES |= {"15": ("hour", 0, 23), "04": ("minute", 0, 59), "05": ("second", 0, 59)}


def _element(elem: str, value: str, state: _State) -> tuple[str, str]:
    """Parse one standard chunk: the rest of the value and a range-error name or ""."""
    if elem == "2006":
        if len(value) < 4 or not all("0" <= char <= "9" for char in value[:4]):
            raise _Bad
        state.fields["year"] = int(value[:4])
        return value[4:], ""
    if elem == "January":
        state.fields["month"], value = _month_name(value)
        return value, ""
    if elem == "Z07:00":
        state.offset, value, problem = _zone(value)
        return value, problem
    name, low, high = _RANGES[elem]
    number, value = _getnum(value, elem in ("01", "02", "04", "05"))
    state.fields[name] = number
    if not low <= number <= high:
        return value, name
    if elem == "05" and len(value) >= 2 and value[0] in ".," and _digit(value, 1):
        # Go accepts a fraction after the seconds even when the layout has none.
        end = 2
        while _digit(value, end):
            end += 1
        state.microsecond = int(value[1:end][:6].ljust(6, "0"))
        value = value[end:]
    return value, ""


def go_parse(layout: Layout, text: str) -> Parsed:
    """Parse ``text`` like Go's ``time.Parse("".join(layout), text)``; raise :class:`GoParseError`."""
    whole = "".join(layout)
    value = text
    state = _State()

    def fail(elem: str, rest: str) -> GoParseError:
        return GoParseError(
            f"parsing time {time_quote(text)} as {time_quote(whole)}: "
            f"cannot parse {time_quote(rest)} as {time_quote(elem)}",
            "does not match the layout",
        )

    for elem in layout:
        if elem not in _STD:
            skipped = _skip(value, elem)
            if skipped is None:
                raise fail(elem, value)
            value = skipped
            continue
        try:
            rest, problem = _element(elem, value, state)
        except _Bad:
            raise fail(elem, value) from None
        if problem:
            raise GoParseError(
                f"parsing time {time_quote(text)}: {problem} out of range",
                f"{problem} out of range",
            )
        value = rest
    if value:
        raise GoParseError(
            f"parsing time {time_quote(text)}: extra text: {time_quote(value)}",
            f"unexpected text {time_quote(value)} after the time",
        )
    fields = state.fields
    days = _DAYS_IN_MONTH[fields["month"]] + (
        fields["month"] == 2 and calendar.isleap(fields["year"])
    )
    if not 1 <= fields["day"] <= days:
        raise GoParseError(f"parsing time {time_quote(text)}: day out of range", "day out of range")
    return Parsed(microsecond=state.microsecond, offset=state.offset, **fields)
