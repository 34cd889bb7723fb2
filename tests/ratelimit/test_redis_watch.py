"""A Redis outage is seen without traffic: the store pings while healthy, so readiness and
``rate_limit_degraded`` turn (and recover) when no request comes to find the outage."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
import redis
from prometheus_client import REGISTRY

from devutils.ratelimit.redis_store import WATCH_INTERVAL, RedisStore, make_client
from tests.support import RedisServer, require_redis, run_redis, run_server

# Ports of this module's redis-servers (the range given to these tests).
PORTS = range(19690, 19720)
# The watch pings every WATCH_INTERVAL; a ping gives up after 2 x the timeout below.  Well past
# both, still "a few seconds".
SEEN_WITHIN = 5.0


def free_port_in_range() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 19690-19719")


@contextlib.contextmanager
def redis_on_free_port() -> Iterator[RedisServer]:
    require_redis()
    with run_redis(port=free_port_in_range()) as server:
        yield server


def degraded_gauge() -> float:
    return REGISTRY.get_sample_value("rate_limit_degraded") or 0.0


async def within(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def test_store_sees_an_outage_and_the_recovery_without_checks() -> None:
    assert WATCH_INTERVAL <= 2.0  # docs/operations.md promises about a second
    with redis_on_free_port() as first:
        port = first.port
        store = RedisStore(make_client(first.url, 0.2), 0.2)
        try:
            await store.start()
            assert store.healthy
            await asyncio.sleep(WATCH_INTERVAL * 1.5)  # pings that succeed change nothing
            assert store.healthy
            first.kill()
            # Not one check: only the store's own pings can notice.
            assert await within(SEEN_WITHIN, lambda: not store.healthy)
            assert degraded_gauge() == 1.0
            with run_redis(port=port):
                assert await within(SEEN_WITHIN, lambda: store.healthy)
                assert degraded_gauge() == 0.0
        finally:
            await store.close()


# How to make a running Redis refuse writes while it answers PING, and undo it.
REFUSALS: dict[
    str, tuple[Callable[[redis.Redis], object], Callable[[redis.Redis], object], str]
] = {
    # A replica after a failover (its master need not exist): READONLY to every write.
    "read-only replica": (
        lambda admin: admin.replicaof("127.0.0.1", "1"),
        lambda admin: admin.replicaof("NO", "ONE"),
        "ReadOnlyError",
    ),
    # maxmemory reached under the default noeviction policy: OOM to every write.
    "out of memory": (
        lambda admin: admin.config_set("maxmemory", 1),
        lambda admin: admin.config_set("maxmemory", 0),
        "OutOfMemoryError",
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS)
async def test_a_redis_that_answers_ping_but_refuses_writes_is_down(
    refusal: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every check fails there: the store must stay open (deny: readiness 503) rather than
    flap closed at each successful PING, as it did every 0.2-0.4 s."""
    with redis_on_free_port() as server:
        refuse, allow, reason = REFUSALS[refusal]
        admin = redis.Redis.from_url(server.url)
        store = RedisStore(make_client(server.url, 0.2), 0.2)
        try:
            await store.start()
            assert store.healthy
            assert admin.ping()
            refuse(admin)
            assert admin.ping()  # still answers
            assert await within(SEEN_WITHIN, lambda: not store.healthy)
            # Several recovery probes later (the breaker retries within a second or two), still
            # open: nothing the limiter needs works.
            flips = []
            deadline = time.monotonic() + 3 * WATCH_INTERVAL
            while time.monotonic() < deadline:
                flips.append(store.healthy)
                await asyncio.sleep(0.05)
            assert not any(flips)
            assert degraded_gauge() == 1.0
            assert any(getattr(record, "reason", None) == reason for record in caplog.records), [
                getattr(record, "reason", None) for record in caplog.records
            ]
            allow(admin)
            assert await within(SEEN_WITHIN, lambda: store.healthy)
            assert degraded_gauge() == 0.0
        finally:
            with contextlib.suppress(redis.RedisError):
                allow(admin)  # a replica of a missing master is slow to shut down
            await store.close()
            admin.close()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def gauge_of(base: str) -> float:
    with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("rate_limit_degraded "):
                return float(line.split()[1])
    raise AssertionError("rate_limit_degraded missing from /metrics")


def eventually(seconds: float, condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def every_worker(base: str, status: int, probes: int = 6) -> Callable[[], bool]:
    """Readiness answers ``status`` ``probes`` times running (each may reach another worker)."""
    return lambda: all(status_of(base + "/health/ready") == status for _ in range(probes))


@pytest.mark.parametrize(
    ("fail_mode", "workers", "down_status"),
    [("deny", "2", 503), ("deny", "1", 503), ("local", "1", 200)],
    ids=["deny-2-workers", "deny-1-worker", "local-1-worker"],
)
def test_server_reports_a_redis_outage_without_traffic(
    fail_mode: str, workers: str, down_status: int
) -> None:
    with redis_on_free_port() as first:
        port = first.port
        env = {
            "RATE_LIMIT_STORE": "redis",
            "RATE_LIMIT_REDIS_URL": first.url,
            # A killed Redis refuses at once; a generous timeout keeps a loaded machine from
            # tripping the breaker with one slow PING while Redis is up.
            "RATE_LIMIT_REDIS_TIMEOUT": "1",
            "RATE_LIMIT_FAIL_MODE": fail_mode,
            "SERVER_WORKERS": workers,
        }
        with run_server(env, port=0) as server:
            ready = server.base + "/health/ready"
            # Every worker has met Redis: one still starting would find the outage at start-up.
            connected = '"msg":"rate-limit store connected"'
            assert eventually(30, lambda: server.logs().count(connected) == int(workers))
            assert eventually(SEEN_WITHIN, every_worker(server.base, 200))
            assert gauge_of(server.base) == 0.0
            first.kill()
            # Only probes and scrapes from here: exempt from rate limiting, they never ask Redis.
            # Each worker finds it by its own PING: all of them, not the one that happens to
            # take the first probes (the kernel may hand one worker most connections).
            assert eventually(SEEN_WITHIN, every_worker(server.base, down_status, probes=30))
            # ... and it stays so, whichever worker answers (not one worker's chance run).
            assert every_worker(server.base, down_status, probes=30)()
            assert eventually(SEEN_WITHIN, lambda: gauge_of(server.base) == 1.0)
            if fail_mode == "local":
                with urllib.request.urlopen(ready, timeout=5) as response:
                    assert b'"degraded"' in response.read()
            with run_redis(port=port):
                assert eventually(2 * SEEN_WITHIN, every_worker(server.base, 200, probes=30))
                assert every_worker(server.base, 200, probes=30)()
                assert eventually(SEEN_WITHIN, lambda: gauge_of(server.base) == 0.0)
                with urllib.request.urlopen(ready, timeout=5) as response:
                    assert b'"detail":"redis"' in response.read().replace(b" ", b"")
