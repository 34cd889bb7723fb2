"""The reference's time formats, shared by time/convert, time/now and JWT decode.

Written with explicit zero padding because ``strftime("%Y")`` does not pad years below 1000 on
every platform.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_MILLISECOND = timedelta(milliseconds=1)
_MICROSECOND = timedelta(microseconds=1)


def _date_time(moment: datetime, separator: str) -> str:
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}{separator}"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def offset_text(moment: datetime, zulu: bool) -> str:
    """``Z`` (when ``zulu``) or ``±hh:mm`` for the moment's UTC offset."""
    offset = moment.utcoffset() or timedelta(0)
    if zulu and not offset:
        return "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def rfc3339(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, or with the moment's own offset (fraction dropped)."""
    return _date_time(moment, "T") + offset_text(moment, zulu=True)


def rfc3339_fraction(moment: datetime) -> str:
    """:func:`rfc3339` keeping a fraction of a second, without trailing zeros (Go RFC3339Nano)."""
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return _date_time(moment, "T") + fraction + offset_text(moment, zulu=True)


def human(moment: datetime, utc: bool = True) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC`` (the reference), or ``... ±hh:mm`` in another zone."""
    return _date_time(moment, " ") + (" UTC" if utc else " " + offset_text(moment, zulu=False))


def unix_seconds(moment: datetime) -> int:
    return (moment - EPOCH) // _SECOND


def unix_millis(moment: datetime) -> int:
    return (moment - EPOCH) // _MILLISECOND


def unix_micros(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND
