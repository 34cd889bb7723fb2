"""The shared store: GCRA in one atomic Lua script on Redis, so every replica sees one limit.

Cost is what shapes this module (perf-anchors §4: one Redis round trip per request costs about
70 µs of CPU and cuts throughput to a quarter).  Checks that arrive while a round trip is in flight
queue up and go together as ONE script call: each key is still decided atomically, in arrival
order, against Redis ``TIME``, so the global limit stays exact while the per-request cost shrinks
with load.  Failure handling (security-notes §0.9, §3.8): redis-py retries are off, socket
timeouts are short, and after any failure a circuit breaker answers "unavailable" at once while a
background task probes until Redis is back.  While the breaker is closed, another task probes
every :data:`WATCH_INTERVAL` seconds, so an outage opens it (readiness 503 in deny mode,
``rate_limit_degraded``) even when no request comes to find it; requests pay nothing for that.
A probe runs the checks' own script on a key of its own (:data:`PROBE_KEY`), not PING: a Redis
that answers PING but refuses writes (a replica after a failover, READONLY; ``maxmemory`` reached
under ``noeviction``, OOM) fails every check, and a PING probe closed the breaker again at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from devutils.observability.metrics import RATE_LIMIT_DEGRADED, RATE_LIMIT_STORE_ERRORS
from devutils.ratelimit.breaker import CircuitBreaker
from devutils.ratelimit.gcra import Decision, Limit

log = logging.getLogger("devutils.ratelimit")

KEY_PREFIX = "devutils:rl:"
MAX_BATCH = 256
# Seconds between probes while Redis is healthy: an outage is seen within this plus one probe's
# deadline (2 x RATE_LIMIT_REDIS_TIMEOUT).  One probe a second per worker costs Redis nothing.
WATCH_INTERVAL = 1.0
# The probe's key: a GCRA check of one microsecond, so its key lives about a millisecond.
PROBE_KEY = KEY_PREFIX + "probe"

# KEYS[i]: one key per check.  ARGV[2i-1], ARGV[2i]: its emission interval and tolerance in µs.
# Returns four integers per check: admitted (1/0), remaining, reset-after µs, retry-after µs.
# The state is the TAT in µs of Redis TIME; a key lives only until its TAT (PX), when it would
# mean "full bucket" anyway.  Keys in one batch may repeat: each sees the previous one's write.
GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - tolerance
  if allow_at <= now then
    local ttl_ms = math.ceil((new_tat - now) / 1000)
    redis.call('SET', key, string.format('%.0f', new_tat), 'PX', ttl_ms)
    out[#out + 1] = 1
    out[#out + 1] = math.floor((now + tolerance - new_tat) / interval)
    out[#out + 1] = new_tat - now
    out[#out + 1] = 0
  else
    out[#out + 1] = 0
    out[#out + 1] = 0
    out[#out + 1] = tat - now
    out[#out + 1] = allow_at - now
  end
end
return out
"""

_Pending = tuple[str, Limit, "asyncio.Future[Decision | None]"]


def redis_key(identity: str, limit: Limit) -> str:
    """Bounded key names whatever the identity: class plus a 128-bit hash."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{KEY_PREFIX}{limit.name}:{digest}"


def make_client(url: str, timeout: float) -> aioredis.Redis:
    # No retries: redis-py's default policy turned one dead Redis into seconds per request.
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
        max_connections=8,
        client_name="devutils-ratelimit",
    )


class RedisStore:
    """``check`` returns a Decision, or None when Redis is unavailable (the caller's fail mode)."""

    def __init__(
        self,
        client: aioredis.Redis,
        timeout: float,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.client = client
        # Socket timeouts bound each read and the connect separately; this bounds the whole call.
        self.deadline = 2 * timeout
        self.breaker = breaker or CircuitBreaker()
        self._script = client.register_script(GCRA_LUA)
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        return not self.breaker.is_open

    async def check(self, identity: str, limit: Limit) -> Decision | None:
        if self.breaker.is_open:
            return None
        future: asyncio.Future[Decision | None] = asyncio.get_running_loop().create_future()
        self._pending.append((redis_key(identity, limit), limit, future))
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def start(self) -> None:
        """Probe once at start-up so readiness tells the truth before the first request, then
        keep watching."""
        failure = await self._probe()
        if failure is None:
            log.info("rate-limit store connected", extra={"store": "redis"})
        else:
            self._failed(f"at start-up: {failure}")
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        for task in (self._watcher, self._monitor, self._flusher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.client.aclose()

    # --- batching ---------------------------------------------------------------------------

    async def _flush(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                try:
                    decisions = await self._run(batch)
                except Exception:
                    log.exception("rate-limit check failed unexpectedly")
                    decisions = None
                for index, (_, _, future) in enumerate(batch):
                    if not future.done():
                        future.set_result(decisions[index] if decisions else None)
        finally:
            self._flusher = None
            # Only reached with work left when cancelled (shutdown): never strand a caller.
            leftover, self._pending = [*batch, *self._pending], []
            for _, _, future in leftover:
                if not future.done():
                    future.set_result(None)

    async def _run(self, batch: list[_Pending]) -> list[Decision] | None:
        if self.breaker.is_open:
            return None
        args: list[int] = []
        for _, limit, _ in batch:
            interval = round(limit.interval * 1_000_000)
            args.extend((interval, interval * limit.burst))
        try:
            async with asyncio.timeout(self.deadline):
                raw = await self._script(keys=[key for key, _, _ in batch], args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(type(exc).__name__)
            return None
        if self.breaker.success():
            self._recovered()
        return _decode(raw, [limit for _, limit, _ in batch])

    # --- failure and recovery ---------------------------------------------------------------

    def _failed(self, reason: str) -> None:
        RATE_LIMIT_STORE_ERRORS.labels(store="redis").inc()
        if self.breaker.failure():
            RATE_LIMIT_DEGRADED.set(1)
            log.warning("rate-limit store unavailable, fail mode applies", extra={"reason": reason})
        if self._monitor is None:
            self._monitor = asyncio.get_running_loop().create_task(self._probe_until_healthy())

    def _recovered(self) -> None:
        RATE_LIMIT_DEGRADED.set(0)
        log.warning("rate-limit store recovered", extra={"store": "redis"})

    async def _watch(self) -> None:
        """Probe while the breaker is closed; a failed probe opens it as a failed check does (the
        same counter, gauge, log line and recovery probe).  While it is open the recovery probe
        runs instead."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if self.breaker.is_open:
                continue
            failure = await self._probe()
            # Checked again after the probe: a failed check may have opened the breaker
            # meanwhile, and one outage must count as one failure.
            if failure is not None and not self.breaker.is_open:
                self._failed(failure)

    async def _probe_until_healthy(self) -> None:
        try:
            while self.breaker.is_open:
                await asyncio.sleep(self.breaker.retry_in())
                if await self._probe() is None:
                    if self.breaker.success():
                        self._recovered()
                    return
                RATE_LIMIT_STORE_ERRORS.labels(store="redis").inc()
                self.breaker.failure()
        finally:
            self._monitor = None

    async def _probe(self) -> str | None:
        """None when a check would succeed now, else why not (the error's type, e.g.
        ConnectionError, AuthenticationError, ReadOnlyError, OutOfMemoryError)."""
        try:
            async with asyncio.timeout(self.deadline):
                await self._script(keys=[PROBE_KEY], args=[1, 1])
        except (RedisError, OSError, TimeoutError) as exc:
            return type(exc).__name__
        return None


def _decode(raw: Any, limits: list[Limit]) -> list[Decision]:
    decisions = []
    for index, limit in enumerate(limits):
        allowed, remaining, reset_us, retry_us = raw[4 * index : 4 * index + 4]
        decisions.append(
            Decision(
                allowed=bool(allowed),
                limit=limit,
                remaining=int(remaining),
                reset_after=int(reset_us) / 1_000_000,
                retry_after=int(retry_us) / 1_000_000,
            )
        )
    return decisions
