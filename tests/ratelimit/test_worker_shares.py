"""Memory rate limits hold for the pod: each worker enforces its share of every limit."""

from __future__ import annotations

import asyncio
import multiprocessing

import pytest

from devutils.errors import RateLimitError, ValidationError
from devutils.http.middleware.ratelimit import composite_plan_limiter
from devutils.ratelimit.gcra import Limit, worker_share
from devutils.ratelimit.limiter import RateLimiter
from devutils.ratelimit.redis_store import RedisStore, make_client
from devutils.registry import CallInfo, catalogue
from devutils.workers import WorkerContext
from tests.conftest import make_settings
from tests.support import free_port
from tests.workers.processes import admitted_by_worker


@pytest.mark.parametrize(
    ("per_minute", "burst", "workers"),
    [(60, 10, 2), (61, 11, 2), (300, 50, 3), (7, 5, 4), (1000, 1, 1)],
    ids=["even", "odd", "three", "uneven", "one-worker"],
)
def test_shares_add_up_to_the_configured_limit(per_minute: int, burst: int, workers: int) -> None:
    shares = [worker_share(Limit("x", per_minute, burst), workers, i) for i in range(workers)]
    assert sum(share.per_minute for share in shares) == per_minute
    assert sum(share.burst for share in shares) == max(burst, workers)
    assert max(s.per_minute for s in shares) - min(s.per_minute for s in shares) <= 1
    assert {share.name for share in shares} == {"x"}


def test_a_limit_below_the_worker_count_gives_each_worker_one() -> None:
    shares = [worker_share(Limit("crypto", 3, 2), 4, i) for i in range(4)]
    assert [(s.per_minute, s.burst) for s in shares] == [(1, 1)] * 4


ENV = {
    "SECRETS_MOUNT_PATH": "/nonexistent",
    "METRICS_ENABLED": "false",
    "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "60",
    "RATE_LIMIT_ANONYMOUS_BURST": "10",
}


def _admitted_across_workers(workers: int, attempts: int, seconds: float) -> list[int]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        jobs = [(ENV, workers, index, attempts, seconds) for index in range(workers)]
        return pool.starmap(admitted_by_worker, jobs)


def test_two_worker_processes_admit_the_configured_burst_in_total() -> None:
    # One client hammering both workers at one instant: the pod admits the burst, not twice it.
    admitted = _admitted_across_workers(2, attempts=200, seconds=0.0)
    assert admitted == [5, 5]


def test_two_worker_processes_admit_the_configured_rate_in_total() -> None:
    # A minute of requests from one client on both workers: burst + one minute's rate at most.
    admitted = _admitted_across_workers(2, attempts=600, seconds=60.0)
    assert 60 <= sum(admitted) <= 10 + 60
    assert abs(admitted[0] - admitted[1]) <= 1


def test_the_headers_and_the_429_name_this_workers_share() -> None:
    settings = make_settings(rate_limit_enabled=True)  # anonymous: 60/min, burst 10
    limiter = RateLimiter(settings, clock=lambda: 50.0, worker=WorkerContext(2, 1))
    headers = limiter.admit_local("default", False, None, "198.51.100.1")
    assert headers[0] == (b"x-ratelimit-limit", b"30")
    for _ in range(4):
        limiter.admit_local("default", False, None, "198.51.100.1")
    with pytest.raises(RateLimitError) as refused:
        limiter.admit_local("default", False, None, "198.51.100.1")
    assert refused.value.headers is not None
    assert refused.value.headers["X-RateLimit-Limit"] == "30"


def test_redis_applies_the_full_limit_and_its_local_fallback_the_share() -> None:
    settings = make_settings(
        rate_limit_enabled=True, rate_limit_store="redis", rate_limit_redis_url="redis://x"
    )
    # Nothing listens on this port: the first check opens the breaker, the fail mode applies.
    store = RedisStore(make_client(f"redis://127.0.0.1:{free_port()}/0", 0.05), 0.05)
    limiter = RateLimiter(settings, store, clock=lambda: 50.0, worker=WorkerContext(2, 0))
    assert limiter.limit_for("default", False).burst == 10

    async def admitted() -> int:
        count = 0
        limit = limiter.limit_for("default", False)
        try:
            for _ in range(20):
                try:
                    await limiter.check(limit, "ip:198.51.100.2")
                except RateLimitError:
                    continue
                count += 1
        finally:
            await store.close()
        return count

    assert asyncio.run(admitted()) == 5
    assert not store.healthy


def test_the_pipeline_plan_check_uses_the_share_that_decides_while_redis_is_down() -> None:
    """With Redis down and fail mode local, a worker enforces its share: a pipeline needing
    more than that share must be refused up front (400), not run until a 429 whose Retry-After
    never works on this worker."""
    settings = make_settings(
        rate_limit_enabled=True,
        rate_limit_store="redis",
        rate_limit_redis_url="redis://x",
        rate_limit_crypto_burst=5,
    )
    store = RedisStore(make_client(f"redis://127.0.0.1:{free_port()}/0", 0.05), 0.05)
    limiter = RateLimiter(settings, store, clock=lambda: 50.0, worker=WorkerContext(2, 1))
    check = composite_plan_limiter(limiter)
    spec = next(spec for spec in catalogue() if spec.name == "pipeline")
    call = CallInfo("rest", None, False, "198.51.100.3")
    check(spec, {"crypto": 4}, call)  # Redis healthy (as far as anyone knows): the full 5

    async def outage() -> None:
        try:
            await store.start()  # nothing listens: the breaker opens
        finally:
            await store.close()

    asyncio.run(outage())
    assert not store.healthy
    assert limiter.local_limits["crypto"].burst == 2  # worker 1 of 2: 3 + 2
    with pytest.raises(ValidationError) as refused:
        check(spec, {"crypto": 4}, call)
    assert "your burst in that class is 2" in str(refused.value.details)
    check(spec, {"crypto": 2}, call)
