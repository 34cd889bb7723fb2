"""UUID building blocks of RFC 9562 that Python 3.11's uuid module lacks: version 6 (the version-1
timestamp reordered so text order is time order, §5.6) and reading the time, clock sequence and
node back out of versions 1, 6 and 7."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from devutils.tools._timefmt import EPOCH

# 100-ns intervals between the Gregorian epoch (1582-10-15) and the Unix epoch (RFC 9562 §5.1).
GREGORIAN_OFFSET = 0x01B21DD213814000
_TICK = timedelta(microseconds=1)
_VARIANT = 0b10 << 62


def gregorian_ticks(moment: datetime) -> int:
    """100-ns intervals since 1582-10-15 (datetime keeps microseconds: the last digit is 0)."""
    return (moment - EPOCH) // _TICK * 10 + GREGORIAN_OFFSET


def uuid6_int(ticks: int, clock_seq: int, node: int) -> int:
    """RFC 9562 §5.6: time_high (32 bits), time_mid (16), version 6, time_low (12), variant,
    clock sequence (14), node (48)."""
    ticks &= (1 << 60) - 1
    return (
        (ticks >> 12) << 80
        | 6 << 76
        | (ticks & 0xFFF) << 64
        | _VARIANT
        | (clock_seq & 0x3FFF) << 48
        | node & (1 << 48) - 1
    )


def uuid1_ticks(value: int) -> int:
    """The 60-bit timestamp of a version-1 UUID (time_low, time_mid, time_high fields)."""
    time_low = value >> 96
    time_mid = value >> 80 & 0xFFFF
    time_high = value >> 64 & 0xFFF
    return time_high << 48 | time_mid << 32 | time_low


def uuid6_ticks(value: int) -> int:
    """The 60-bit timestamp of a version-6 UUID."""
    return (value >> 80) << 12 | value >> 64 & 0xFFF


def clock_seq(value: int) -> int:
    return value >> 48 & 0x3FFF


def node(value: int) -> int:
    return value & (1 << 48) - 1


class V6Clock:
    """Strictly increasing timestamps for this process: a batch (or two calls within the same
    100 ns) steps one interval past the last one used, as uuid.uuid1 does for version 1."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def take(self, now: int, count: int) -> int:
        """The first of ``count`` consecutive timestamps, none at or below one already used."""
        with self._lock:
            first = max(now, self._last + 1)
            self._last = first + count - 1
            return first
