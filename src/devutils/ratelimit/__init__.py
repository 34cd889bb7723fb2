"""Rate limiting: one algorithm (GCRA), a bounded memory store and a shared Redis store."""

from devutils.ratelimit.gcra import Decision, Limit, gcra
from devutils.ratelimit.limiter import RateLimiter, identity_of, limits_from
from devutils.ratelimit.memory import MemoryStore
from devutils.ratelimit.redis_store import RedisStore, make_client

__all__ = [
    "Decision",
    "Limit",
    "MemoryStore",
    "RateLimiter",
    "RedisStore",
    "gcra",
    "identity_of",
    "limits_from",
    "make_client",
]
