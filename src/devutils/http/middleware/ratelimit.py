"""Rate limiting wired into the application: tool calls and the other HTTP routes.

Tool calls (REST and MCP alike) are limited by a registry admission check, so the tool's own class
applies and a refused call costs no parsing.  Every other HTTP route is limited here with the
anonymous/authenticated class, except health checks (probes must never be refused), ``/metrics``
(scraped by Prometheus from inside the cluster, protected by METRICS_REQUIRE_AUTH instead) and
``/mcp`` (its tool calls are limited per tool by the admission check).  This guard runs in the
router after the authentication guard, so the principal is known.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from devutils.http.asgi import Guard, RequestState, Scope
from devutils.observability.metrics import RATE_LIMIT_HITS, RATE_LIMIT_STORE_ERRORS
from devutils.ratelimit.limiter import RateLimiter, identity_of
from devutils.ratelimit.redis_store import RedisStore, make_client
from devutils.registry import Admission, CallInfo, ToolSpec

if TYPE_CHECKING:
    from devutils.http.app import Application

EXEMPT_ROUTES = frozenset({"/health", "/health/live", "/health/ready", "/metrics", "/mcp"})


def tool_call_limiter(limiter: RateLimiter) -> Admission:
    """Admission check for tool calls: each tool's own class, per caller."""
    if limiter.local:
        # The memory store decides at once: no coroutine per call.
        def admit_now(spec: ToolSpec, call: CallInfo) -> None:
            call.response_headers += limiter.admit_local(
                spec.rate_class, call.authenticated, call.principal, call.client_ip
            )

        return admit_now

    async def admit(spec: ToolSpec, call: CallInfo) -> None:
        limit = limiter.limit_for(spec.rate_class, call.authenticated)
        decision = await limiter.check(limit, identity_of(call.principal, call.client_ip))
        call.response_headers += limiter.raw_headers(decision)

    return admit


def http_rate_limit_guard(limiter: RateLimiter) -> Guard:
    """Limits the routes that are not tools (tools are limited per call, by class)."""
    if limiter.local:

        def guard_now(scope: Scope, state: RequestState) -> None:
            if state.tool is not None or state.route in EXEMPT_ROUTES:
                return
            state.extra_headers += limiter.admit_local(
                "default", state.authenticated, state.principal, state.client_ip
            )

        return guard_now

    async def guard(scope: Scope, state: RequestState) -> None:
        if state.tool is not None or state.route in EXEMPT_ROUTES:
            return
        limit = limiter.limit_for("default", state.authenticated)
        decision = await limiter.check(limit, identity_of(state.principal, state.client_ip))
        state.extra_headers += limiter.raw_headers(decision)

    return guard


@contextlib.asynccontextmanager
async def _redis_lifespan(store: RedisStore) -> AsyncIterator[None]:
    await store.start()
    try:
        yield
    finally:
        await store.close()


def install_rate_limiting(app: Application) -> None:
    """Attach the limiter to ``app`` (innermost HTTP layer); nothing when RATE_LIMIT_ENABLED=false."""
    settings = app.settings
    if not settings.rate_limit_enabled:
        return
    redis_store: RedisStore | None = None
    if settings.rate_limit_store == "redis" and settings.rate_limit_redis_url:
        timeout = settings.rate_limit_redis_timeout
        redis_store = RedisStore(make_client(settings.rate_limit_redis_url, timeout), timeout)
    limiter = RateLimiter(settings, redis_store)
    # Series exist from start-up at 0, so rate() over them works before the first refusal.
    for name in limiter.limits:
        RATE_LIMIT_HITS.labels(**{"class": name})
    if redis_store is not None:
        RATE_LIMIT_STORE_ERRORS.labels(store="redis")
    app.registry.admission.append(tool_call_limiter(limiter))
    app.router.guards.append(http_rate_limit_guard(limiter))
    if redis_store is not None:
        store = redis_store
        app.health.checks["rate_limit_store"] = limiter.readiness
        app.lifespan_hooks.append(lambda: _redis_lifespan(store))
