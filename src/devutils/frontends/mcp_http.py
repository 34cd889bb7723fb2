"""Streamable HTTP at ``/mcp``: the SDK's stateless JSON transport behind our own middleware.

The endpoint is a plain route of our ASGI app, so request ids, auth, rate limits, metrics, access
logs, tracing, the body limit and the Host/Origin check (DNS-rebinding protection, in
:mod:`devutils.http.middleware.host_origin`) apply to MCP exactly as to REST.  Every request is
rate limited: a ``tools/call`` of a served tool by its tool's class (the registry's admission
check, as over REST), anything else (initialize, tools/list, ping, notifications, malformed or
unknown-tool calls) by the ``mcp`` class (:attr:`McpHttpEndpoint.protocol_limit`, set when rate
limiting is on).  Modern ``tools/call`` requests take the direct path of
:mod:`devutils.frontends.mcp_direct`; everything else goes to the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from devutils.frontends.mcp import McpFrontend
from devutils.frontends.mcp_direct import DirectToolCalls, replay
from devutils.http.asgi import (
    Guard,
    Receive,
    Scope,
    Send,
    read_body,
    send_bytes,
    state_of,
)
from devutils.settings import Settings

if TYPE_CHECKING:
    from devutils.http.app import Application

MCP_PATH = "/mcp"
JSON = b"application/json"  # as the SDK labels its JSON responses


class McpHttpEndpoint:
    """ASGI endpoint for ``POST /mcp``: the direct path or the SDK's session manager."""

    def __init__(self, frontend: McpFrontend, settings: Settings) -> None:
        self.direct: DirectToolCalls | None = DirectToolCalls(frontend)
        self.tool_names = frozenset(frontend.tools)
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
        if self.protocol_limit is not None and (state := state_of(scope)) is not None:
            body = await read_body(receive, self.max_body_bytes)
            receive = replay(body, receive)
            if not self._tool_call(body):
                pending = self.protocol_limit(scope, state)
                if pending is not None:
                    await pending
        direct = self.direct
        if direct is not None and (headers := direct.candidate(scope)) is not None:
            body = await read_body(receive, self.max_body_bytes)
            if direct.usable():
                answer = await direct.answer(headers, body, state_of(scope))
                if answer is not None:
                    await send_bytes(send, 200, answer, content_type=JSON, scope=scope)
                    return
            receive = replay(body, receive)
        await self.manager.handle_request(scope, receive, send)

    def _tool_call(self, body: bytes) -> bool:
        """True for a single JSON-RPC ``tools/call`` that will reach the registry's admission
        check: a served tool, object (or absent) arguments.  Anything else the SDK answers
        without calling a tool, so it pays the ``mcp`` class instead."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        if type(message) is not dict or message.get("method") != "tools/call":
            return False
        params = message.get("params")
        return (
            message.get("jsonrpc") == "2.0"
            and type(message.get("id")) in (int, str)
            and type(params) is dict
            and type(name := params.get("name")) is str
            and name in self.tool_names
            and type(params.get("arguments")) in (dict, type(None))
        )


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
