"""Rate limiting wired into the application: tool calls and the other HTTP routes.

Tool calls (REST and MCP alike) are limited by a registry admission check, so the tool's own class
applies and a refused call costs no parsing.  Every other HTTP route is limited here with the
anonymous/authenticated class, except health checks (probes must never be refused), ``/metrics``
(scraped by Prometheus from inside the cluster, protected by METRICS_REQUIRE_AUTH instead) and
``/mcp``: the MCP endpoint limits its own requests once it knows the JSON-RPC method, a
``tools/call`` that reaches a served tool by the tool's class (the admission check) and every
other request (initialize, tools/list, ping, malformed bodies, calls the SDK refuses ...) by the
``mcp`` class.  This guard runs in the
router after the authentication guard, so the principal is known.

Failed authentications are charged to the client address in the ``auth_failure`` class by the
authentication guard (:func:`auth_failure_throttle`): past that limit a failure is answered 429
instead of 401.  A correct credential from the same address still passes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import TYPE_CHECKING

from devutils.errors import ValidationError
from devutils.http.asgi import MCP_PATH, Guard, RequestState, Scope
from devutils.observability.metrics import RATE_LIMIT_STORE_ERRORS
from devutils.ratelimit.limiter import RateLimiter
from devutils.ratelimit.redis_store import RedisStore, make_client
from devutils.registry import Admission, CallInfo, PlanCheck, ToolSpec

if TYPE_CHECKING:
    from devutils.frontends.mcp_http import McpHttpEndpoint
    from devutils.http.app import Application
    from devutils.http.middleware.auth import FailureThrottle
    from devutils.http.router import Router

EXEMPT_ROUTES = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})


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
        decision = await limiter.check(limit, limiter.identity(call.principal, call.client_ip))
        call.response_headers += limiter.raw_headers(decision)

    return admit


def composite_plan_limiter(limiter: RateLimiter) -> PlanCheck:
    """A composite (the pipeline) whose admissions in one class, its own and its steps', exceed
    the caller's burst in that class could never pass: every retry would spend the bucket on
    the first steps and be refused again.  So it is refused before any step, spending nothing,
    with a 400 and no Retry-After: the request must change (be split), waiting cannot help.
    A 429 with Retry-After would be a false promise, and a 413 reads as a body size."""

    def check(spec: ToolSpec, needs: Mapping[str, int], call: CallInfo) -> None:
        for rate_class, count in needs.items():
            # What decides now: with Redis down (fail mode local), this worker's share.
            burst = limiter.deciding_limit(rate_class, call.authenticated).burst
            if count > burst:
                whose = "itself and its steps" if rate_class == spec.rate_class else "its steps"
                raise ValidationError(
                    "Pipeline exceeds your rate limit",
                    f"the {spec.name} needs {count} calls of rate class {rate_class} at once "
                    f"({whose}); your burst in that class is {burst}, so it can never pass: "
                    "split it into smaller ones",
                )

    return check


def http_rate_limit_guard(
    limiter: RateLimiter, router: Router, exempt: frozenset[str] = EXEMPT_ROUTES
) -> Guard:
    """Limits the routes that are not tools (tools are limited per call, by class), except
    ``exempt``: EXEMPT_ROUTES plus the public page files (the playground's, fixed bytes served
    from memory, cheaper than a health check; the API calls the page makes are limited).

    Tool routes and ``/mcp`` charge a request once it reaches their endpoint (the tool's class,
    or ``mcp``).  One the router refuses before that, a method the route does not serve (405) or
    a declared body over the limit (413), is charged here like any other route's request, or
    such refusals would be free to repeat without end.
    """
    max_body = router.max_body_bytes
    routes = router.routes

    def charged_here(scope: Scope, state: RequestState) -> bool:
        if state.tool is None and state.route != MCP_PATH:
            return state.route not in exempt
        route = routes.get(state.route)
        return (
            route is None
            or scope["method"] not in route.endpoints
            or state.content_length > max_body
        )

    if limiter.local:

        def guard_now(scope: Scope, state: RequestState) -> None:
            if not charged_here(scope, state):
                return
            state.extra_headers += limiter.admit_local(
                "default", state.authenticated, state.principal, state.client_ip
            )

        return guard_now

    async def guard(scope: Scope, state: RequestState) -> None:
        if not charged_here(scope, state):
            return
        limit = limiter.limit_for("default", state.authenticated)
        decision = await limiter.check(limit, limiter.identity(state.principal, state.client_ip))
        state.extra_headers += limiter.raw_headers(decision)

    return guard


def mcp_protocol_limiter(limiter: RateLimiter) -> Guard:
    """The ``mcp`` class, for /mcp requests that are not a tool call (the endpoint decides)."""
    if limiter.local:

        def admit_now(scope: Scope, state: RequestState) -> None:
            state.extra_headers += limiter.admit_local(
                "mcp", state.authenticated, state.principal, state.client_ip
            )

        return admit_now

    async def admit(scope: Scope, state: RequestState) -> None:
        limit = limiter.limits["mcp"]
        decision = await limiter.check(limit, limiter.identity(state.principal, state.client_ip))
        state.extra_headers += limiter.raw_headers(decision)

    return admit


def auth_failure_throttle(limiter: RateLimiter) -> FailureThrottle:
    """Charge a failed authentication to its address; over the limit, 429 replaces the 401."""

    def throttle(state: RequestState) -> Awaitable[object] | None:
        return limiter.auth_failure(state.client_ip)  # raises at once in the memory store

    return throttle


@contextlib.asynccontextmanager
async def _redis_lifespan(store: RedisStore) -> AsyncIterator[None]:
    await store.start()
    try:
        yield
    finally:
        await store.close()


def install_rate_limiting(
    app: Application, mcp: McpHttpEndpoint | None = None
) -> FailureThrottle | None:
    """Attach the limiter to ``app`` (innermost HTTP layer) and to the MCP endpoint; nothing when
    RATE_LIMIT_ENABLED=false.  Returns the throttle for failed authentications, which the
    authentication guard (installed later) applies."""
    settings = app.settings
    if not settings.rate_limit_enabled:
        return None
    redis_store: RedisStore | None = None
    if settings.rate_limit_store == "redis" and settings.rate_limit_redis_url:
        timeout = settings.rate_limit_redis_timeout
        redis_store = RedisStore(make_client(settings.rate_limit_redis_url, timeout), timeout)
    limiter = RateLimiter(settings, redis_store)  # rate_limit_hits_total series exist at 0
    if redis_store is not None:
        RATE_LIMIT_STORE_ERRORS.labels(store="redis")
    app.registry.admission.append(tool_call_limiter(limiter))
    app.registry.plan_checks.append(composite_plan_limiter(limiter))
    app.router.guards.append(
        http_rate_limit_guard(limiter, app.router, EXEMPT_ROUTES | app.public_routes)
    )
    if mcp is not None:
        mcp.protocol_limit = mcp_protocol_limiter(limiter)
    if redis_store is not None:
        store = redis_store
        app.health.checks["rate_limit_store"] = limiter.readiness
        app.lifespan_hooks.append(lambda: _redis_lifespan(store))
    return auth_failure_throttle(limiter)
