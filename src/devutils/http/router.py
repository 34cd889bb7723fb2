"""Exact-path routing with 404, 405 + Allow, and Gin-style trailing-slash redirects.

A route with a GET endpoint answers HEAD with it (RFC 9110 §9.3.2): the same status and headers,
the body dropped by the server.  It is registered as a method of its own, so dispatch stays one
lookup and ``Allow`` lists it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field

from devutils.errors import MethodNotAllowedError, NotFoundError, RequestTooLargeError
from devutils.http.asgi import (
    ASGIApp,
    Guard,
    Receive,
    RequestState,
    Scope,
    Send,
    send_bytes,
    send_error,
    state_of,
)

UNMATCHED = "unmatched"


@dataclass
class Route:
    path: str
    endpoints: dict[str, ASGIApp] = field(default_factory=dict)
    tool: object = None  # the ToolSpec served here, if any

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.endpoints))


class Router:
    def __init__(self, max_body_bytes: int) -> None:
        self.routes: dict[str, Route] = {}
        self.max_body_bytes = max_body_bytes
        self.guards: list[Guard] = []  # run in order before routing (auth, then rate limits)

    def add(
        self, path: str, methods: tuple[str, ...], endpoint: ASGIApp, tool: object = None
    ) -> None:
        route = self.routes.setdefault(path, Route(path))
        for method in methods:
            if method in route.endpoints:
                raise ValueError(f"route declared twice: {method} {path}")
            route.endpoints[method] = endpoint
        if "GET" in methods:
            route.endpoints.setdefault("HEAD", endpoint)
        if tool is not None:
            route.tool = tool

    def resolve(self, path: str) -> Route | None:
        return self.routes.get(path)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function returning the endpoint's awaitable: one coroutine fewer per request.
        # Exceptions raised here (guards, 413) reach the caller's ``await`` like any other.
        state = state_of(scope)
        if state is not None:
            for index, guard in enumerate(self.guards):
                pending = guard(scope, state)
                if pending is not None:
                    return self._after_guard(pending, index + 1, state, scope, receive, send)
        return self._dispatch(state, scope, receive, send)

    async def _after_guard(
        self,
        pending: Awaitable[None],
        following: int,
        state: RequestState,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        await pending
        for guard in self.guards[following:]:
            more = guard(scope, state)
            if more is not None:
                await more
        await self._dispatch(state, scope, receive, send)

    def _dispatch(
        self, state: RequestState | None, scope: Scope, receive: Receive, send: Send
    ) -> Awaitable[None]:
        route = (
            self.routes.get(scope["path"]) if state is None or state.route != UNMATCHED else None
        )
        if route is None:
            path = scope["path"]
            if len(path) > 1 and path.endswith("/") and path.rstrip("/") in self.routes:
                # Gin redirects a trailing slash (301 for GET, 307 otherwise); clients rely on it.
                location = path.rstrip("/").encode()
                if scope.get("query_string"):
                    location += b"?" + scope["query_string"]
                status = 301 if scope["method"] in ("GET", "HEAD") else 307
                return send_bytes(send, status, b"", headers=[(b"location", location)], scope=scope)
            return send_error(
                send,
                NotFoundError("Endpoint not found", "The requested endpoint does not exist"),
                scope,
            )
        if state is not None and state.content_length > self.max_body_bytes:
            # Checked here, inside every middleware layer, so the 413 is logged and counted, and
            # before any endpoint (REST or the MCP SDK) reads a byte.
            limit = self.max_body_bytes
            raise RequestTooLargeError(
                "Request body too large", f"Maximum allowed size is {limit} bytes"
            )
        endpoint = route.endpoints.get(scope["method"])
        if endpoint is None:
            error = MethodNotAllowedError(
                "Method not allowed",
                f"Allowed methods: {route.allow}",
                headers={"Allow": route.allow},
            )
            return send_error(send, error, scope)
        return endpoint(scope, receive, send)
