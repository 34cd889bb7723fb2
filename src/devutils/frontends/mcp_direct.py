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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from mcp.shared.inbound import (
    MCP_PROTOCOL_VERSION_HEADER,
    InboundModernRoute,
    classify_inbound_request,
)
from mcp_types import methods as protocol_methods
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError

from devutils.http.asgi import Message, Receive, RequestState, Scope

if TYPE_CHECKING:
    from devutils.frontends.mcp import McpFrontend

TOOLS_CALL = "tools/call"
_ENVELOPE_KEYS = frozenset(("jsonrpc", "id", "method", "params"))
# orjson reads an integer beyond 64 bits as a float where the SDK's json.loads keeps it exact;
# such bodies (and any with a digit run that long, even inside a string) go to the SDK.
_LONG_DIGIT_RUN = re.compile(rb"[0-9]{19}")
_NOT_DIGITS = bytes(byte for byte in range(256) if not 0x30 <= byte <= 0x39)


def _has_long_digit_run(body: bytes) -> bool:
    # Most bodies hold fewer than 19 digits in all, which one C pass tells; the regex search
    # took 1.7 µs on a 150-byte call.
    return len(body.translate(None, _NOT_DIGITS)) >= 19 and bool(_LONG_DIGIT_RUN.search(body))


class DirectToolCalls:
    """Serves modern ``tools/call`` requests for one :class:`McpFrontend`."""

    def __init__(self, frontend: McpFrontend) -> None:
        self.frontend = frontend

    def candidate(self, scope: Scope) -> dict[str, str] | None:
        """The request's headers if it may be a direct call (by its headers); None: the SDK's.

        The SDK routes by the ``MCP-Protocol-Version`` header: handshake-era versions (and no
        header) take its legacy transport.  It refuses a non-JSON ``Content-Type`` and, in
        JSON-response mode, an ``Accept`` without JSON.  A repeated header of any name goes to
        the SDK too, which tells a repeated routing header from a harmless one.
        """
        raw = scope["headers"]
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in raw}
        if len(headers) != len(raw):
            return None
        version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
        if version is None or version in HANDSHAKE_PROTOCOL_VERSIONS:
            return None
        if not headers.get("content-type", "").lower().startswith("application/json"):
            return None
        return headers if _accepts_json(headers.get("accept", "")) else None

    def usable(self) -> bool:
        """False once anything the SDK would add to a call is configured: middleware (the SDK's
        OpenTelemetry span, which the front end removes) or result cache hints."""
        server = self.frontend.server
        return not server.middleware and not server.cache_hints

    async def answer(
        self, headers: dict[str, str], body: bytes, state: RequestState | None
    ) -> bytes | None:
        """The JSON-RPC response body for a well-formed call of a served tool, else None."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None  # the SDK's parser and its parse error decide
        if _has_long_digit_run(body):
            return None
        if type(message) is not dict or not _is_call_envelope(message):
            return None
        verdict = classify_inbound_request(message, headers=headers)
        if not isinstance(verdict, InboundModernRoute):
            return None
        params: dict[str, Any] = message["params"]
        try:
            protocol_methods.validate_client_request(TOOLS_CALL, verdict.protocol_version, params)
        except (ValidationError, KeyError):
            return None
        spec = self.frontend.tools.get(params["name"])
        if spec is None:
            return None  # the SDK's INVALID_PARAMS error, raised by our own handler
        arguments = params.get("arguments")
        result = await self.frontend.call(
            spec, arguments, state, protocol_version=verdict.protocol_version
        )
        return orjson.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result})


@functools.lru_cache(maxsize=256)
def _accepts_json(accept: str) -> bool:
    """Whether an ``Accept`` value admits a JSON response: ``application/json``,
    ``application/*`` or ``*/*`` (RFC 9110 §12.5.1 wildcards; parameters ignored), the rule the
    SDK's transport applies.  Ours rather than the SDK's helper, which is not part of its public
    API.  Cached: clients send the same value every time."""
    media_types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    return not media_types.isdisjoint(("application/json", "application/*", "*/*"))


def _is_call_envelope(message: Mapping[str, Any]) -> bool:
    """A single JSON-RPC 2.0 ``tools/call`` request with an integer or string id, nothing else."""
    return (
        message.keys() <= _ENVELOPE_KEYS
        and message.get("jsonrpc") == "2.0"
        and message.get("method") == TOOLS_CALL
        and type(message.get("id")) in (int, str)
        and type(message.get("params")) is dict
    )


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
