"""Which limit applies to whom, which store decides, and what happens when the store is down.

Classes: ``default`` tools (and non-tool HTTP routes) get the anonymous or the authenticated limit,
``crypto`` and ``network`` tools their own; ``mcp`` covers MCP protocol calls other than
``tools/call`` (initialize, tools/list, ping ...), and ``auth_failure`` counts failed
authentications per client address.  Each class is a separate bucket per caller.  The caller is
the principal set by authentication, else the client IP; IPv6 addresses are grouped by network
(RATE_LIMIT_IPV6_PREFIX, /64 by default: one subscriber usually holds a whole /64, so per-address
buckets would give it 2^64 bursts).  With Redis down the fail mode
applies: ``local`` decides in this replica's memory store (so N replicas admit up to N times the
limit until Redis is back), ``deny`` refuses with 503 and Retry-After.

With several worker processes, each one's memory store enforces only its share of every limit
(:func:`~devutils.ratelimit.gcra.worker_share`), so the pod admits the configured limit; Redis,
shared by every worker, always applies the full limit.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from devutils.errors import RateLimitError, ServiceUnavailableError
from devutils.observability.metrics import RATE_LIMIT_HITS
from devutils.ratelimit.gcra import Decision, Limit, worker_share
from devutils.ratelimit.memory import MemoryStore
from devutils.ratelimit.redis_store import RedisStore
from devutils.readiness import Readiness
from devutils.settings import Settings
from devutils.workers import WorkerContext, current

# The class of failed authentications (keyed by client address only).
AUTH_FAILURE = "auth_failure"

# RFC 6052: IPv4 addresses embedded in the last 32 bits.
_NAT64_PREFIX = IPv6Network("64:ff9b::/96")

# Identities longer than this are hashed so the memory store's keys stay small.
_MAX_IDENTITY = 64


def limits_from(settings: Settings) -> dict[str, Limit]:
    return {
        "anonymous": Limit(
            "anonymous",
            settings.rate_limit_anonymous_per_minute,
            settings.rate_limit_anonymous_burst,
        ),
        "authenticated": Limit(
            "authenticated",
            settings.rate_limit_authenticated_per_minute,
            settings.rate_limit_authenticated_burst,
        ),
        "crypto": Limit(
            "crypto", settings.rate_limit_crypto_per_minute, settings.rate_limit_crypto_burst
        ),
        "network": Limit(
            "network", settings.rate_limit_network_per_minute, settings.rate_limit_network_burst
        ),
        "mcp": Limit("mcp", settings.rate_limit_mcp_per_minute, settings.rate_limit_mcp_burst),
        AUTH_FAILURE: Limit(
            AUTH_FAILURE,
            settings.rate_limit_auth_failures_per_minute,
            settings.rate_limit_auth_failures_burst,
        ),
    }


@functools.lru_cache(maxsize=4096)
def client_network(address: str, ipv6_prefix: int) -> str:
    """The part of a client address that owns a bucket: IPv4 whole, IPv6 its /``ipv6_prefix``.

    An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) and an address of the NAT64 well-known
    prefix (``64:ff9b::192.0.2.1``) count as their IPv4 address.  Text that is
    no address is returned as it is (it still gets a bucket of its own).
    """
    if ":" not in address:
        return address
    try:
        ip = IPv6Address(address)
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip in _NAT64_PREFIX:
        # An IPv4 client seen through NAT64 or SIIT (RFC 6052's well-known prefix): each IPv4
        # address is its own client, as it would be unwrapped.
        return str(IPv4Address(int(ip) & 0xFFFFFFFF))
    if ipv6_prefix >= 128:
        return str(ip)
    return str(IPv6Network((ip, ipv6_prefix), strict=False))


def identity_of(principal: str | None, client_ip: str | None) -> str:
    """The bucket owner; the prefixes keep a principal from ever sharing an IP's bucket."""
    identity = "p:" + principal if principal else "ip:" + (client_ip or "unknown")
    if len(identity) > _MAX_IDENTITY:
        identity = "h:" + hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    return identity


def seconds_until(decision: Decision, tokens: int) -> float:
    """Seconds from a refused ``decision`` until its bucket holds ``tokens`` tokens.

    GCRA admits ``tokens`` calls in a row once the TAT (now + ``reset_after``) plus their
    intervals runs at most ``tolerance`` ahead of now; for one token this is the decision's
    ``retry_after``.  Both stores report ``reset_after``, and ``decision.limit`` is the limit
    (or worker share) that decided, so this needs no second look at the store.
    """
    limit = decision.limit
    return max(0.0, decision.reset_after + tokens * limit.interval - limit.tolerance)


class RateLimiter:
    def __init__(
        self,
        settings: Settings,
        redis: RedisStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        worker: WorkerContext | None = None,
    ) -> None:
        worker = worker or current()
        configured = limits_from(settings)
        # This worker's shares: what its memory store enforces (all of it without Redis, the
        # fallback with Redis down).
        self.local_limits = {
            name: worker_share(limit, worker.workers, worker.index)
            for name, limit in configured.items()
        }
        self.limits = configured if redis is not None else self.local_limits
        self.memory = MemoryStore(settings.rate_limit_memory_max_keys, clock)
        self.redis = redis
        self.fail_mode = settings.rate_limit_fail_mode
        self.wall_clock = wall_clock
        self.ipv6_prefix = settings.rate_limit_ipv6_prefix
        # Each class's refusal counter, looked up once: labels() per refusal cost a 429 ~1 µs.
        # Created here, the series also exist from start-up at 0, so rate() works at once.
        self.hits = {name: RATE_LIMIT_HITS.labels(**{"class": name}) for name in configured}

    def identity(self, principal: str | None, client_ip: str | None) -> str:
        """:func:`identity_of` with IPv6 client addresses grouped by network."""
        if not principal and client_ip is not None and ":" in client_ip:
            client_ip = client_network(client_ip, self.ipv6_prefix)
        return identity_of(principal, client_ip)

    def limit_for(self, rate_class: str, authenticated: bool) -> Limit:
        if rate_class == "default":
            return self.limits["authenticated" if authenticated else "anonymous"]
        return self.limits[rate_class]

    def deciding_limit(self, rate_class: str, authenticated: bool) -> Limit:
        """The limit a check would apply now: :meth:`limit_for`, or this worker's share while its
        memory store decides for an unreachable Redis (fail mode ``local``)."""
        if self.redis is not None and not self.redis.healthy and self.fail_mode == "local":
            if rate_class == "default":
                rate_class = "authenticated" if authenticated else "anonymous"
            return self.local_limits[rate_class]
        return self.limit_for(rate_class, authenticated)

    @property
    def local(self) -> bool:
        """True when every decision is made in this process (no Redis): :meth:`admit_local`."""
        return self.redis is None

    def admit_local(
        self, rate_class: str, authenticated: bool, principal: str | None, client_ip: str | None
    ) -> list[tuple[bytes, bytes]]:
        """The memory-store path of one call, fused: choose the limit, decide (raising when
        refused) and return the ``X-RateLimit-*`` headers."""
        if rate_class == "default":
            rate_class = "authenticated" if authenticated else "anonymous"
        limit = self.local_limits[rate_class]
        identity = self.identity(principal, client_ip)
        granted = self.memory.admit(identity, limit)
        if granted is None:
            # Refused, state untouched: check() works out the Retry-After and raises (or admits,
            # should the bucket have refilled in between).
            return self.raw_headers(self.check_local(limit, identity))
        remaining, reset_after = granted
        return [
            limit.limit_header,
            (b"x-ratelimit-remaining", b"%d" % remaining),
            (b"x-ratelimit-reset", b"%d" % math.ceil(self.wall_clock() + reset_after)),
        ]

    def auth_failure(self, client_ip: str | None) -> Awaitable[Decision] | None:
        """Charge one failed authentication to the client address; raises (or the awaitable
        raises) :class:`RateLimitError` once the address is over its failure limit.

        Keyed by address only: a failed request has no principal, and a principal must never be
        locked out by failures from elsewhere.
        """
        limit = self.limits[AUTH_FAILURE]
        identity = self.identity(None, client_ip)
        if self.redis is None:
            self.check_local(limit, identity)
            return None
        return self._charge_failure(limit, identity)

    async def _charge_failure(self, limit: Limit, identity: str) -> Decision:
        """:meth:`check` for failed authentications: with Redis unreachable they are counted in
        this replica's memory store whatever the fail mode.  The request is refused either way,
        and ``deny``'s 503 would hide from a misconfigured client that its credential is wrong."""
        assert self.redis is not None
        shared = await self.redis.check(identity, limit)
        if shared is None:
            shared = self.memory.check(identity, self.local_limits[limit.name])
        return self._admitted(shared)

    def check_local(self, limit: Limit, identity: str) -> Decision:
        """Admit or refuse in the memory store; raises :class:`RateLimitError` when refused."""
        return self._admitted(self.memory.check(identity, limit))

    async def check(self, limit: Limit, identity: str) -> Decision:
        """Admit or refuse: returns the decision when admitted, raises when not.

        Raises :class:`RateLimitError` (429) when over the limit and
        :class:`ServiceUnavailableError` (503) when Redis is down and the fail mode is ``deny``.
        """
        if self.redis is None:
            return self.check_local(limit, identity)
        shared = await self.redis.check(identity, limit)
        if shared is None:
            if self.fail_mode == "deny":
                retry = max(1, math.ceil(self.redis.breaker.retry_in()))
                raise ServiceUnavailableError(
                    "Rate limiting temporarily unavailable",
                    "the shared rate-limit store is unreachable; retry shortly",
                    headers={"Retry-After": str(retry)},
                )
            shared = self.memory.check(identity, self.local_limits[limit.name])
        return self._admitted(shared)

    def _admitted(self, decision: Decision) -> Decision:
        if not decision.allowed:
            # Built by another frame: an error held in a local of the frame that raises it is a
            # reference cycle (error, traceback, frame, error) that only the cyclic collector
            # frees, about 50 objects a refusal and a sixth of a 429's CPU under load.
            raise self._refusal(decision)
        return decision

    def _refusal(self, decision: Decision) -> RateLimitError:
        limit = decision.limit
        self.hits[limit.name].inc()
        headers = self.headers(decision)
        headers["Retry-After"] = RateLimitError.retry_after(decision.retry_after)
        error = RateLimitError(
            "Rate limit exceeded",
            f"Limit: {limit.per_minute} requests per minute, burst {limit.burst}",
            headers=headers,
        )
        error.wait_for = functools.partial(seconds_until, decision)
        return error

    def headers(self, decision: Decision) -> dict[str, str]:
        """``X-RateLimit-*`` as the reference documents them: Reset is a Unix time in seconds."""
        return {
            "X-RateLimit-Limit": str(decision.limit.per_minute),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.wall_clock() + decision.reset_after)),
        }

    def raw_headers(self, decision: Decision) -> list[tuple[bytes, bytes]]:
        """:meth:`headers` as ASGI header pairs, for the success path."""
        return [
            decision.limit.limit_header,
            (b"x-ratelimit-remaining", b"%d" % decision.remaining),
            (b"x-ratelimit-reset", b"%d" % math.ceil(self.wall_clock() + decision.reset_after)),
        ]

    def readiness(self) -> tuple[Readiness, str]:
        """Redis down is "degraded" in local fail mode (this replica still limits and serves
        correctly; failing readiness would take every replica out of the Service at once) and
        "down" in deny mode (it refuses limited requests, so traffic should go elsewhere)."""
        if self.redis is None:
            return "ok", "memory"
        if self.redis.healthy:
            return "ok", "redis"
        if self.fail_mode == "local":
            return "degraded", "redis unreachable; local memory limits"
        return "down", "redis unreachable; refusing requests"
