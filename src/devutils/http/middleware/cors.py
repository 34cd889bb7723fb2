"""CORS for browser clients (CORS_ALLOW_ORIGINS; not installed when empty).

Origins match exactly (scheme, host and port, as browsers send them); ``*`` allows any origin.
An allowed origin's preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here
with 204 and never reaches authentication, since browsers send preflights without credentials.
Other requests from an allowed origin get ``Access-Control-Allow-Origin`` and the exposed headers.
A request from any other origin gets no CORS header at all, so the browser blocks it.
No ``Access-Control-Allow-Credentials``: clients authenticate with headers, never cookies.

The Host/Origin check (``host_origin.py``, outside this layer) lets these origins through as well:
CORS_ALLOW_ORIGINS means "may call and read the answers", ALLOWED_ORIGINS only "may call".  Any
other browser origin is refused with 403 before it reaches this layer.
"""

from __future__ import annotations

from devutils.http.asgi import ASGIApp, Receive, Scope, Send, header, state_of

ALLOW_METHODS = b"GET, POST, DELETE, OPTIONS"  # DELETE ends an MCP session
ALLOW_HEADERS = (
    b"Accept, Authorization, Content-Type, Last-Event-ID, MCP-Protocol-Version, "
    b"Mcp-Session-Id, Mcp-Method, X-API-Key, X-Request-ID, traceparent, tracestate"
)
EXPOSE_HEADERS = (
    b"Mcp-Session-Id, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
    b"X-Request-ID, X-Trace-ID"
)
MAX_AGE = b"600"


class CorsMiddleware:
    def __init__(self, app: ASGIApp, allow_origins: tuple[str, ...]) -> None:
        self.app = app
        self.any_origin = "*" in allow_origins
        self.origins = frozenset(
            origin.rstrip("/").lower().encode() for origin in allow_origins if origin != "*"
        )

    def allowed(self, origin: bytes) -> bool:
        return self.any_origin or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = header(scope, b"origin") if scope["type"] == "http" else None
        if origin is None or not self.allowed(origin):
            await self.app(scope, receive, send)
            return
        allow_origin = b"*" if self.any_origin else origin
        if scope["method"] == "OPTIONS" and header(scope, b"access-control-request-method"):
            headers = [
                (b"access-control-allow-origin", allow_origin),
                (b"access-control-allow-methods", ALLOW_METHODS),
                (b"access-control-allow-headers", ALLOW_HEADERS),
                (b"access-control-max-age", MAX_AGE),
                (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        state = state_of(scope)
        if state is not None:
            # Appended by the request-context layer to whatever response is sent, errors included.
            state.extra_headers.extend(
                (
                    (b"access-control-allow-origin", allow_origin),
                    (b"access-control-expose-headers", EXPOSE_HEADERS),
                    (b"vary", b"Origin"),
                )
            )
        await self.app(scope, receive, send)
