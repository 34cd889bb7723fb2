"""GCRA, the bounded memory store, the circuit breaker and bucket identities (no I/O)."""

from __future__ import annotations

import asyncio

import pytest

from devutils.errors import RateLimitError
from devutils.ratelimit.breaker import CircuitBreaker
from devutils.ratelimit.gcra import Limit
from devutils.ratelimit.limiter import RateLimiter, identity_of
from devutils.ratelimit.memory import _SWEEP_PER_INSERT, MemoryStore
from tests.conftest import make_settings


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


ONE_PER_SECOND_BURST_3 = Limit("anonymous", per_minute=60, burst=3)
TWO_PER_SECOND_BURST_1 = Limit("crypto", per_minute=120, burst=1)

# (limit, offsets of each request in seconds, expected admitted, remaining, retry-after, reset-after)
VECTORS = [
    pytest.param(
        ONE_PER_SECOND_BURST_3,
        (0, 0, 0, 0),
        (True, True, True, False),
        (2, 1, 0, 0),
        (0.0, 0.0, 0.0, 1.0),
        (1.0, 2.0, 3.0, 3.0),
        id="burst-then-refuse",
    ),
    pytest.param(
        ONE_PER_SECOND_BURST_3,
        (0, 0, 0, 1.0, 1.0),
        (True, True, True, True, False),
        (2, 1, 0, 0, 0),
        (0.0, 0.0, 0.0, 0.0, 1.0),
        (1.0, 2.0, 3.0, 3.0, 3.0),
        id="one-token-per-interval",
    ),
    pytest.param(
        ONE_PER_SECOND_BURST_3,
        (0, 0, 0, 0.25),
        (True, True, True, False),
        (2, 1, 0, 0),
        (0.0, 0.0, 0.0, 0.75),
        (1.0, 2.0, 3.0, 2.75),
        id="partial-refill-not-enough",
    ),
    pytest.param(
        ONE_PER_SECOND_BURST_3,
        (0, 0, 0, 60, 60, 60, 60),
        (True, True, True, True, True, True, False),
        (2, 1, 0, 2, 1, 0, 0),
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
        (1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 3.0),
        id="idle-key-gets-full-burst",
    ),
    pytest.param(
        TWO_PER_SECOND_BURST_1,
        (0, 0.25, 0.5, 0.5),
        (True, False, True, False),
        (0, 0, 0, 0),
        (0.0, 0.25, 0.0, 0.5),
        (0.5, 0.25, 0.5, 0.5),
        id="burst-1-spacing",
    ),
    pytest.param(
        ONE_PER_SECOND_BURST_3,
        (0, 0, 0, 0, 0, 0, 0.5),
        (True, True, True, False, False, False, False),
        (2, 1, 0, 0, 0, 0, 0),
        (0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5),
        (1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 2.5),
        id="refusals-cost-nothing",
    ),
]


@pytest.mark.parametrize(
    ("limit", "offsets", "admitted", "remaining", "retry_after", "reset_after"), VECTORS
)
def test_gcra_known_answers(
    limit: Limit,
    offsets: tuple[float, ...],
    admitted: tuple[bool, ...],
    remaining: tuple[int, ...],
    retry_after: tuple[float, ...],
    reset_after: tuple[float, ...],
) -> None:
    """Both entries of the memory store: ``check`` (a full decision) and ``admit`` (the hot path,
    GCRA inlined), each on a store of its own.  A refusal by ``admit`` leaves the state as
    ``check`` then finds it, so ``check`` explains the refusal."""
    clock = FakeClock()
    checked = MemoryStore(max_keys=100, clock=clock)
    admitted_store = MemoryStore(max_keys=100, clock=clock)
    start = clock.now
    got = []
    for index, offset in enumerate(offsets):
        clock.now = start + offset
        decision = checked.check("ip:192.0.2.1", limit)
        got.append(decision)
        granted = admitted_store.admit("ip:192.0.2.1", limit)
        if granted is None:
            assert not admitted_store.check("ip:192.0.2.1", limit).allowed
        else:
            assert granted[0] == decision.remaining, index
            assert granted[1] == pytest.approx(decision.reset_after), index
        assert (granted is not None) == decision.allowed
    assert tuple(d.allowed for d in got) == admitted
    assert tuple(d.remaining for d in got) == remaining
    assert tuple(d.retry_after for d in got) == pytest.approx(retry_after)
    assert tuple(d.reset_after for d in got) == pytest.approx(reset_after)


def test_admit_local_refuses_with_retry_after_and_counts_nothing_twice() -> None:
    settings = make_settings(
        rate_limit_enabled=True, rate_limit_crypto_per_minute=60, rate_limit_crypto_burst=2
    )
    clock = FakeClock()
    limiter = RateLimiter(settings, clock=clock, wall_clock=lambda: 5000.25)
    first = limiter.admit_local("crypto", False, None, "192.0.2.9")
    assert first == [
        (b"x-ratelimit-limit", b"60"),
        (b"x-ratelimit-remaining", b"1"),
        (b"x-ratelimit-reset", b"5002"),  # ceil(5000.25 + 1.0)
    ]
    limiter.admit_local("crypto", False, None, "192.0.2.9")
    with pytest.raises(RateLimitError) as refused:
        limiter.admit_local("crypto", False, None, "192.0.2.9")
    assert refused.value.headers["Retry-After"] == "1"
    assert refused.value.headers["X-RateLimit-Remaining"] == "0"
    clock.now += 1.0  # one interval later exactly one more request passes
    assert limiter.admit_local("crypto", False, None, "192.0.2.9")[1] == (
        b"x-ratelimit-remaining",
        b"0",
    )
    with pytest.raises(RateLimitError):
        limiter.admit_local("crypto", False, None, "192.0.2.9")


def _spent_then_refused(clock: FakeClock) -> tuple[RateLimiter, RateLimitError]:
    """A crypto bucket of 4 (one token a second) emptied at t=1000 and refused at t=1000.25."""
    settings = make_settings(
        rate_limit_enabled=True, rate_limit_crypto_per_minute=60, rate_limit_crypto_burst=4
    )
    limiter = RateLimiter(settings, clock=clock)
    for _ in range(4):
        limiter.admit_local("crypto", False, None, "192.0.2.9")
    clock.now += 0.25
    with pytest.raises(RateLimitError) as refused:
        limiter.admit_local("crypto", False, None, "192.0.2.9")
    return limiter, refused.value


def _calls_in_a_row(limiter: RateLimiter, count: int) -> int:
    for admitted in range(count):
        try:
            limiter.admit_local("crypto", False, None, "192.0.2.9")
        except RateLimitError:
            return admitted
    return count


@pytest.mark.parametrize("tokens", [1, 2, 3, 4])
def test_a_refusal_says_when_n_calls_in_a_row_pass(tokens: int) -> None:
    """``wait_for(n)`` of a refusal: from then on n calls in a row pass, a moment earlier the n-th
    is refused; for one call it is the refusal's own Retry-After.  ``retry_needing(n)`` puts it,
    rounded up, in Retry-After (what a pipeline needing n admissions in the class promises)."""
    clock = FakeClock()
    _, error = _spent_then_refused(clock)
    assert error.wait_for is not None
    wait = error.wait_for(tokens)
    assert wait == tokens - 0.25  # the bucket refills a token a second from t=1000
    if tokens == 1:
        assert error.headers["Retry-After"] == "1"  # ceil(0.75), the one-call promise
    error.retry_needing(tokens)
    assert error.headers["Retry-After"] == str(tokens)

    early = FakeClock()
    limiter, _ = _spent_then_refused(early)
    early.now += wait - 0.01
    assert _calls_in_a_row(limiter, tokens) == tokens - 1

    on_time = FakeClock()
    limiter, _ = _spent_then_refused(on_time)
    on_time.now += wait
    assert _calls_in_a_row(limiter, tokens + 1) == tokens


def test_keys_and_classes_are_separate_buckets() -> None:
    store = MemoryStore(max_keys=100, clock=FakeClock())
    for _ in range(3):
        assert store.check("ip:192.0.2.1", ONE_PER_SECOND_BURST_3).allowed
    assert not store.check("ip:192.0.2.1", ONE_PER_SECOND_BURST_3).allowed
    assert store.check("ip:192.0.2.2", ONE_PER_SECOND_BURST_3).allowed
    other_class = Limit("network", per_minute=60, burst=3)
    assert store.check("ip:192.0.2.1", other_class).allowed


async def test_memory_limit_exact_under_concurrency() -> None:
    settings = make_settings(
        rate_limit_enabled=True, rate_limit_anonymous_per_minute=1, rate_limit_anonymous_burst=50
    )
    limiter = RateLimiter(settings, clock=FakeClock())
    limit = limiter.limit_for("default", authenticated=False)

    async def one() -> bool:
        try:
            await limiter.check(limit, "ip:198.51.100.7")
        except RateLimitError:
            return False
        return True

    results = await asyncio.gather(*(one() for _ in range(400)))
    assert results.count(True) == 50


def test_memory_store_never_exceeds_its_bound() -> None:
    clock = FakeClock()
    store = MemoryStore(max_keys=100, clock=clock)
    peak = 0
    for index in range(1000):
        store.check(f"ip:10.0.{index // 256}.{index % 256}", ONE_PER_SECOND_BURST_3)
        peak = max(peak, len(store))
    assert peak == 100
    assert len(store) == 100


def test_memory_store_drops_idle_keys_first() -> None:
    clock = FakeClock()
    store = MemoryStore(max_keys=100, clock=clock)
    for index in range(100):
        store.check(f"ip:idle-{index}", ONE_PER_SECOND_BURST_3)
    clock.now += 10  # every TAT has passed: these keys hold no state any more
    for index in range(10):
        store.check(f"ip:new-{index}", ONE_PER_SECOND_BURST_3)
    assert len(store) == 100 - 10 * _SWEEP_PER_INSERT + 10


def test_memory_store_keeps_recently_used_live_key_under_pressure() -> None:
    clock = FakeClock()
    store = MemoryStore(max_keys=100, clock=clock)
    for _ in range(3):
        store.check("ip:hot", ONE_PER_SECOND_BURST_3)
    for index in range(98):
        store.check(f"ip:cold-{index}", ONE_PER_SECOND_BURST_3)
    assert not store.check("ip:hot", ONE_PER_SECOND_BURST_3).allowed  # touched: now most recent
    for index in range(10):
        store.check(f"ip:extra-{index}", ONE_PER_SECOND_BURST_3)
    assert len(store) == 100
    assert not store.check("ip:hot", ONE_PER_SECOND_BURST_3).allowed  # state survived eviction


@pytest.mark.parametrize(
    ("principal", "client_ip", "expected"),
    [
        pytest.param("key:ab12cd34", "192.0.2.1", "p:key:ab12cd34", id="principal-wins"),
        pytest.param(None, "192.0.2.1", "ip:192.0.2.1", id="ip-when-anonymous"),
        pytest.param("", "2001:db8::1", "ip:2001:db8::1", id="empty-principal-is-anonymous"),
        pytest.param(None, None, "ip:unknown", id="no-address"),
        pytest.param("192.0.2.1", None, "p:192.0.2.1", id="principal-never-shares-ip-bucket"),
    ],
)
def test_identity(principal: str | None, client_ip: str | None, expected: str) -> None:
    assert identity_of(principal, client_ip) == expected


def test_long_identity_is_hashed_to_a_bounded_key() -> None:
    first = identity_of("jwt:" + "a" * 5000, None)
    second = identity_of("jwt:" + "a" * 4999 + "b", None)
    assert first.startswith("h:")
    assert len(first) == 2 + 64
    assert first != second


def test_breaker_opens_backs_off_and_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(base_cooldown=0.2, max_cooldown=1.0, clock=clock)
    assert not breaker.is_open
    assert breaker.retry_in() == 0.0
    assert breaker.failure() is True  # a mode switch
    assert breaker.is_open
    assert breaker.retry_in() == pytest.approx(0.2)
    assert breaker.failure() is False  # already open: only the cooldown grows
    assert breaker.retry_in() == pytest.approx(0.4)
    breaker.failure()
    breaker.failure()
    assert breaker.cooldown == pytest.approx(1.0)  # capped
    clock.now += 5
    assert breaker.retry_in() == 0.0
    assert breaker.success() is True
    assert not breaker.is_open
    assert breaker.success() is False
    breaker.failure()
    assert breaker.retry_in() == pytest.approx(0.2)  # cooldown starts over after recovery
