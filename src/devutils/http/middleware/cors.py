"""CORS for browser clients (CORS_ALLOW_ORIGINS; not installed when empty).

Entries are read as ALLOWED_ORIGINS entries are (``host_patterns.parse_origin_pattern``: scheme,
host and port, ``*.`` for leading labels, a scheme's default port the same as none); ``*`` allows
any origin.  So an origin the Host/Origin check lets through as a CORS origin gets its CORS answers.
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
from devutils.http.host_patterns import parse_origin_pattern

ALLOW_METHODS = b"GET, POST, DELETE, OPTIONS"  # DELETE ends an MCP session
# Every header the MCP SDK clients (Python and TypeScript) send at the 2025 and 2026-07-28
# revisions: a 2026-07-28 call carries Mcp-Method, and Mcp-Name for tools/call, and the server
# refuses the call without them, so a preflight that left one out blocked every browser call.
# Cache-Control: the Python client's SSE GET (answered 405, which a blocked preflight would hide).
ALLOW_HEADERS = (
    b"Accept, Authorization, Cache-Control, Content-Type, Last-Event-ID, MCP-Protocol-Version, "
    b"Mcp-Session-Id, Mcp-Method, Mcp-Name, X-API-Key, X-Request-ID, traceparent, tracestate"
)
# WWW-Authenticate: the SDK clients read it from a 401 to start their auth flow.
EXPOSE_HEADERS = (
    b"Mcp-Session-Id, Retry-After, WWW-Authenticate, X-RateLimit-Limit, X-RateLimit-Remaining, "
    b"X-RateLimit-Reset, X-Request-ID, X-Trace-ID"
)
MAX_AGE = b"600"


class CorsMiddleware:
    def __init__(self, app: ASGIApp, allow_origins: tuple[str, ...]) -> None:
        self.app = app
        self.any_origin = "*" in allow_origins
        self.patterns = tuple(
            parse_origin_pattern(origin) for origin in allow_origins if origin != "*"
        )

    def allowed(self, origin: bytes) -> bool:
        if self.any_origin:
            return True
        text = origin.decode("latin-1")
        return any(pattern.matches(text) for pattern in self.patterns)

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
