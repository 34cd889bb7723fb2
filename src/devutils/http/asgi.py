"""Small ASGI helpers shared by the router, the endpoints and the middleware.

We serve plain ASGI rather than a framework's Request/Response objects because the per-request
cost decides throughput here (see docs/architecture.md and docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from devutils.errors import RequestTooLargeError, ToolError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Recorder(Protocol):
    """Told the outcome of every HTTP request (metrics, access log): the final status (499 when
    the client left before a response started) and the error code are in ``state``."""

    # Outcomes below this status are of no interest to the recorder (an access log at WARNING
    # wants only 4xx and 5xx), so they need not even be queued for it.
    min_status: int

    def record(
        self, scope: Scope, state: RequestState, status: int, elapsed: float, at: float
    ) -> None:
        """``elapsed``: seconds the request took; ``at``: when it ended (Unix time)."""


# A guard runs before routing for every request (authentication, rate limits): it may annotate
# the request state or raise a ToolError.  Plain functions instead of ASGI layers: each layer
# costs a closure and an extra await per message on every request.  A guard that decides at once
# returns None (no coroutine per request); one that must wait (Redis) returns an awaitable.
Guard = Callable[["Scope", "RequestState"], Awaitable[None] | None]

JSON_CONTENT_TYPE = b"application/json; charset=utf-8"
STATE_KEY = "devutils"
# ASGI extension of our own server (devutils.http.server, declared in scope["extensions"]): header
# lines the application has rendered and guarantees valid, which the server writes unchecked.
# Under any other ASGI server the extension is absent and the plain headers list is used.
# Endpoints put their framing lines there; the request-context layer adds its own and sends.
TRUSTED_HEADERS = "devutils.trusted_headers"
# Key an endpoint sets in its ``http.response.start`` message when the response is a page for a
# browser (the playground, /docs, their files): the request-context layer then sends the page
# security headers (a same-origin CSP) instead of the JSON API's ``default-src 'none'`` set, and
# leaves Cache-Control to the endpoint.
PAGE_RESPONSE = "devutils.page"


@dataclass(slots=True)  # created on every request: slots make it and its reads cheaper
class RequestState:
    """Per-request facts the middleware layers share (kept in ``scope["devutils"]``)."""

    # The request-context layer passes the first seven positionally, in this order: keyword
    # arguments made building the state twice as slow (0.4 against 0.2 µs).
    request_id: str
    route: str  # the route template, or "unmatched": bounded, safe as a metrics label
    tool: Any = None  # the ToolSpec behind the route, if any
    client_ip: str | None = None
    content_length: int = 0  # as declared by the client
    user_agent: bytes | None = None
    # X-API-Key and Authorization headers, in order, picked out by the same pass over the headers
    # that finds the request id, so authentication need not scan them again.  Secret: kept out
    # of repr() so no debug print or log of the state can show them.
    credentials: list[tuple[bytes, bytes]] = field(default_factory=list, repr=False)
    principal: str | None = None  # key fingerprint / JWT sub, never the secret itself
    authenticated: bool = False
    trace_id: str | None = None
    trace_sampled: bool | None = None  # None: no server span decided (tracing off)
    error_code: str | None = None
    status: int = 0  # the response status once it has started
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


# The current request's state, for code that runs inside a request without its scope (the MCP
# SDK's tool handlers).  Set by the request-context middleware.
CURRENT_REQUEST: ContextVar[RequestState | None] = ContextVar("devutils_request", default=None)


def state_of(scope: Scope) -> RequestState | None:
    value = scope.get(STATE_KEY)
    return value if isinstance(value, RequestState) else None


def response_status(scope: Scope) -> int:
    """The status of the response sent so far (0 if none has started)."""
    state = scope.get(STATE_KEY)
    return state.status if isinstance(state, RequestState) else 0


def header(scope: Scope, name: bytes) -> bytes | None:
    """First value of a request header (``name`` in lower case)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def trusted_sender(scope: Scope) -> Send | None:
    """The server's send for response starts with trusted header lines, if it offers one."""
    extensions = scope.get("extensions")
    offer = extensions.get(TRUSTED_HEADERS) if extensions is not None else None
    return offer.get("send") if offer is not None else None


def response_start(
    scope: Scope | None,
    status: int,
    length: int,
    content_type: bytes = JSON_CONTENT_TYPE,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Message:
    """The ``http.response.start`` message of a body of ``length`` bytes.

    ``content_type`` must be one of our constants, never text from a request: where the server
    takes trusted lines it is written unchecked.  The request-context layer sends the message.
    """
    if scope is not None and trusted_sender(scope) is not None:
        lines = b"content-type: %s\r\ncontent-length: %d\r\n" % (content_type, length)
        return {
            "type": "http.response.start",
            "status": status,
            "headers": headers or [],
            TRUSTED_HEADERS: lines,
        }
    raw_headers = [(b"content-type", content_type), (b"content-length", b"%d" % length)]
    if headers:
        raw_headers.extend(headers)
    return {"type": "http.response.start", "status": status, "headers": raw_headers}


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON_CONTENT_TYPE,
    headers: list[tuple[bytes, bytes]] | None = None,
    scope: Scope | None = None,
) -> None:
    await send(response_start(scope, status, len(body), content_type, headers))
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send,
    status: int,
    payload: Any,
    headers: list[tuple[bytes, bytes]] | None = None,
    scope: Scope | None = None,
) -> None:
    await send_bytes(send, status, orjson.dumps(payload), headers=headers, scope=scope)


# The MCP endpoint: its HTTP-level refusals are JSON-RPC errors, not the REST envelope.
MCP_PATH = "/mcp"
JSONRPC_INVALID_REQUEST = -32600  # the transport refuses before any protocol work


def mcp_refusal(error: ToolError) -> bytes:
    """A refusal of a whole ``/mcp`` request (400, 401, 403, 405, 413, 429, 503) as a JSON-RPC
    error without an id, as the MCP transport allows and the SDK answers its own: the SDK
    clients surface it as the request's error (the Python one reduced a REST envelope to "Server
    returned an error response").  ``data`` is the REST error object, for programs."""
    message = error.message
    if error.details and error.status != 403:  # a 403 names no configuration, as the SDK's
        message = f"{message}: {error.details}"
    payload = {"code": JSONRPC_INVALID_REQUEST, "message": message, "data": error.to_dict()}
    return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": payload})


async def send_error(send: Send, error: ToolError, scope: Scope | None = None) -> None:
    state = state_of(scope) if scope is not None else None
    if state is not None:
        state.error_code = error.code
    headers = [(key.lower().encode(), value.encode()) for key, value in error.headers.items()]
    if state is not None and state.route == MCP_PATH:
        body = mcp_refusal(error)
    else:
        body = orjson.dumps(error.envelope())
    # send_bytes inlined: refusals (401, 429) take this path and should cost little.
    await send(response_start(scope, error.status, len(body), headers=headers))
    await send({"type": "http.response.body", "body": body})


# Our server's note in an ``http.disconnect`` message when it answered the request itself while
# the application was reading its body (a malformed chunk, a body timeout): the answer's
# ``(status, error code)``, so the request is recorded as what the client got.
SERVER_ANSWER = "devutils.server_answer"


class ClientDisconnected(Exception):
    """The request ended before its whole body arrived: the client went away, its body timed
    out, or the server refused the rest of it (a malformed chunk; the server answered itself).
    Nothing may act on the part that came, so it is raised rather than returned.

    ``answered`` is the server's own answer, ``(status, error code)``, when it gave one."""

    def __init__(self, answered: tuple[int, str] | None = None) -> None:
        super().__init__()
        self.answered = answered


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes with 413; raises
    :class:`ClientDisconnected` when the request ends before the body does."""
    message = await receive()
    if not message.get("more_body", False) and message["type"] == "http.request":
        body: bytes = message.get("body", b"")  # the usual case: all of it in one message
        if len(body) > limit:
            raise _too_large(limit)
        return body
    return await _read_chunks(message, receive, limit)


async def _read_chunks(message: Message, receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise ClientDisconnected(message.get(SERVER_ANSWER))
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
        message = await receive()
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError("Request body too large", f"Maximum allowed size is {limit} bytes")
