"""What every MCP front door refuses alike: browser preflights that the SDK clients' headers
pass, a line over ``MAX_BODY_BYTES`` on stdio, and one Content-Type rule for ``/mcp`` and REST."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from typing import Any

import httpx2
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from devutils.http.app import Application
from tests.frontends.mcp_support import MODES, modern_call, structured
from tests.frontends.test_mcp_asgi import BASE, PEER, raw_client
from tests.frontends.test_mcp_stdio import REQUESTS
from tests.frontends.test_mcp_stdio import _env as env_for_stdio
from tests.middleware.asgi_client import in_process as _in_process
from tests.support import DEVUTILS, ROOT

ORIGIN = "https://app.example"
# Set by the browser itself, never named in Access-Control-Request-Headers.
BROWSER_SET = frozenset(("host", "connection", "content-length", "accept-encoding", "user-agent"))
# What @modelcontextprotocol/client 2.3.1 (tests/js/node_modules, dist/index.mjs) sets on its
# requests at both eras: _commonHeaders, _applyBodyDerivedHeaders, _send and _startOrAuthSse.
TYPESCRIPT_SENDS = (
    "authorization",
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "content-type",
    "accept",
    "last-event-id",
)
# ... and reads from responses (content-type is always readable): the session id, and the
# challenge of a 401 that starts its auth flow.
TYPESCRIPT_READS = ("mcp-session-id", "www-authenticate")


def _listed(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",")}


async def _python_sdk_headers(app: Application, mode: str) -> set[str]:
    """The header names the Python SDK client sends for a tool call, from a browser origin."""
    sent: set[str] = set()

    async def record(request: httpx2.Request) -> None:
        sent.update(name.lower() for name in request.headers)

    http = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app, client=PEER),
        headers={"Origin": ORIGIN},
        event_hooks={"request": [record]},
    )
    client = Client(streamable_http_client(f"{BASE}/mcp", http_client=http), mode=mode)
    async with client as mcp:
        result = await mcp.call_tool("crypto_hash", {"content": "abc", "algorithm": "md5"})
    assert structured(result)["hash"] == "900150983cd24fb0d6963f7d28e17f72"
    return sent - BROWSER_SET - {"origin"}


@pytest.mark.parametrize("mode", MODES)
async def test_preflight_allows_every_header_the_sdk_clients_send(
    make_app: Callable[..., Application], mode: str
) -> None:
    app = make_app(cors_allow_origins=ORIGIN)
    async with app.lifespan(), _in_process(app) as http:
        python_sends = await _python_sdk_headers(app, mode)
        if mode == "auto":  # a 2026-07-28 tools/call: refused by the server without it
            assert "mcp-name" in python_sends
        requested = ", ".join(sorted(python_sends | set(TYPESCRIPT_SENDS)))
        preflight = await http.options(
            "/mcp",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": requested,
            },
        )
        call_headers, body = modern_call("crypto_hash", {"content": "abc", "algorithm": "md5"})
        call = await http.post("/mcp", json=body, headers={**call_headers, "Origin": ORIGIN})
    assert preflight.status_code == 204
    allowed = _listed(preflight.headers["access-control-allow-headers"])
    assert _listed(requested) - allowed == set()
    assert call.status_code == 200
    assert call.headers["access-control-allow-origin"] == ORIGIN
    exposed = _listed(call.headers["access-control-expose-headers"])
    assert set(TYPESCRIPT_READS) - exposed == set()


# --- stdio: a line over MAX_BODY_BYTES ---------------------------------------------------------

INITIALIZE, INITIALIZED = (orjson.dumps(message) for message in REQUESTS[:2])
PING = b'{"jsonrpc":"2.0","id":99,"method":"ping"}'
MIB = 1024 * 1024


def _too_large(limit: int) -> dict[str, Any]:
    """The error object ``/mcp`` answers a body over ``limit`` with (see the test below)."""
    details = f"Maximum allowed size is {limit} bytes"
    return {
        "code": -32600,
        "message": f"Request body too large: {details}",
        "data": {
            "code": "REQUEST_TOO_LARGE",
            "message": "Request body too large",
            "details": details,
        },
    }


def _call(request_id: int, content: str) -> bytes:
    params = {"name": "crypto_hash", "arguments": {"content": content, "algorithm": "md5"}}
    return orjson.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    )


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


class StdioServer:
    """``devutils mcp`` as a subprocess, read one answer at a time."""

    def __init__(self, **env: str) -> None:
        self.proc = subprocess.Popen(
            [*DEVUTILS, "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env_for_stdio(LOG_LEVEL="warning", **env),
            cwd=ROOT,
        )

    def send(self, *lines: bytes) -> None:
        assert self.proc.stdin is not None
        for line in lines:
            self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the server closed stdout"
        reply: dict[str, Any] = orjson.loads(line)
        return reply

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=60)


def test_a_line_over_the_limit_is_refused_unread_and_the_next_is_served() -> None:
    server = StdioServer()
    try:
        server.send(INITIALIZE, INITIALIZED, _call(2, "abc"))
        assert server.answer()["id"] == 1
        assert server.answer()["result"]["isError"] is False
        before = _peak_rss_kib(server.proc.pid)
        # 20 MiB in one line, written from a thread: the server reads while it is written.
        huge = _call(3, "a" * (20 * MIB))
        writer = threading.Thread(target=server.send, args=(huge, _call(4, "abc")))
        writer.start()
        refused, served = server.answer(), server.answer()
        writer.join()
        peak = _peak_rss_kib(server.proc.pid)
        assert server.close() == 0
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
    assert refused == {"jsonrpc": "2.0", "id": 3, "error": _too_large(MIB)}
    assert served["id"] == 4
    assert served["result"]["structuredContent"]["hash"] == "900150983cd24fb0d6963f7d28e17f72"
    # Reading the whole line would hold it at least once as bytes and once as text (40 MiB).
    assert peak - before < 8 * 1024, (before, peak)


LIMIT = 2048


async def test_mcp_refuses_a_body_over_the_limit_as_stdio_refuses_a_line(
    make_app: Callable[..., Application],
) -> None:
    async with raw_client(make_app(max_body_bytes=LIMIT)) as http:
        call_headers, body = modern_call(
            "crypto_hash", {"content": "a" * LIMIT, "algorithm": "md5"}
        )
        over_http = await http.post("/mcp", json=body, headers=call_headers)
    assert over_http.status_code == 413
    assert over_http.json() == {"jsonrpc": "2.0", "id": None, "error": _too_large(LIMIT)}


def test_stdio_refuses_a_line_over_the_limit_as_mcp_refuses_a_body() -> None:
    limit = LIMIT

    def ping(request_id: int, size: int) -> bytes:
        line = b'{"jsonrpc":"2.0","id":%d,"method":"ping"}' % request_id
        return line[:-1] + b" " * (size - len(line)) + b"}"

    params_first = b'{"jsonrpc":"2.0","params":{"x":"' + b"a" * 8192 + b'"},"id":5,"method":"ping"}'
    lines = [INITIALIZE, INITIALIZED, ping(10, limit), ping(11, limit + 1), params_first]
    done = subprocess.run(
        [*DEVUTILS, "mcp"],
        # The last line has no line feed: it ends at EOF.
        input=b"".join(line + b"\n" for line in [*lines, _call(6, "a" * limit), PING])
        + _call(7, "a" * limit),
        capture_output=True,
        env=env_for_stdio(LOG_LEVEL="warning", MAX_BODY_BYTES=str(limit)),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    replies = {reply["id"]: reply for reply in map(orjson.loads, done.stdout.splitlines())}
    error = _too_large(limit)  # /mcp's answer (the test above)
    assert sorted(replies, key=str) == sorted([1, 10, 11, None, 6, 99, 7], key=str)
    for served in (10, 99):  # exactly the limit, and the line after the refused ones
        assert replies[served] == {"jsonrpc": "2.0", "id": served, "result": {}}
    # The id named before the cut answers the client's wait; one after the first 4 KiB cannot
    # be found (id null, as over HTTP).  7: the last line, without a line feed, at EOF.
    for refused in (11, None, 6, 7):
        assert replies[refused] == {"jsonrpc": "2.0", "id": refused, "error": error}


# --- /mcp Content-Type: REST's rule at both eras ---------------------------------------------

CONTENT_TYPES = [
    "application/json",
    "APPLICATION/JSON",
    "Application/Json; charset=utf-8",
    "application/json ;charset=UTF-8",
    "text/plain",
    "application/jsonx",
    "application/json-patch+json",
    "application/json, text/plain",
    None,
]
HANDSHAKE_PING: dict[str, Any] = {
    "headers": {"Accept": "application/json", "MCP-Protocol-Version": "2025-11-25"},
    "body": {"jsonrpc": "2.0", "id": 7, "method": "ping"},
}


def _modern() -> dict[str, Any]:
    headers, body = modern_call("crypto_hash", {"content": "abc", "algorithm": "md5"})
    del headers["Content-Type"]
    return {"headers": headers, "body": body}


# A body labelled with a content coding would be read undecoded: refused, "identity" is none.
CODED = [("application/json", "gzip"), ("application/json", "br"), ("application/json", "identity")]


@pytest.mark.parametrize("era", ["handshake", "modern"])
@pytest.mark.parametrize(
    ("content_type", "coding"),
    [*((value, None) for value in CONTENT_TYPES), *CODED],
    ids=lambda value: str(value),
)
async def test_mcp_applies_rests_content_type_rule(
    make_app: Callable[..., Application], era: str, content_type: str | None, coding: str | None
) -> None:
    request = HANDSHAKE_PING if era == "handshake" else _modern()
    typed = {} if content_type is None else {"Content-Type": content_type}
    if coding is not None:
        typed["Content-Encoding"] = coding
    async with raw_client(make_app()) as http:
        rest = await http.post(
            "/api/v1/crypto/hash", content=b'{"content":"abc","algorithm":"md5"}', headers=typed
        )
        mcp = await http.post(
            "/mcp", content=orjson.dumps(request["body"]), headers={**request["headers"], **typed}
        )
    assert rest.status_code in (200, 415)
    if coding not in (None, "identity"):
        assert rest.status_code == 415
        assert f"(got {coding})" in rest.json()["error"]["details"]
    assert mcp.status_code == rest.status_code, mcp.text
    assert mcp.headers["content-type"].split(";")[0] == "application/json"
    answer = mcp.json()
    if rest.status_code == 200:
        assert answer["id"] == request["body"]["id"]
        assert "result" in answer
        return
    error = rest.json()["error"]
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    message = f"{error['message']}: {error['details']}"
    assert answer == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": message, "data": error},
    }


async def test_a_refused_content_type_is_charged_to_the_mcp_class(
    make_app: Callable[..., Application],
) -> None:
    app = make_app(rate_limit_enabled=True, rate_limit_mcp_burst=1, rate_limit_mcp_per_minute=1)
    headers = {"Content-Type": "text/plain", "Accept": "application/json"}
    body = orjson.dumps(HANDSHAKE_PING["body"])
    async with raw_client(app) as http:
        first = await http.post("/mcp", content=body, headers=headers)
        second = await http.post("/mcp", content=body, headers=headers)
    assert first.status_code == 415
    assert second.status_code == 429
    assert second.json()["error"]["data"]["code"] == "RATE_LIMIT_ERROR"
