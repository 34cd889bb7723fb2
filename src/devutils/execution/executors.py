"""Cost classes and the executors behind them: one bounded pool or thread executor per class.

``inline``   cheap and bounded (hashes of capped input, ids, time): on the event loop, always.
``cpu``      input-proportional (text, JSON, base64, compression): on the loop while the input's
             work estimate is at most ``INLINE_MAX_WORK``, else in the ``cpu`` process pool.
``regex``    pattern size x input size: same rule with the regex's own estimate, ``regex`` pool.
``argon2``   memory-hard hashing: behind the Argon2 gate, in the ``argon2`` process pool.
``network``  I/O-bound (DNS, header fetches): a bounded thread executor of its own.

Every class but ``inline`` has the call's deadline (``TOOL_TIMEOUT``, queueing included) and a
bounded queue (503 when full), so one class saturated cannot starve another.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from devutils.errors import ServiceUnavailableError, ToolTimeoutError
from devutils.execution.pool import WorkerPool
from devutils.settings import Settings
from devutils.workers import cpu_limit, current

T = TypeVar("T")
CostClass = Literal["inline", "cpu", "regex", "argon2", "network"]
POOLED: tuple[CostClass, ...] = ("cpu", "regex", "argon2")
# libargon2 runs one thread per lane (stacks and arenas count against RLIMIT_AS): headroom for it.
_ARGON2_THREAD_HEADROOM_MB = 64


class NetworkExecutor:
    """A bounded thread executor for I/O-bound tools, with a bounded queue and a deadline.

    A thread cannot be killed, so these tools bound their own I/O (``NETWORK_TIMEOUT``,
    ``DNS_TIMEOUT``); the deadline answers the caller, the queue bound keeps threads in check.
    """

    def __init__(self, size: int, queue: int) -> None:
        self.size = size
        self.queue = queue
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="devutils-net")
        self._in_flight = 0

    async def run(self, work: Callable[[], T], name: str, deadline: float) -> T:
        if self._in_flight >= self.size + self.queue:
            raise ServiceUnavailableError(
                "Server busy, retry shortly",
                "all network workers are busy and the queue is full",
                headers={"Retry-After": "1"},
            )
        self._in_flight += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, work)
        # The thread's slot is freed when the thread ends, not at the deadline.
        future.add_done_callback(self._finished)
        try:
            return await asyncio.wait_for(
                asyncio.shield(future), max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            raise ToolTimeoutError("Operation timed out", f"{name} exceeded its deadline") from None

    def _finished(self, _: Any) -> None:
        self._in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _cpus_per_worker() -> int:
    """The default size of the cpu and regex pools: this server worker's share of the CPUs.

    A pool process more than the CPUs can run adds memory (up to POOL_MEMORY_LIMIT_MB each
    under load), not throughput: with one worker per CPU, one process per class per worker.
    """
    return max(1, cpu_limit() // current().workers)


class Executors:
    """The pools of one registry, built lazily from the settings; :meth:`close` stops them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pools: dict[str, WorkerPool] = {}
        self._network: NetworkExecutor | None = None

    def pool(self, cost: CostClass) -> WorkerPool:
        pool = self._pools.get(cost)
        if pool is None:
            pool = self._pools[cost] = self._build(cost)
        return pool

    def _build(self, cost: CostClass) -> WorkerPool:
        settings = self.settings
        memory = settings.pool_memory_limit_mb
        if cost == "argon2":
            # The Argon2 gate queues and bounds concurrency; the pool only needs a process per slot.
            size, queue = settings.argon_concurrency, 0
            memory += settings.argon_verify_memory_limit // 1024 + _ARGON2_THREAD_HEADROOM_MB
        elif cost == "regex":
            size, queue = (
                settings.pool_regex_workers or _cpus_per_worker(),
                settings.pool_queue_size,
            )
        else:
            size, queue = settings.pool_cpu_workers or _cpus_per_worker(), settings.pool_queue_size
        return WorkerPool(
            cost,
            size=size,
            queue=queue,
            memory_limit_mb=memory,
            idle_timeout=settings.pool_idle_timeout,
            settings=settings,
        )

    @property
    def pools(self) -> dict[str, WorkerPool]:
        return dict(self._pools)

    @property
    def network(self) -> NetworkExecutor:
        if self._network is None:
            self._network = NetworkExecutor(
                self.settings.network_workers, self.settings.pool_queue_size
            )
        return self._network

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        if self._network is not None:
            self._network.close()
