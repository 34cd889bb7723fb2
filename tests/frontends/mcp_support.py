"""Helpers shared by the MCP tests: build a server from a registry, read call results."""

from __future__ import annotations

from typing import Any

import orjson
from mcp_types import CallToolResult, TextContent

# The 2026-07-28 per-request era ("auto" lands there against our server) and the 2025 handshake
# era that older clients speak; both must behave the same.
MODES = ("auto", "legacy")


def only_text(result: CallToolResult) -> str:
    """The first text block: a success's only one, an error's ``"<CODE>: <message>"`` line."""
    assert len(result.content) == (2 if result.is_error else 1)
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def structured(result: CallToolResult) -> dict[str, Any]:
    """A successful call's structured content, checked against its text rendering."""
    assert result.is_error is False, only_text(result)
    assert result.structured_content is not None
    data: dict[str, Any] = result.structured_content
    assert orjson.loads(only_text(result)) == data
    return data


def tool_error(result: CallToolResult) -> dict[str, Any]:
    """A failed call's error object, read from its second text block.

    Errors carry no ``structuredContent`` (it could not match the output schema, and the
    TypeScript SDK rejects the whole result when it does not); the first text block reads
    ``"<CODE>: <message>..."`` and the second is the error object as JSON.
    """
    assert result.is_error is True
    assert result.structured_content is None
    assert len(result.content) == 2
    first, second = result.content
    assert isinstance(first, TextContent)
    assert isinstance(second, TextContent)
    error: dict[str, Any] = orjson.loads(second.text)
    assert first.text.startswith(f"{error['code']}: {error['message']}")
    return error


def wire_error(result: dict[str, Any]) -> dict[str, Any]:
    """:func:`tool_error` for a raw JSON-RPC ``result`` object."""
    assert result["isError"] is True
    assert "structuredContent" not in result
    first, second = result["content"]
    assert first["type"] == second["type"] == "text"
    error: dict[str, Any] = orjson.loads(second["text"])
    assert first["text"].startswith(f"{error['code']}: {error['message']}")
    return error


def modern_call(
    name: str, arguments: Any, request_id: int = 1
) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and body of a raw 2026-07-28 ``tools/call`` POST, as the SDK client sends it."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
    }
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": meta},
    }
    return headers, body
