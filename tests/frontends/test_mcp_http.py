"""Streamable HTTP at ``/mcp`` of a real ``devutils serve`` process, over loopback sockets."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from devutils.registry import catalogue
from tests.frontends.mcp_support import MODES, modern_call, structured, tool_error
from tests.support import ServerProcess, run_server

API_KEY = "k-mcp-http-test-7d1f"
AUTH_WIRED = importlib.util.find_spec("devutils.http.middleware.auth") is not None


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with run_server({"LOG_LEVEL": "warn", "RATE_LIMIT_ENABLED": "false"}) as running:
        yield running


@pytest.fixture(scope="module")
def guarded() -> Iterator[ServerProcess]:
    """API-key auth on, and only two families exposed over MCP."""
    env = {
        "AUTH_METHOD": "api_key",
        "AUTH_API_KEYS": API_KEY,
        "MCP_TOOLSETS": "crypto,time",
        "MCP_DISABLED_TOOLS": "crypto_hmac",
        "LOG_LEVEL": "warn",
    }
    with run_server(env) as running:
        yield running


@pytest.mark.parametrize("mode", MODES)
async def test_sdk_client_lists_and_calls_over_http(server: ServerProcess, mode: str) -> None:
    async with Client(f"{server.base}/mcp", mode=mode) as mcp:
        listed = (await mcp.list_tools()).tools
        ok = await mcp.call_tool("crypto_hash", {"content": "abc", "algorithm": "sha1"})
        bad = await mcp.call_tool("crypto_hash", {"content": "abc", "algorithm": "sha3"})
    assert len(listed) == len(catalogue())
    assert [tool.name for tool in listed] == [spec.name for spec in catalogue()]
    assert structured(ok) == {
        "hash": "a9993e364706816aba3e25717850c26c9cd0d89d",
        "algorithm": "sha1",
    }
    assert tool_error(bad)["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("mode", MODES)
async def test_sdk_client_reads_why_a_whole_request_was_refused(
    server: ServerProcess, mode: str
) -> None:
    """A body over MAX_BODY_BYTES is refused 413 before any JSON-RPC work: the SDK client must
    still show why (a REST envelope there became "Server returned an error response")."""
    async with Client(f"{server.base}/mcp", mode=mode) as mcp:
        with pytest.raises(MCPError) as refused:
            await mcp.call_tool("crypto_hash", {"content": "a" * 1_100_000, "algorithm": "md5"})
    assert refused.value.code == -32600
    assert refused.value.message.startswith("Request body too large: Maximum allowed size")
    assert refused.value.data["code"] == "REQUEST_TOO_LARGE"


def test_structured_content_equals_rest_data(server: ServerProcess) -> None:
    arguments = {"content": "hello", "key": "secret", "algorithm": "sha512"}
    headers, body = modern_call("crypto_hmac", arguments)
    mcp = httpx.post(f"{server.base}/mcp", json=body, headers=headers)
    rest = httpx.post(f"{server.base}/api/v1/crypto/hmac", json=arguments)
    assert mcp.status_code == 200
    assert mcp.json()["result"]["structuredContent"] == rest.json()["data"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Host": "attacker.example"},
        {"Host": "attacker.example:8080"},
    ],
    ids=["foreign-origin", "null-origin", "foreign-host", "foreign-host-port"],
)
def test_dns_rebinding_requests_are_403(server: ServerProcess, headers: dict[str, str]) -> None:
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    response = httpx.post(f"{server.base}/mcp", json=body, headers={**call_headers, **headers})
    assert response.status_code == 403
    assert "not allowed" in response.json()["error"]["message"]


def test_loopback_host_names_are_served(server: ServerProcess) -> None:
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}"):
        response = httpx.post(
            f"{server.base}/mcp", json=body, headers={**call_headers, "Host": host}
        )
        assert response.status_code == 200, host


def test_trailing_slash_redirects_to_mcp(server: ServerProcess) -> None:
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    response = httpx.post(f"{server.base}/mcp/", json=body, headers=call_headers)
    assert response.status_code == 307
    assert response.headers["location"] == "/mcp"


@pytest.mark.skipif(not AUTH_WIRED, reason="API-key authentication is not wired yet")
def test_mcp_without_a_key_is_401(guarded: ServerProcess) -> None:
    call_headers, body = modern_call("crypto_hash", {"content": "a", "algorithm": "md5"})
    response = httpx.post(f"{guarded.base}/mcp", json=body, headers=call_headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == -32600
    assert response.json()["error"]["data"]["code"] == "AUTHENTICATION_ERROR"
    assert "www-authenticate" in response.headers
    wrong = httpx.post(
        f"{guarded.base}/mcp",
        json=body,
        headers={**call_headers, "Authorization": "Bearer not-the-key"},
    )
    assert wrong.status_code == 401


@pytest.mark.skipif(not AUTH_WIRED, reason="API-key authentication is not wired yet")
@pytest.mark.parametrize("mode", MODES)
async def test_bearer_key_works_and_toolsets_apply(guarded: ServerProcess, mode: str) -> None:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"})
    transport = streamable_http_client(f"{guarded.base}/mcp", http_client=http)
    async with http, Client(transport, mode=mode) as mcp:
        names = [tool.name for tool in (await mcp.list_tools()).tools]
        result = await mcp.call_tool("crypto_hash", {"content": "", "algorithm": "md5"})
    expected = [
        s.name for s in catalogue() if s.family in ("crypto", "time") and s.name != "crypto_hmac"
    ]
    assert names == expected
    assert structured(result)["hash"] == "d41d8cd98f00b204e9800998ecf8427e"


async def test_tool_calls_are_counted_per_front_end(server: ServerProcess) -> None:
    async with Client(f"{server.base}/mcp") as mcp:
        await mcp.call_tool("crypto_hash", {"content": "m", "algorithm": "md5"})
        await mcp.call_tool("crypto_hash", {"content": "m", "algorithm": "nope"})
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{server.base}/metrics")).text
    mcp_lines = [
        line
        for line in metrics.splitlines()
        if line.startswith("tool_calls_total{") and 'frontend="mcp"' in line
    ]
    counts = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in mcp_lines}
    hash_counts = {labels: n for labels, n in counts.items() if 'tool="crypto_hash"' in labels}
    assert any("VALIDATION_ERROR" in labels and n >= 1 for labels, n in hash_counts.items())
    assert any('status="success"' in labels and n >= 1 for labels, n in hash_counts.items())


HANDSHAKE_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
BATCH = "Batch requests are not supported: send one JSON-RPC message per request"
BAD_ID = "Invalid request id: it must be a string or an integer"
NOT_A_MESSAGE = "Body must be a single JSON-RPC request or notification object"

MALFORMED: list[tuple[str, bytes, str]] = [
    ("batch", b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', BATCH),
    ("empty-batch", b"[]", BATCH),
    ("jsonrpc-1.0", b'{"jsonrpc":"1.0","id":1,"method":"ping"}', NOT_A_MESSAGE),
    ("jsonrpc-missing", b'{"id":1,"method":"ping"}', NOT_A_MESSAGE),
    ("method-number", b'{"jsonrpc":"2.0","id":1,"method":5}', NOT_A_MESSAGE),
    ("params-array", b'{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}', NOT_A_MESSAGE),
    ("scalar", b"5", NOT_A_MESSAGE),
    ("id-array", b'{"jsonrpc":"2.0","id":[1],"method":"ping"}', BAD_ID),
    ("id-object", b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', BAD_ID),
    ("id-bool", b'{"jsonrpc":"2.0","id":true,"method":"ping"}', BAD_ID),
    ("id-float", b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', BAD_ID),
    ("id-null", b'{"jsonrpc":"2.0","id":null,"method":"ping"}', BAD_ID),
]


@pytest.mark.parametrize("version", [None, "2025-11-25"], ids=["no-header", "2025-11-25"])
@pytest.mark.parametrize(
    ("body", "message"), [(c[1], c[2]) for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_envelopes_are_invalid_requests(
    server: ServerProcess, version: str | None, body: bytes, message: str
) -> None:
    """JSON-RPC 2.0 §5.1: -32600 with a null id, a short message and none of the input, as the
    SDK answers on its 2026-07-28 transport (its 2025 one sent -32602 with pydantic's report,
    or took a request with a bad id for a notification and answered 202 with no body)."""
    headers = dict(HANDSHAKE_HEADERS)
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    response = httpx.post(f"{server.base}/mcp", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]  # our middleware saw it
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": message},
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', 200),
        (b'{"jsonrpc":"2.0","id":"a","method":"ping","extra":1}', 200),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', 202),
        (b'{"jsonrpc":"2.0","id":1,"result":{}}', 202),  # a response the client may post
    ],
    ids=["ping", "extra-member", "notification", "response"],
)
def test_valid_handshake_era_messages_still_reach_the_sdk(
    server: ServerProcess, body: bytes, status: int
) -> None:
    response = httpx.post(f"{server.base}/mcp", content=body, headers=HANDSHAKE_HEADERS)
    assert response.status_code == status
    if status == 200:
        assert response.json()["result"] == {}


def test_unparsable_json_is_a_parse_error_in_both_eras(server: ServerProcess) -> None:
    modern = {**HANDSHAKE_HEADERS, "MCP-Protocol-Version": "2026-07-28"}
    for headers in (HANDSHAKE_HEADERS, modern):
        response = httpx.post(f"{server.base}/mcp", content=b'{"jsonrpc":', headers=headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == -32700
        assert response.json()["id"] is None


def test_a_batch_is_an_invalid_request_in_the_2026_era_too(server: ServerProcess) -> None:
    headers = {**HANDSHAKE_HEADERS, "MCP-Protocol-Version": "2026-07-28"}
    response = httpx.post(f"{server.base}/mcp", json=[PING], headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == {"code": -32600, "message": NOT_A_MESSAGE}
