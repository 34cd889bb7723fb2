"""``/mcp`` inside our ASGI app, in process: Host/Origin guard, request context, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from devutils.http.app import Application
from devutils.registry import CallInfo, Proceed, ToolSpec
from tests.frontends.mcp_support import MODES, modern_call, structured, tool_error, wire_error

BASE = "http://127.0.0.1:8080"
PEER = ("127.0.0.1", 40000)


@asynccontextmanager
async def raw_client(app: Application) -> AsyncIterator[httpx.AsyncClient]:
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=PEER)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            yield http


def _recorder(app: Application) -> list[CallInfo]:
    calls: list[CallInfo] = []

    async def record(spec: ToolSpec, call: CallInfo, proceed: Proceed) -> Any:
        calls.append(call)
        call.response_headers.append((b"x-probe", b"seen"))
        return await proceed()

    app.registry.middleware.append(record)
    return calls


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Origin": "http://evil.example"}, "Origin header not allowed"),
        ({"Host": "attacker.example"}, "Host header not allowed"),
        ({"Host": "attacker.example", "Origin": "http://attacker.example"}, "Host header"),
    ],
    ids=["origin", "host", "both"],
)
async def test_blocked_host_or_origin_is_403_before_any_work(
    make_app: Callable[..., Application], headers: dict[str, str], reason: str
) -> None:
    app = make_app()
    calls = _recorder(app)
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    async with raw_client(app) as http:
        response = await http.post("/mcp", json=body, headers={**call_headers, **headers})
    assert response.status_code == 403
    error = response.json()["error"]
    assert reason in error["message"]
    assert response.headers["x-request-id"]  # our middleware still wrapped the refusal
    assert calls == []


async def test_configured_origin_and_host_are_served(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_allowed_hosts="api.example.com", mcp_allowed_origins="https://app.example")
    call_headers, body = modern_call("crypto_hash", {"content": "abc", "algorithm": "md5"})
    headers = {**call_headers, "Host": "api.example.com", "Origin": "https://app.example"}
    async with raw_client(app) as http:
        served = await http.post("/mcp", json=body, headers=headers)
        loopback = await http.post("/mcp", json=body, headers=call_headers)
    assert served.status_code == 200, served.text
    result = served.json()["result"]
    assert result["structuredContent"] == {
        "hash": "900150983cd24fb0d6963f7d28e17f72",
        "algorithm": "md5",
    }
    assert result["isError"] is False
    assert loopback.status_code == 403  # the configured list replaces the loopback default


async def test_body_limit_applies_to_mcp(make_app: Callable[..., Application]) -> None:
    app = make_app()
    call_headers, body = modern_call(
        "crypto_hash", {"content": "a" * (1024 * 1024), "algorithm": "md5"}
    )
    async with raw_client(app) as http:
        response = await http.post("/mcp", json=body, headers=call_headers)
    assert response.status_code == 413
    # A refusal of the whole request: a JSON-RPC error without an id, our code in its data.
    answer = response.json()
    assert (answer["jsonrpc"], answer["id"], answer["error"]["code"]) == ("2.0", None, -32600)
    assert answer["error"]["data"]["code"] == "REQUEST_TOO_LARGE"
    assert answer["error"]["message"].startswith("Request body too large: ")


@pytest.mark.parametrize("arguments", [[1, 2], "text", 3], ids=["array", "string", "number"])
async def test_non_object_arguments_are_a_protocol_error(
    make_app: Callable[..., Application], arguments: Any
) -> None:
    app = make_app()
    calls = _recorder(app)
    call_headers, body = modern_call("crypto_hash", arguments)
    async with raw_client(app) as http:
        response = await http.post("/mcp", json=body, headers=call_headers)
    assert response.json()["error"]["code"] == -32602
    assert calls == []


async def test_tool_error_over_http_is_a_200_result(make_app: Callable[..., Application]) -> None:
    app = make_app()
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "sha3"})
    async with raw_client(app) as http:
        response = await http.post("/mcp", json=body, headers=call_headers)
        rest = await http.post("/api/v1/crypto/hash", json=body["params"]["arguments"])
    assert response.status_code == 200
    result = response.json()["result"]
    assert wire_error(result) == rest.json()["error"]
    assert result["content"][0]["text"].startswith("VALIDATION_ERROR: Invalid request format")


def _sdk_client(app: Application, mode: str, headers: dict[str, str]) -> Client:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app, client=PEER), headers=headers)
    return Client(streamable_http_client(f"{BASE}/mcp", http_client=http), mode=mode)


@pytest.mark.parametrize("mode", MODES)
async def test_the_http_request_reaches_invoke(
    make_app: Callable[..., Application], mode: str
) -> None:
    """Request id, client address and the authenticated principal flow into CallInfo."""
    app = make_app(auth_method="api_key", auth_api_keys="k-mcp-test-1-0123456789")
    calls = _recorder(app)
    headers = {"Authorization": "Bearer k-mcp-test-1-0123456789", "X-Request-ID": "req-mcp-1"}
    async with app.lifespan(), _sdk_client(app, mode, headers) as mcp:
        result = await mcp.call_tool("crypto_hash", {"content": "abc", "algorithm": "md5"})
    assert structured(result)["hash"] == "900150983cd24fb0d6963f7d28e17f72"
    assert len(calls) == 1
    call = calls[0]
    assert call.frontend == "mcp"
    assert call.request_id == "req-mcp-1"
    assert call.client_ip == "127.0.0.1"
    assert call.authenticated is True
    assert call.principal
    assert "k-mcp-test-1-0123456789" not in call.principal


async def test_invoke_response_headers_reach_the_http_response(
    make_app: Callable[..., Application],
) -> None:
    app = make_app()
    _recorder(app)
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    async with raw_client(app) as http:
        response = await http.post("/mcp", json=body, headers=call_headers)
    assert response.headers["x-probe"] == "seen"


async def test_rate_limited_call_is_a_tool_error_with_retry_after(
    make_app: Callable[..., Application],
) -> None:
    # Every class at burst 1, whichever the tool uses.
    app = make_app(
        rate_limit_enabled=True,
        **{
            f"rate_limit_{cls}_{knob}": 1
            for cls in ("anonymous", "crypto")
            for knob in ("burst", "per_minute")
        },
    )
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    async with raw_client(app) as http:
        first = await http.post("/mcp", json=body, headers=call_headers)
        second = await http.post("/mcp", json=body, headers=call_headers)
    assert first.json()["result"]["isError"] is False
    assert wire_error(second.json()["result"])["code"] == "RATE_LIMIT_ERROR"
    assert second.headers["retry-after"]


@pytest.mark.parametrize("mode", MODES)
async def test_sdk_client_gets_validation_errors_over_http(
    make_app: Callable[..., Application], mode: str
) -> None:
    app = make_app()
    async with app.lifespan(), _sdk_client(app, mode, {}) as mcp:
        result = await mcp.call_tool("crypto_hash", {"content": 5, "algorithm": "md5"})
    assert tool_error(result)["code"] == "VALIDATION_ERROR"


async def test_mcp_can_be_switched_off(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False)
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    async with raw_client(app) as http:
        response = await http.post("/mcp", json=body, headers=call_headers)
    assert response.status_code == 404
    assert app.router.resolve("/mcp") is None


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
async def test_only_post_is_served(make_app: Callable[..., Application], method: str) -> None:
    """Stateless: no session to delete, and no server-sent stream to hold open for a GET."""
    app = make_app()
    headers = {"Accept": "text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    async with raw_client(app) as http:
        response = await http.request(method, "/mcp", headers=headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
