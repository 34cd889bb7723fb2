"""Streamable HTTP at ``/mcp``: the SDK's stateless JSON transport behind our own middleware.

The endpoint is a plain route of our ASGI app, so request ids, auth, rate limits, metrics, access
logs, tracing, the body limit and the Host/Origin check (DNS-rebinding protection, in
:mod:`devutils.http.middleware.host_origin`) apply to MCP exactly as to REST.  Every request is
rate limited once: a ``tools/call`` that passes every check the SDK makes before our handler
(:func:`~devutils.frontends.mcp_direct.check_call`) by its tool's class (the registry's admission
check, as over REST), anything else (initialize, tools/list, ping, notifications, malformed
bodies, unknown-tool calls, calls the SDK refuses) by the ``mcp`` class
(:attr:`McpHttpEndpoint.protocol_limit`, set when rate limiting is on).  Modern ``tools/call``
requests take the direct path of :mod:`devutils.frontends.mcp_direct`; handshake-era bodies that
are not one JSON-RPC message get our ``-32600`` (:mod:`devutils.frontends.mcp_envelope`), and
a Content-Type REST would refuse gets REST's 415 (:func:`json_content_type`); everything else
goes to the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import TypeAdapter

from devutils.errors import RequestTooLargeError, UnsupportedMediaTypeError
from devutils.frontends.mcp import McpFrontend
from devutils.frontends.mcp_direct import (
    CheckedCall,
    DirectToolCalls,
    check_call,
    is_legacy_route,
    replay,
    request_headers,
    sdk_reads_body,
)
from devutils.frontends.mcp_envelope import envelope_error, invalid_request
from devutils.frontends.rest import check_content_coding, check_media_type
from devutils.http.asgi import (
    MCP_PATH,
    Guard,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    send_bytes,
    state_of,
)
from devutils.json_digits import has_long_digit_run
from devutils.settings import Settings

if TYPE_CHECKING:
    from devutils.http.app import Application

# pydantic's JSON parser, which the SDK's handshake-era transport reads bodies with.
_PYDANTIC_JSON: TypeAdapter[Any] = TypeAdapter(Any)
JSON = b"application/json"  # as the SDK labels its JSON responses
# The body check_media_type is told of (it reads the body only when there is no Content-Type):
# REST lets a POST without a body omit it, and a JSON-RPC POST always has one.
_A_MESSAGE = b"{}"


class McpHttpEndpoint:
    """ASGI endpoint for ``POST /mcp``: the direct path or the SDK's session manager."""

    def __init__(self, frontend: McpFrontend, settings: Settings) -> None:
        self.direct: DirectToolCalls | None = DirectToolCalls(frontend)
        self.tools = frontend.tools
        # Limits requests that are not a tool call (install_rate_limiting sets it).
        self.protocol_limit: Guard | None = None
        self.max_body_bytes = settings.max_body_bytes
        self.manager = StreamableHTTPSessionManager(
            app=frontend.server,
            json_response=True,
            stateless=True,
            # Host/Origin are checked by our middleware for REST and MCP alike (403 for
            # both); the SDK still checks Content-Type, Accept and the protocol headers.
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=settings.max_body_bytes,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = state_of(scope)
        limit = self.protocol_limit
        charged = limit is not None and state is not None
        try:
            # Read here even when the SDK alone will answer: a body that ends early then raises
            # our ClientDisconnected (recorded as 499), not the SDK's own exception (a 500).
            body = await read_body(receive, self.max_body_bytes)
            scope = json_content_type(scope)
        except (RequestTooLargeError, UnsupportedMediaTypeError):
            # Refused before anything is known of the message (a chunked body past the limit,
            # a body that is not JSON), so the mcp class pays for it (a 429 then replaces it).
            if limit is not None and state is not None:
                pending = limit(scope, state)
                if pending is not None:
                    await pending
            raise
        direct = self.direct
        pairs, headers = request_headers(scope)
        legacy = is_legacy_route(headers)
        candidate = direct is not None and direct.candidate(pairs, headers)
        if not charged and not legacy and not candidate:
            await self.manager.handle_request(scope, replay(body, receive), send)
            return
        call, exact = self._checked_call(pairs, headers, body)
        if limit is not None and state is not None and call is None:
            # Not a call that reaches the registry's admission check (which charges the
            # tool's class): the mcp class pays, so every request is charged exactly once.
            pending = limit(scope, state)
            if pending is not None:
                await pending
        if (
            candidate
            and exact
            and call is not None
            and direct is not None
            and direct.usable()
            and direct.serves(call, body)
        ):
            answer = await direct.answer(call, body, state)
            await send_bytes(send, 200, answer, content_type=JSON, scope=scope)
            return
        if legacy and call is None and sdk_reads_body(headers):
            error = envelope_error(body)
            if error is not None:
                # As the SDK answers its own parse errors: 400 and a JSON-RPC error object.
                await send_bytes(send, 400, invalid_request(error), content_type=JSON, scope=scope)
                return
        await self.manager.handle_request(scope, replay(body, receive), send)

    def _checked_call(
        self, pairs: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> tuple[CheckedCall | None, bool]:
        """The call the SDK would hand to our handler, if any, and whether orjson read the body.

        orjson reads some JSON differently from the SDK's parsers (integers past 64 bits become
        floats) or refuses it (lone surrogates, NaN), so such a body is read with the parser the
        SDK will use, or a tool call in it would be charged twice (mcp here, its class at
        admission).  Only an orjson-read call may take the direct path: its handler relies on
        orjson's refusals.
        """
        if not has_long_digit_run(body):
            try:
                return check_call(self.tools, pairs, headers, orjson.loads(body)), True
            except orjson.JSONDecodeError:
                pass
        try:
            # The handshake-era transport parses with pydantic, the 2026-07-28 one with json.
            message = (
                _PYDANTIC_JSON.validate_json(body) if is_legacy_route(headers) else json.loads(body)
            )
        except (ValueError, RecursionError):
            return None, False  # the SDK's parser and its parse error decide
        return check_call(self.tools, pairs, headers, message), False


def json_content_type(scope: Scope) -> Scope:
    """The request as the SDK is to read it, with ``Content-Type: application/json``; refused
    with REST's 415 unless its Content-Type is that, as REST reads it (the media type in any
    case, parameters ignored).

    The SDK's own checks differ by era and from REST's: a prefix match (``application/jsonx``
    passed) with a plain-text 400 at 2026-07-28, a case-sensitive match with a 415 at the
    handshake era.  So the SDK is handed the one value both of its checks accept.  Unlike REST,
    no Content-Type is refused even without a body: every POST here carries a message.
    """
    check_content_coding(header(scope, b"content-encoding"))
    content_type = header(scope, b"content-type")
    if content_type == JSON:
        return scope  # what every SDK client sends: both checks pass it as it is
    check_media_type(content_type, _A_MESSAGE)
    kept = [(key, value) for key, value in scope["headers"] if key != b"content-type"]
    return {**scope, "headers": [*kept, (b"content-type", JSON)]}


def install_mcp(app: Application) -> McpHttpEndpoint:
    """Serve ``/mcp`` from the app's registry and run the SDK's task group in the app lifespan."""
    endpoint = McpHttpEndpoint(McpFrontend(app.registry, app.settings), app.settings)
    # POST only: stateless, there is no session to DELETE, and the SDK would hold a GET open as
    # an SSE stream that never carries anything.  The spec lets a server answer GET with 405.
    app.router.add(MCP_PATH, ("POST",), endpoint)
    # A mounted app's lifespan never runs, so the manager's task group joins ours.
    app.lifespan_hooks.append(lambda: run_in_own_task(endpoint.manager))
    return endpoint


@contextlib.asynccontextmanager
async def run_in_own_task(manager: StreamableHTTPSessionManager) -> AsyncIterator[None]:
    """Run ``manager.run()`` in a task of its own for as long as this context is open.

    The manager holds an anyio task group, whose cancel scope must be left by the task that
    entered it; a lifespan may be entered and left by different tasks (test fixtures do so).
    """
    started = asyncio.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        async with manager.run():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve(), name="mcp-session-manager")
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # re-raise the start-up failure
    try:
        yield
    finally:
        stop.set()
        await task
