"""The per-process store: GCRA state in a bounded dict, least recently used keys first.

Used on its own (``RATE_LIMIT_STORE=memory``) and as the per-replica fallback of the Redis store.
Memory is bounded by ``max_keys``: each new key first drops idle keys from the old end (a key
whose TAT has passed carries no state), and when every stored key is still live the least
recently used one is evicted, which re-grants that key its burst: the price of a hard bound.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from devutils.ratelimit.gcra import Decision, Limit, gcra

# Idle keys dropped per new key: enough to keep up with any insert rate, small enough to keep a
# single check's cost constant.
_SWEEP_PER_INSERT = 4


class MemoryStore:
    def __init__(self, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._tats: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tats)

    def check(self, identity: str, limit: Limit) -> Decision:
        """Decide one request of ``identity`` in ``limit``'s class (each class is its own bucket)."""
        now = self.clock()
        key = (limit.name, identity)
        tats = self._tats
        tat = tats.get(key)
        decision, new_tat = gcra(tat, now, limit)
        if tat is None:
            if new_tat is not None:
                self._make_room(now)
                tats[key] = new_tat
        else:
            if new_tat is not None:
                tats[key] = new_tat
            tats.move_to_end(key)
        return decision

    def admit(self, identity: str, limit: Limit) -> tuple[int, float] | None:
        """:meth:`check` for the hot path: ``(remaining, reset_after)`` when admitted, None when
        refused (the state is then untouched, so :meth:`check` can tell why).

        The same arithmetic as :func:`gcra`, inlined: no decision record and no function call
        per request (a test holds the two to the same answers).
        """
        now = self.clock()
        key = (limit.name, identity)
        tats = self._tats
        tat = tats.get(key)
        interval = limit.interval
        new_tat = (now if tat is None or tat < now else tat) + interval
        tolerance = limit.tolerance
        if new_tat - tolerance > now:
            return None
        if tat is None:
            self._make_room(now)
            tats[key] = new_tat
        else:
            tats[key] = new_tat
            tats.move_to_end(key)
        return math.floor((now + tolerance - new_tat) / interval + 1e-9), new_tat - now

    def _make_room(self, now: float) -> None:
        tats = self._tats
        for _ in range(_SWEEP_PER_INSERT):
            if not tats:
                return
            oldest = next(iter(tats))
            if tats[oldest] > now:
                break
            del tats[oldest]
        while len(tats) >= self.max_keys:
            tats.popitem(last=False)
