"""ULIDs (github.com/ulid/spec): 48-bit Unix milliseconds and 80 random bits, written as 26
characters of Crockford's base32 (most significant first, so text order is time order).

A few lines of our own rather than a dependency: the tools need the time from the injected clock,
a whole batch from one read of the OS CSPRNG, a monotonic option whose state spans a batch and
later calls, and decoding for id/inspect; python-ulid reads the clock itself and has no batch
monotonic generator.
"""

from __future__ import annotations

import os
import threading

from devutils.errors import ServiceUnavailableError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 26
TIME_BITS = 48
RANDOM_BITS = 80
MAX_TIME = (1 << TIME_BITS) - 1
_RANDOM_MAX = (1 << RANDOM_BITS) - 1
_VALUES = {char: index for index, char in enumerate(ALPHABET)} | {
    char.lower(): index for index, char in enumerate(ALPHABET)
}


def encode(value: int) -> str:
    """The 26-character text of a 128-bit value."""
    chars = []
    for _ in range(LENGTH):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode(text: str) -> int | None:
    """The 128-bit value of a ULID text (either case), or None when it is not one: a character
    outside the alphabet (I, L, O, U included), a length other than 26, or a first character
    above 7 (more than 128 bits)."""
    if len(text) != LENGTH or text[0] not in "01234567":
        return None
    value = 0
    for char in text:
        digit = _VALUES.get(char)
        if digit is None:
            return None
        value = value << 5 | digit
    return value


def increment(value: int) -> int | None:
    """The next ULID in the same millisecond, or None when the random part would overflow."""
    if value & _RANDOM_MAX == _RANDOM_MAX:
        return None
    return value + 1


class Generator:
    """ULID batches; the monotonic option keeps order across the batch and this process's later
    calls: within the last millisecond used (or an earlier one: the clock went back), each ULID
    is the previous one plus one, as the spec's monotonic factory does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: int | None = None

    def batch(self, millis: int, count: int, monotonic: bool) -> list[str]:
        millis &= MAX_TIME
        randoms = os.urandom(10 * count)
        head = millis << RANDOM_BITS
        if not monotonic:
            return [
                encode(head | int.from_bytes(randoms[start : start + 10], "big"))
                for start in range(0, 10 * count, 10)
            ]
        with self._lock:
            last = self._last
            if last is not None and millis <= last >> RANDOM_BITS:
                value = increment(last)
            else:
                value = head | int.from_bytes(randoms[:10], "big")
            values = []
            for _ in range(count):
                if value is None:
                    raise ServiceUnavailableError(
                        "Failed to generate ULIDs",
                        "the random part overflowed within one millisecond; retry",
                    )
                values.append(value)
                value = increment(value)
            self._last = values[-1]
        return [encode(value) for value in values]
