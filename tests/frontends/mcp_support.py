"""Helpers shared by the MCP tests: build a server from a registry, read call results."""

from __future__ import annotations

from typing import Any

import orjson
from mcp_types import CallToolResult, TextContent

# The 2026-07-28 per-request era ("auto" lands there against our server) and the 2025 handshake
# era that older clients speak; both must behave the same.
MODES = ("auto", "legacy")


def only_text(result: CallToolResult) -> str:
    """The single text block every result carries."""
    assert len(result.content) == 1
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
    """A failed call's error object; its text must be ``"<CODE>: <message>..."``."""
    assert result.is_error is True
    assert result.structured_content is not None
    error: dict[str, Any] = result.structured_content
    assert only_text(result).startswith(f"{error['code']}: {error['message']}")
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
