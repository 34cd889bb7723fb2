"""Invalid Request (-32600) for malformed JSON-RPC bodies on the SDK's handshake-era transport.

The SDK's 2026-07-28 transport answers a body that is not one JSON-RPC message with ``-32600``
and a short message.  Its handshake-era (2025) transport does not: a batch or a ``"jsonrpc":
"1.0"`` body gets ``-32602`` with pydantic's whole validation report (input included) as the
message, and a request whose ``id`` is an array, object, boolean, float or null is taken for a
notification and gets ``202`` with no answer at all.  :func:`envelope_error` says what that
transport would refuse, so the endpoint answers it as JSON-RPC 2.0 §5.1 says, before the SDK.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from mcp_types import INVALID_REQUEST, jsonrpc_message_adapter
from pydantic import ValidationError

BATCH = "Batch requests are not supported: send one JSON-RPC message per request"
BAD_ID = "Invalid request id: it must be a string or an integer"
# The SDK's own wording on its 2026-07-28 transport.
NOT_A_MESSAGE = "Body must be a single JSON-RPC request or notification object"


def envelope_error(body: bytes) -> str | None:
    """The Invalid Request message for a body the handshake-era transport would mishandle.

    None for a valid message, and for a body that is not JSON at all (the SDK's own parse
    error, ``-32700``, is right).  The stdlib parser reads numbers as the SDK's does: an id
    beyond 64 bits stays an integer.
    """
    try:
        decoded: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return message_error(decoded)


def message_error(decoded: Any) -> str | None:
    """:func:`envelope_error` of a body already parsed: None for one JSON-RPC message."""
    if type(decoded) is list:
        return BATCH
    if (
        type(decoded) is dict
        and "method" in decoded
        and "id" in decoded
        and type(decoded["id"]) not in (int, str)  # JSON-RPC allows null; MCP does not
    ):
        return BAD_ID
    try:
        # The validation the SDK's transport applies next; only its verdict is kept, since
        # the report quotes the input.
        jsonrpc_message_adapter.validate_python(decoded, by_name=False)
    except ValidationError:
        return NOT_A_MESSAGE
    return None


def invalid_request(message: str) -> bytes:
    """A JSON-RPC error response with a null id: the request's id could not be trusted."""
    error = {"code": INVALID_REQUEST, "message": message}
    return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": error})
