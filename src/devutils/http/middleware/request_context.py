"""Outermost layer: request id, route resolution, client IP, security headers, error envelope.

Every response leaves through here, so every response gets ``X-Request-ID`` and the security
headers, and no exception becomes a bare 500 page or a traceback.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Sequence
from random import getrandbits

from devutils.errors import InternalError, RequestTooLargeError, ToolError
from devutils.http.asgi import (
    CURRENT_REQUEST,
    PAGE_RESPONSE,
    STATE_KEY,
    TRUSTED_HEADERS,
    ASGIApp,
    ClientDisconnected,
    Message,
    Receive,
    Recorder,
    RequestState,
    Scope,
    Send,
    send_error,
    trusted_sender,
)
from devutils.http.router import UNMATCHED, Router

log = logging.getLogger("devutils.http")

_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")

# The OWASP REST Security Cheat Sheet's set for JSON APIs.  Browser-page headers (Referrer-Policy,
# Permissions-Policy, CORP) are left out: every header costs the server ~1 µs per response.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
)
# The same, rendered once for servers that take pre-rendered header lines (our own server).
SECURITY_LINES = b"".join(b"%s: %s\r\n" % pair for pair in SECURITY_HEADERS)
# Pages for people (the playground, /docs; responses marked PAGE_RESPONSE): scripts, styles,
# fetches and images from this origin only (data: images for the favicon), no inline script, no
# plugins, never framed.  Cache-Control comes from the endpoint (ETag revalidation).
PAGE_CSP = (
    b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    b"form-action 'none'; frame-ancestors 'none'"
)
PAGE_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", PAGE_CSP),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
)
PAGE_SECURITY_LINES = b"".join(b"%s: %s\r\n" % pair for pair in PAGE_SECURITY_HEADERS)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(scope: Scope, trusted: tuple[Network, ...]) -> str | None:
    """The peer address; ``X-Forwarded-For`` only counts when the peer is a trusted proxy.

    Walk the chain from the right and stop at the first address that is not a trusted proxy, so a
    client cannot prepend a forged address.  A hop that is not an IP address (``unknown``,
    ``_hidden``, garbage) also stops the walk: the trusted proxy that wrote it could not name its
    peer, so everything to its left is the client's own say; the last trusted hop is the client
    address then.  A port on a hop (``192.0.2.1:5678``, ``[2001:db8::1]:443``) is dropped, and
    addresses are returned in canonical form so one client is one rate-limit bucket.
    """
    peer = scope.get("client")
    address: str | None = peer[0] if peer else None
    if not trusted or address is None:
        return address
    forwarded = [
        item.strip()
        for value in (v for k, v in scope.get("headers", ()) if k == b"x-forwarded-for")
        for item in value.decode("latin-1").split(",")
        if item.strip()
    ]
    candidate = address
    chain = [*forwarded]
    while _is_trusted(candidate, trusted) and chain:
        hop = _forwarded_address(chain.pop())
        if hop is None:
            break
        candidate = hop
    return candidate


def _forwarded_address(text: str) -> str | None:
    """The canonical address of one X-Forwarded-For hop, or None when it is not an address."""
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _peer(scope: Scope) -> str | None:
    peer = scope.get("client")
    return peer[0] if peer else None


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        router: Router,
        max_body_bytes: int,
        trusted_proxies: tuple[str, ...],
        recorders: Sequence[Recorder] = (),
    ) -> None:
        self.app = app
        self.router = router
        # Metrics and the access log: told every request's outcome here, where the final status
        # and error code are known, instead of each wrapping the request in a layer of its own.
        self.recorders = recorders
        # No recorder wants outcomes below this status (e.g. only an access log at WARNING).
        self.record_from = min((recorder.min_status for recorder in recorders), default=1000)
        self.max_body_bytes = max_body_bytes
        self.trusted = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        incoming = length = agent = None
        chunked = False
        credentials = []
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = incoming or value
            elif key == b"content-length":
                length = value
            elif key == b"user-agent":
                agent = agent or value
            elif key == b"x-api-key" or key == b"authorization":
                credentials.append((key, value))
            elif key == b"transfer-encoding":
                chunked = True
        # 128 random bits as hex: as unique as a UUIDv4.  Correlation ids are not secrets, so the
        # process PRNG (as the OpenTelemetry SDK uses for its ids) rather than a getrandom()
        # system call per request.
        request_id = (
            incoming.decode("ascii")
            if incoming is not None and _REQUEST_ID.fullmatch(incoming)
            else getrandbits(128).to_bytes(16).hex()
        )
        route = self.router.routes.get(scope["path"])
        state = RequestState(
            request_id,
            route.path if route is not None else UNMATCHED,
            route.tool if route is not None else None,
            client_ip(scope, self.trusted) if self.trusted else _peer(scope),
            int(length) if length is not None and length.isdigit() else 0,
            agent,
            credentials,
        )
        scope[STATE_KEY] = state
        CURRENT_REQUEST.set(state)
        extra = state.extra_headers
        trusted_send = trusted_sender(scope)

        def send_wrapper(message: Message) -> Awaitable[None]:
            # Plain function returning the server's awaitable: no coroutine of its own.
            if message["type"] == "http.response.start":
                state.status = message["status"]
                if trusted_send is not None:
                    # The request id matched _REQUEST_ID or is hex, the rest are constants: the
                    # server need not check them again.  Extra headers still get checked.
                    message[TRUSTED_HEADERS] = b"%sx-request-id: %s\r\n%s" % (
                        message.get(TRUSTED_HEADERS, b""),
                        request_id.encode(),
                        SECURITY_LINES if PAGE_RESPONSE not in message else PAGE_SECURITY_LINES,
                    )
                    if extra:
                        message["headers"] = [*message.get("headers", ()), *extra]
                    return trusted_send(message)
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                headers += (
                    SECURITY_HEADERS if PAGE_RESPONSE not in message else PAGE_SECURITY_HEADERS
                )
                if extra:
                    headers += extra
                message["headers"] = headers
            return send(message)

        try:
            # With a Content-Length the server frames the body to exactly that many bytes and the
            # router refuses one over the limit; with neither that nor Transfer-Encoding there is
            # no body (RFC 9112 §6.3).  So only chunked bodies need counting.
            body_receive = self._limited(receive) if chunked else receive
            await self.app(scope, body_receive, send_wrapper)
        except ToolError as exc:
            if state.status:
                state.error_code = exc.code
                raise
            await send_error(send_wrapper, exc, scope)
        except ClientDisconnected as exc:
            # Nobody to answer: recorded below as 499.  Or the server answered itself (a
            # malformed chunk, a body timeout): recorded as that answer.
            if exc.answered is not None and not state.status:
                state.status, state.error_code = exc.answered
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id, "route": state.route})
            if state.status:
                state.error_code = "INTERNAL_ERROR"
                raise
            await send_error(
                send_wrapper,
                InternalError("Internal server error", "An unexpected error occurred"),
                scope,
            )
        finally:
            # A response that never started (client gone) is recorded as 499, nginx's code.
            status = state.status or 499
            if status >= self.record_from:
                elapsed = time.perf_counter() - began
                at = time.time()
                for recorder in self.recorders:
                    recorder.record(scope, state, status, elapsed, at)

    def _limited(self, receive: Receive) -> Receive:
        """Count body bytes as they arrive, whoever reads them (REST, the MCP SDK); a declared
        Content-Length over the limit is refused by the router before anything is read."""
        limit = self.max_body_bytes
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise RequestTooLargeError(
                        "Request body too large", f"Maximum allowed size is {limit} bytes"
                    )
            return message

        return limited
