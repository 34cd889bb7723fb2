"""Time zones by name: IANA keys, fixed offsets, and abbreviations only where they are unambiguous.

"CST" is US Central, China and Cuba at once, so an abbreviation is accepted only when every zone
that uses it means the same offset by it ("JST" is +09:00 wherever it is used); otherwise the
caller gets the candidates and is asked for an IANA name.  Abbreviations are read from the tz
database itself (``tzname()`` in January and July of the current year), so they follow tzdata
updates without a table of ours.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, available_timezones

from devutils.errors import ValidationError

_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_ABBREVIATION = re.compile(r"[A-Za-z]{2,6}")
_UTC_NAMES = frozenset({"z", "utc", "gmt", "etc/utc", "zulu"})
MAX_OFFSET = timedelta(hours=18)  # ISO 8601 / RFC 3339 practice; real zones span -12 to +14


def format_offset(offset: timedelta | None) -> str:
    """``+05:30``, ``-08:00``; seconds (historical LMT offsets) as ``+00:09:21``."""
    seconds = int((offset or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


@functools.cache
def zone_keys() -> frozenset[str]:
    """Every IANA key of the installed tz database (tzdata), read once."""
    return frozenset(available_timezones())


class _Abbreviated(tzinfo):
    """A fixed offset named by an abbreviation, with the daylight-saving part the tz database
    gives it: ``CEST`` is +02:00 of which one hour is summer time, so ``dst()`` says so."""

    def __init__(self, offset: timedelta, name: str, saving: timedelta) -> None:
        self._offset, self._name, self._saving = offset, name, saving

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self._offset

    def dst(self, dt: datetime | None) -> timedelta:
        return self._saving

    def tzname(self, dt: datetime | None) -> str:
        return self._name

    def fromutc(self, dt: datetime) -> datetime:
        # The offset never changes, so the base class's DST-transition arithmetic is not needed.
        return dt + self._offset

    def __reduce__(self) -> tuple[type[_Abbreviated], tuple[timedelta, str, timedelta]]:
        return (_Abbreviated, (self._offset, self._name, self._saving))

    def __repr__(self) -> str:
        return f"_Abbreviated({self._offset!r}, {self._name!r}, {self._saving!r})"


@functools.lru_cache(maxsize=8)  # keyed by a year the caller chooses: bounded
def _abbreviations(year: int) -> dict[str, dict[timedelta, list[str]]]:
    """Abbreviation → offset it denotes → zones (Region/City keys) that use it so in ``year``."""
    return {
        name: {offset: zones for offset, (zones, _) in uses.items()}
        for name, uses in _uses(year).items()
    }


@functools.lru_cache(maxsize=8)  # keyed by a year the caller chooses: bounded
def _uses(year: int) -> dict[str, dict[timedelta, tuple[list[str], frozenset[timedelta]]]]:
    """Abbreviation → offset → (zones using it so in ``year``, the DST parts they give it)."""
    zones_of: dict[str, dict[timedelta, list[str]]] = defaultdict(lambda: defaultdict(list))
    savings: dict[tuple[str, timedelta], set[timedelta]] = defaultdict(set)
    for key in sorted(zone_keys()):
        if "/" not in key or key.startswith(("Etc/", "SystemV/")):
            continue
        zone = ZoneInfo(key)
        for month in (1, 7):
            moment = datetime(year, month, 15, 12, tzinfo=zone)
            name, offset = moment.tzname(), moment.utcoffset()
            if name and offset is not None and _ABBREVIATION.fullmatch(name):
                zones = zones_of[name.upper()][offset]
                if key not in zones:
                    zones.append(key)
                savings[name.upper(), offset].add(moment.dst() or timedelta())
    return {
        name: {offset: (zones, frozenset(savings[name, offset])) for offset, zones in uses.items()}
        for name, uses in zones_of.items()
    }


def resolve_zone(name: str, year: int, field: str = "timezone") -> tzinfo:
    """The zone a caller named: an IANA key, ``UTC``/``Z``, a fixed offset (``+05:30``,
    ``UTC-8``, ``+0530``) or an unambiguous abbreviation; anything else is a 400 that says why."""
    text = name.strip()
    if text.lower() in _UTC_NAMES:
        return UTC
    if text in zone_keys():
        return ZoneInfo(text)
    fixed = _OFFSET.fullmatch(text)
    if fixed:
        return _fixed(fixed, text, field)
    if _ABBREVIATION.fullmatch(text):
        offsets = _abbreviations(year).get(text.upper())
        if offsets and len(offsets) == 1:
            ((offset, _),) = offsets.items()
            # Summer time only when every zone using the name so agrees on it (EDT, CEST, BST).
            savings = _uses(year)[text.upper()][offset][1]
            saving = next(iter(savings)) if len(savings) == 1 else timedelta()
            return (
                _Abbreviated(offset, text.upper(), saving)
                if saving
                else timezone(offset, text.upper())
            )
        if offsets:
            raise ValidationError(
                "Unknown time zone",
                f"{field}: {text} is ambiguous; use an IANA zone or an offset. Candidates: "
                + "; ".join(
                    f"{format_offset(offset)} {', '.join(zones[:4])}"
                    for offset, zones in sorted(offsets.items())
                ),
            )
    close = difflib.get_close_matches(text, sorted(zone_keys()), n=3, cutoff=0.75)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ValidationError(
        "Unknown time zone",
        f"{field}: {text[:64]} is not an IANA zone (e.g. Europe/Paris), an offset (+05:30) or a "
        f"known abbreviation{hint}",
    )


def _fixed(match: re.Match[str], text: str, field: str) -> tzinfo:
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    offset = timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or offset > MAX_OFFSET:
        raise ValidationError("Unknown time zone", f"{field}: offset {text} is out of range")
    offset = -offset if sign == "-" else offset
    return UTC if not offset else timezone(offset)


def zone_name(zone: tzinfo, moment: datetime) -> str:
    """The IANA key, ``UTC``, or the fixed offset, as the caller can send it back."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    if zone is UTC:
        return "UTC"
    return format_offset(moment.utcoffset())


def is_dst(moment: datetime) -> bool:
    dst = moment.dst()
    return bool(dst)
