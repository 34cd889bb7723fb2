"""Build the ASGI application: routes from the registry, then the middleware stack.

Order, outermost first: request context (id, route, client IP, security headers, error envelope;
it hands every outcome to the recorders: metrics, access log) → Host/Origin check → [CORS →
tracing: production middleware] → router, which first runs its
guards (authentication, then rate limits for non-tool routes), then the endpoint (REST, /metrics,
/openapi.json, /mcp).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import orjson

from devutils.frontends.openapi import build_openapi
from devutils.frontends.rest import Health, add_rest_routes
from devutils.http.asgi import ASGIApp, Receive, Recorder, Scope, Send, send_bytes
from devutils.http.middleware.host_origin import HostOriginGuard, HostOriginMiddleware
from devutils.http.middleware.request_context import RequestContextMiddleware
from devutils.http.router import Router
from devutils.registry import Registry
from devutils.settings import Settings

GC_YOUNG_THRESHOLD = 10_000

log = logging.getLogger("devutils.app")

LifespanHook = Callable[[], AbstractAsyncContextManager[None]]


class Application:
    """The ASGI callable plus what the server and tests need to reach: health, registry, hooks."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.router = Router(settings.max_body_bytes)
        self.health = Health()
        self.lifespan_hooks: list[LifespanHook] = []
        # Told every request's outcome (metrics, access log); complete once create_app returns.
        self.recorders: list[Recorder] = []
        # Routes served to anyone (no credential, no HTTP rate limit): the playground's pages.
        self.public_routes: frozenset[str] = frozenset()
        add_rest_routes(self.router, registry, self.health, settings.max_body_bytes)
        openapi_body = orjson.dumps(build_openapi(registry, settings))

        async def openapi(scope: Scope, receive: Receive, send: Send) -> None:
            await send_bytes(send, 200, openapi_body, scope=scope)

        self.router.add("/openapi.json", ("GET",), openapi)
        self.asgi: ASGIApp = self.router

    def wrap(self, factory: Callable[[ASGIApp], ASGIApp]) -> None:
        """Add a middleware layer outside the current stack (call innermost first)."""
        self.asgi = factory(self.asgi)

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for hook in self.lifespan_hooks:
                await stack.enter_async_context(hook())
            yield

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Returns the inner layer's awaitable instead of awaiting it: one coroutine fewer per
        # request.  Our server always calls ASGI 3 style; others may need telling.
        if scope["type"] == "lifespan":
            return self._lifespan(receive, send)
        return self.asgi(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        started = False
        try:
            async with self.lifespan():
                # Everything built at start-up (modules, schemas, the registry) lives as long as
                # the process: moving it out of the collector's generations keeps full collections
                # from scanning it, which otherwise stalls requests for tens of milliseconds.
                gc.collect()
                gc.freeze()
                # Every request leaves a few container objects alive until its batch of
                # metrics and access lines is applied; with 64 requests in flight that crossed
                # the default 700-allocation threshold about once per batch, and the young
                # collections cost ~1 µs per request under load.  They almost all die by
                # reference counting, so a higher threshold means almost no collections.
                gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()  # lifespan.shutdown
                self.health.draining = True
        except Exception as exc:
            log.exception("start-up failed" if not started else "shutdown failed")
            kind = "lifespan.shutdown.failed" if started else "lifespan.startup.failed"
            await send({"type": kind, "message": type(exc).__name__})
            return
        await send({"type": "lifespan.shutdown.complete"})


def create_app(settings: Settings, registry: Registry | None = None) -> Application:
    registry = registry or Registry.default(settings)
    app = Application(settings, registry)
    app.lifespan_hooks.append(registry.lifespan)  # pool processes stop with the server
    # Production middleware (auth, rate limits, metrics, logs, tracing, CORS) and the MCP endpoint
    # are installed here by their own modules; see devutils.http.stack.
    from devutils.http.stack import install

    install(app)
    guard = HostOriginGuard(
        settings.effective_allowed_hosts,
        settings.effective_allowed_origins,
        settings.cors_allow_origins,
    )
    app.wrap(lambda inner: HostOriginMiddleware(inner, guard))
    app.wrap(
        lambda inner: RequestContextMiddleware(
            inner, app.router, settings.max_body_bytes, settings.trusted_proxies, app.recorders
        )
    )
    return app
