"""A circuit breaker: after a failure, stop calling the store for a cooldown that doubles while
probes keep failing, so a dead Redis costs microseconds per request instead of a timeout each."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        base_cooldown: float = 0.2,
        max_cooldown: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_cooldown = base_cooldown
        self.max_cooldown = max_cooldown
        self.clock = clock
        self.is_open = False
        self.cooldown = base_cooldown
        self._opened_until = 0.0

    def failure(self) -> bool:
        """Record a failure; True when this one opened the circuit (a mode switch to report)."""
        opened = not self.is_open
        if opened:
            self.cooldown = self.base_cooldown
        else:
            self.cooldown = min(self.cooldown * 2, self.max_cooldown)
        self.is_open = True
        self._opened_until = self.clock() + self.cooldown
        return opened

    def success(self) -> bool:
        """Record a success; True when this one closed the circuit."""
        closed = self.is_open
        self.is_open = False
        self.cooldown = self.base_cooldown
        return closed

    def retry_in(self) -> float:
        """Seconds until the next probe is due (0 when closed or due now)."""
        if not self.is_open:
            return 0.0
        return max(0.0, self._opened_until - self.clock())
