"""GCRA (the generic cell rate algorithm): the one limiting algorithm, shared by both stores.

A key's whole state is one number, its theoretical arrival time (TAT): the instant at which its
bucket would be full again.  A request is admitted when, after adding one emission interval
(60 s / per-minute rate), the TAT is at most ``burst`` intervals ahead of now.  So ``burst``
requests pass at once, then one per interval; a key whose TAT has passed is identical to an
absent key, which is what lets both stores forget idle keys.  The Redis store runs the same
arithmetic in Lua (``redis_store.GCRA_LUA``), in integer microseconds of Redis ``TIME``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Limit:
    """One rate class: ``per_minute`` sustained, ``burst`` at once."""

    name: str  # the class label: anonymous | authenticated | crypto | network
    per_minute: int
    burst: int

    @functools.cached_property
    def interval(self) -> float:
        """Seconds between admissions at the sustained rate."""
        return 60.0 / self.per_minute

    @functools.cached_property
    def tolerance(self) -> float:
        """How far ahead of now a TAT may run: ``burst`` intervals."""
        return self.burst * self.interval

    @functools.cached_property
    def limit_header(self) -> tuple[bytes, bytes]:
        """``X-RateLimit-Limit`` as an ASGI header pair (the same on every response)."""
        return (b"x-ratelimit-limit", b"%d" % self.per_minute)


class Decision(NamedTuple):  # one per request: a tuple is the cheapest immutable record
    allowed: bool
    limit: Limit
    remaining: int  # whole requests still admissible right now
    reset_after: float  # seconds until the bucket is full again
    retry_after: float  # seconds until the next request would pass (0 when allowed)


def gcra(tat: float | None, now: float, limit: Limit) -> tuple[Decision, float | None]:
    """Decide one request; returns the decision and the new TAT (None: leave the state alone)."""
    interval = limit.interval
    start = now if tat is None or tat < now else tat
    new_tat = start + interval
    allow_at = new_tat - limit.tolerance
    if allow_at <= now:
        remaining = math.floor((now + limit.tolerance - new_tat) / interval + 1e-9)
        return Decision(True, limit, remaining, new_tat - now, 0.0), new_tat
    return Decision(False, limit, 0, start - now, allow_at - now), None


def worker_share(limit: Limit, workers: int, index: int) -> Limit:
    """The part of ``limit`` that worker ``index`` of ``workers`` enforces in its memory store.

    Rate and burst are split as evenly as whole numbers allow, the remainder going to the lowest
    indexes, so the shares add up to exactly the configured limit; a share is never below 1
    (GCRA needs a positive rate and burst), so a limit below the worker count admits up to one
    per worker.
    """
    if workers <= 1:
        return limit
    return Limit(
        limit.name,
        _part(limit.per_minute, workers, index),
        _part(limit.burst, workers, index),
    )


def _part(total: int, workers: int, index: int) -> int:
    return max(1, total // workers + (1 if index < total % workers else 0))
