"""The Redis store against a real redis-server: exactness, batching, keys, failures, recovery."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from devutils.errors import RateLimitError, ServiceUnavailableError
from devutils.ratelimit.gcra import Limit
from devutils.ratelimit.limiter import RateLimiter
from devutils.ratelimit.redis_store import RedisStore, make_client
from tests.conftest import make_settings
from tests.support import RedisServer, run_redis

SLOW_BURST_50 = Limit("anonymous", per_minute=1, burst=50)  # no refill during a test
ONE_PER_SECOND_BURST_3 = Limit("anonymous", per_minute=60, burst=3)
# One token per 10 s: a stall of the test process between checks (up to a second on a busy CI
# machine) cannot refill the bucket.  Redis TIME decides, so no clock can be frozen instead.
ONE_PER_10_SECONDS_BURST_3 = Limit("anonymous", per_minute=6, burst=3)


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[RedisServer]:
    with run_redis() as server:
        yield server


@pytest.fixture
async def store(shared_redis: RedisServer) -> AsyncIterator[RedisStore]:
    store = RedisStore(make_client(shared_redis.url, 0.5), 0.5)
    yield store
    await store.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def eventually(condition: Callable[[], bool], seconds: float = 10) -> bool:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


def fresh_identity() -> str:
    return "ip:" + uuid.uuid4().hex


async def evalsha_calls(url: str) -> int:
    async with aioredis.Redis.from_url(url) as admin:
        stats = await admin.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def test_burst_then_refuse_with_redis_time(store: RedisStore) -> None:
    identity = fresh_identity()
    limit = ONE_PER_10_SECONDS_BURST_3
    interval = limit.interval
    decisions = [await store.check(identity, limit) for _ in range(4)]
    assert all(d is not None for d in decisions)
    got = [d for d in decisions if d is not None]
    assert [d.allowed for d in got] == [True, True, True, False]
    assert [d.remaining for d in got] == [2, 1, 0, 0]
    # Wall time passes between calls, so the figures are "at most one interval" rather than exact.
    assert 0 < got[3].retry_after <= interval
    assert 2 * interval < got[3].reset_after <= 3 * interval
    assert 0.9 * interval < got[0].reset_after <= interval


async def test_exact_under_concurrency_and_batched(
    store: RedisStore, shared_redis: RedisServer
) -> None:
    identity = fresh_identity()
    before = await evalsha_calls(shared_redis.url)
    decisions = await asyncio.gather(*(store.check(identity, SLOW_BURST_50) for _ in range(300)))
    assert all(d is not None for d in decisions)
    assert sum(1 for d in decisions if d is not None and d.allowed) == 50
    # Concurrent checks share round trips: far fewer script calls than checks.
    assert await evalsha_calls(shared_redis.url) - before < 30


async def test_three_replicas_share_one_exact_limit(shared_redis: RedisServer) -> None:
    stores = [RedisStore(make_client(shared_redis.url, 0.5), 0.5) for _ in range(3)]
    identity = fresh_identity()
    try:
        decisions = await asyncio.gather(
            *(s.check(identity, SLOW_BURST_50) for _ in range(100) for s in stores)
        )
    finally:
        for s in stores:
            await s.close()
    assert sum(1 for d in decisions if d is not None and d.allowed) == 50
    assert all(d is not None for d in decisions)


async def test_keys_are_bounded_hashed_and_expire(
    store: RedisStore, shared_redis: RedisServer
) -> None:
    identity = "p:jwt:" + "x" * 4000
    await store.check(identity, ONE_PER_SECOND_BURST_3)
    await store.check(identity, Limit("crypto", per_minute=30, burst=5))
    async with aioredis.Redis.from_url(shared_redis.url, decode_responses=True) as admin:
        keys = [str(key) for key in await admin.keys("devutils:rl:*")]
        assert keys
        assert all(re.fullmatch(r"devutils:rl:(anonymous|crypto):[0-9a-f]{32}", k) for k in keys)
        crypto_keys = [k for k in keys if k.startswith("devutils:rl:crypto:")]
        assert len(crypto_keys) == 1  # the 4000-character identity became one short key
        ttl_ms = await admin.pttl(crypto_keys[0])
    assert 0 < ttl_ms <= 2000  # one 2 s interval spent: the key lives until its bucket is full


async def test_limiter_headers_from_redis(shared_redis: RedisServer) -> None:
    settings = make_settings(
        rate_limit_enabled=True,
        rate_limit_store="redis",
        rate_limit_redis_url=shared_redis.url,
        rate_limit_anonymous_per_minute=60,
        rate_limit_anonymous_burst=2,
    )
    store = RedisStore(make_client(shared_redis.url, 0.5), 0.5)
    limiter = RateLimiter(settings, store, wall_clock=lambda: 1_700_000_000.0)
    limit = limiter.limit_for("default", authenticated=False)
    identity = fresh_identity()
    try:
        first = await limiter.check(limit, identity)
        assert limiter.headers(first) == {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "1",
            "X-RateLimit-Reset": "1700000001",
        }
        await limiter.check(limit, identity)
        with pytest.raises(RateLimitError) as refused:
            await limiter.check(limit, identity)
    finally:
        await store.close()
    assert refused.value.headers["Retry-After"] == "1"
    assert refused.value.headers["X-RateLimit-Remaining"] == "0"
    assert refused.value.headers["X-RateLimit-Reset"] == "1700000002"
    assert limiter.readiness() == ("ok", "redis")


async def test_paused_redis_bounded_then_recovers() -> None:
    with run_redis() as server:
        store = RedisStore(make_client(server.url, 0.05), 0.05)
        try:
            await store.start()
            assert store.healthy
            errors_before = sample("rate_limit_store_errors_total", store="redis")
            server.pause()
            started = time.monotonic()
            decisions = await asyncio.gather(
                *(store.check(fresh_identity(), SLOW_BURST_50) for _ in range(20))
            )
            first_wave = time.monotonic() - started
            assert decisions == [None] * 20
            # The 20 checks went as one batch: one call, one failure, no retry, and the breaker
            # answered for the rest (counted, not timed; the breaker's first probe is 0.2 s away).
            assert sample("rate_limit_store_errors_total", store="redis") == errors_before + 1
            # Bounded by the 0.05 s timeouts rather than waiting for Redis; generous against a
            # stall of the test process, still far short of a hang.
            assert first_wave < 5.0
            assert not store.healthy
            assert sample("rate_limit_degraded") == 1.0
            errors_open = sample("rate_limit_store_errors_total", store="redis")
            assert await store.check(fresh_identity(), SLOW_BURST_50) is None
            # Breaker open: Redis is not even asked (asking the paused server would time out and
            # count one more store error).
            assert sample("rate_limit_store_errors_total", store="redis") == errors_open
            server.resume()
            assert await eventually(lambda: store.healthy)
            assert sample("rate_limit_degraded") == 0.0
            decision = await store.check(fresh_identity(), SLOW_BURST_50)
            assert decision is not None
            assert decision.allowed
        finally:
            server.resume()
            await store.close()


async def test_restart_on_same_port_reloads_script() -> None:
    with run_redis() as first:
        port = first.port
        store = RedisStore(make_client(first.url, 0.05), 0.05)
        assert await store.check(fresh_identity(), SLOW_BURST_50) is not None
        first.kill()
        assert await store.check(fresh_identity(), SLOW_BURST_50) is None
        assert not store.healthy
        with run_redis(port=port):  # an empty Redis: no script cached, no keys
            assert await eventually(lambda: store.healthy)
            decision = await store.check(fresh_identity(), SLOW_BURST_50)
            await store.close()
    assert decision is not None
    assert decision.allowed


@pytest.mark.parametrize(
    ("fail_mode", "expect"),
    [pytest.param("local", "memory-limit", id="local"), pytest.param("deny", "503", id="deny")],
)
async def test_fail_modes_with_redis_down(fail_mode: str, expect: str) -> None:
    with run_redis() as server:
        url = server.url
    # The server is gone now: every connection is refused.
    settings = make_settings(
        rate_limit_enabled=True,
        rate_limit_store="redis",
        rate_limit_redis_url=url,
        rate_limit_fail_mode=fail_mode,
        rate_limit_anonymous_per_minute=1,
        rate_limit_anonymous_burst=2,
        rate_limit_auth_failures_per_minute=1,
        rate_limit_auth_failures_burst=2,
    )
    store = RedisStore(make_client(url, 0.05), 0.05)
    limiter = RateLimiter(settings, store)
    limit = limiter.limit_for("default", authenticated=False)
    try:
        await store.start()
        state, detail = limiter.readiness()
        if expect == "503":
            assert state == "down"
            assert detail == "redis unreachable; refusing requests"
            with pytest.raises(ServiceUnavailableError) as refused:
                await limiter.check(limit, "ip:192.0.2.1")
            assert refused.value.status == 503
            assert int(refused.value.headers["Retry-After"]) >= 1
        else:
            assert state == "degraded"
            assert detail == "redis unreachable; local memory limits"
            await limiter.check(limit, "ip:192.0.2.1")
            await limiter.check(limit, "ip:192.0.2.1")
            with pytest.raises(RateLimitError):
                await limiter.check(limit, "ip:192.0.2.1")
        # Failed authentications are counted in this replica's memory in either mode (a 503
        # would tell a client with a wrong key nothing): two pass on to their 401, then 429.
        for _ in range(2):
            pending = limiter.auth_failure("192.0.2.7")
            assert pending is not None
            await pending
        pending = limiter.auth_failure("192.0.2.7")
        assert pending is not None
        with pytest.raises(RateLimitError):
            await pending
    finally:
        await store.close()


async def test_close_releases_callers_waiting_on_a_frozen_redis() -> None:
    with run_redis() as server:
        store = RedisStore(make_client(server.url, 5.0), 5.0)  # long timeout: only close ends it
        assert await store.check(fresh_identity(), SLOW_BURST_50) is not None
        server.pause()
        try:
            waiting = [
                asyncio.ensure_future(store.check(fresh_identity(), SLOW_BURST_50))
                for _ in range(5)
            ]
            await asyncio.sleep(0.1)
            assert not any(task.done() for task in waiting)
            await store.close()
            results = await asyncio.wait_for(asyncio.gather(*waiting), 2)
        finally:
            server.resume()
    assert results == [None] * 5
