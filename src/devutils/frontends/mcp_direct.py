"""The MCP request agents send most, answered without the SDK's per-request machinery.

A 2026-07-28 ``tools/call`` in JSON-response mode is one JSON-RPC request in and one response
out.  The SDK serves it through Starlette request and response objects, a connection, a session,
a request context, shielded cancel scopes and a validate-and-dump round of the result: about
100 µs per call on our machine, twelve times the REST call it wraps (docs/performance.md).

This module answers exactly that request with the SDK's own protocol checks (its envelope
classifier and its per-version params validation) and the same handler the SDK would call
(:meth:`McpFrontend.call`).  Every other request goes to the SDK unchanged: other methods and
protocol eras, and any request that the SDK's checks or our stricter shape checks question
(those get the SDK's own error answer).  ``tests/frontends/test_mcp_direct.py`` sends the same
requests through both paths and requires the same answers.

The same checks (:func:`check_call`, for both protocol eras) tell the endpoint which requests
reach the registry, whose admission check charges the tool's rate-limit class; every other
request is charged to the ``mcp`` class instead.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.shared.inbound import (
    MCP_PROTOCOL_VERSION_HEADER,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types import DEFAULT_NEGOTIATED_VERSION, CallToolRequestParams
from mcp_types import methods as protocol_methods
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError

from devutils.frontends.mcp import wire_json
from devutils.http.asgi import Message, Receive, RequestState, Scope
from devutils.json_digits import has_long_digit_run

if TYPE_CHECKING:
    from devutils.frontends.mcp import McpFrontend
    from devutils.registry import ToolSpec

TOOLS_CALL = "tools/call"
_ENVELOPE_KEYS = frozenset(("jsonrpc", "id", "method", "params"))


@dataclass(frozen=True, slots=True)
class CheckedCall:
    """A ``tools/call`` of a served tool that passes every check the SDK makes before calling
    our handler, so it reaches the registry (and its rate-limit admission check)."""

    message: dict[str, Any]
    spec: ToolSpec
    protocol_version: str
    modern: bool  # the SDK's per-request (2026-07-28) transport, not the handshake one


def request_headers(scope: Scope) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The header lines, and the first value of each name (what the SDK's readers see)."""
    pairs = [(key.decode("latin-1"), value.decode("latin-1")) for key, value in scope["headers"]]
    first: dict[str, str] = {}
    for name, value in pairs:
        first.setdefault(name, value)
    return pairs, first


def is_legacy_route(headers: Mapping[str, str]) -> bool:
    """Whether the SDK serves this POST with its handshake-era transport: it routes by the
    first ``MCP-Protocol-Version`` header, a handshake version or none."""
    version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
    return version is None or version in HANDSHAKE_PROTOCOL_VERSIONS


def sdk_reads_body(headers: Mapping[str, str]) -> bool:
    """Whether the SDK gets as far as parsing the body: it answers 406 (``Accept`` without
    JSON) before that.  Its Content-Type checks pass: the endpoint refused any other value
    and hands it ``application/json`` (:func:`~devutils.frontends.mcp_http.json_content_type`)."""
    return _accepts_json(headers.get("accept", ""))


def check_call(
    tools: Mapping[str, ToolSpec],
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    message: Any,
) -> CheckedCall | None:
    """The call if the SDK would hand it to our ``tools/call`` handler for a served tool.

    The SDK's own checks, in its order: the transport's header checks, the envelope, the
    era's routing checks (for the per-request era its classifier of envelope and routing
    headers, which refuses a repeated routing header), then the params validation of the
    request's protocol version that its server runner applies in both eras, and its validation
    of the params against our handler's model (stricter in places: a null progress token, a
    ``task`` that is not an object).
    """
    if type(message) is not dict or not _is_tool_call(message, tools):
        return None
    legacy = is_legacy_route(headers)
    if not sdk_reads_body(headers):
        return None
    if legacy:
        version = headers.get(MCP_PROTOCOL_VERSION_HEADER, DEFAULT_NEGOTIATED_VERSION)
    else:
        # ASGI header names are lower case, so a name is repeated only if the first-value map
        # lost a line; the SDK's scan is needed only then.
        if len(pairs) != len(headers) and find_duplicated_routing_header(pairs) is not None:
            return None
        verdict = classify_inbound_request(message, headers=headers)
        if not isinstance(verdict, InboundModernRoute):
            return None
        version = verdict.protocol_version
    params: dict[str, Any] = message["params"]
    try:
        protocol_methods.validate_client_request(TOOLS_CALL, version, params)
        # The model our handler is registered with (devutils.frontends.mcp), as the runner
        # applies it.
        CallToolRequestParams.model_validate(params, by_name=False)
    except (ValidationError, KeyError, ValueError):
        return None
    return CheckedCall(message, tools[params["name"]], version, modern=not legacy)


def _is_tool_call(message: dict[str, Any], tools: Mapping[str, ToolSpec]) -> bool:
    """A JSON-RPC 2.0 ``tools/call`` request of a served tool with object (or no) arguments."""
    params = message.get("params")
    return (
        message.get("jsonrpc") == "2.0"
        and message.get("method") == TOOLS_CALL
        and type(message.get("id")) in (int, str)
        and type(params) is dict
        and type(name := params.get("name")) is str
        and name in tools
        and type(params.get("arguments")) in (dict, type(None))
    )


class DirectToolCalls:
    """Serves modern ``tools/call`` requests for one :class:`McpFrontend`."""

    def __init__(self, frontend: McpFrontend) -> None:
        self.frontend = frontend

    def candidate(self, pairs: list[tuple[str, str]], headers: Mapping[str, str]) -> bool:
        """Whether the request may be a direct call, by its headers; else it is the SDK's.

        The SDK routes by the ``MCP-Protocol-Version`` header: handshake-era versions (and no
        header) take its legacy transport.  In JSON-response mode it refuses an ``Accept``
        without JSON.  A repeated header of any name goes to
        the SDK too, which tells a repeated routing header from a harmless one.
        """
        return (
            len(headers) == len(pairs) and not is_legacy_route(headers) and sdk_reads_body(headers)
        )

    def usable(self) -> bool:
        """False once anything the SDK would add to a call is configured: middleware (the SDK's
        OpenTelemetry span, which the front end removes) or result cache hints."""
        server = self.frontend.server
        return not server.middleware and not server.cache_hints

    async def answer(self, call: CheckedCall, body: bytes, state: RequestState | None) -> bytes:
        """The JSON-RPC response body for a checked modern call (see :meth:`serves`)."""
        message = call.message
        params: dict[str, Any] = message["params"]
        result = await self.frontend.call(
            call.spec, params.get("arguments"), state, protocol_version=call.protocol_version
        )
        return wire_json({"jsonrpc": "2.0", "id": message["id"], "result": result})

    @staticmethod
    def serves(call: CheckedCall, body: bytes) -> bool:
        """Whether a checked call may take the direct path: the per-request era, nothing but
        the envelope's members, and no number our parser might read differently from the
        SDK's (the SDK answers anything else itself)."""
        return (
            call.modern and call.message.keys() <= _ENVELOPE_KEYS and not has_long_digit_run(body)
        )


@functools.lru_cache(maxsize=256)
def _accepts_json(accept: str) -> bool:
    """Whether an ``Accept`` value admits a JSON response: ``application/json``,
    ``application/*`` or ``*/*`` (RFC 9110 §12.5.1 wildcards; parameters ignored), the rule the
    SDK's transport applies.  Ours rather than the SDK's helper, which is not part of its public
    API.  Cached: clients send the same value every time."""
    media_types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    return not media_types.isdisjoint(("application/json", "application/*", "*/*"))


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body once, then defers to the original."""
    pending = True

    async def receive_again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
