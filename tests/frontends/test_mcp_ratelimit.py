"""Every POST /mcp is rate limited: protocol calls (tools/list, initialize, ping ...) in the
``mcp`` class, tool calls in their tool's class.  Over a real socket."""

from __future__ import annotations

import http.client
from typing import Any

import orjson

from tests.frontends.mcp_support import modern_call
from tests.support import ServerProcess, run_server

GENEROUS = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "100000",
    "RATE_LIMIT_ANONYMOUS_BURST": "10000",
    "RATE_LIMIT_CRYPTO_PER_MINUTE": "100000",
    "RATE_LIMIT_CRYPTO_BURST": "10000",
}


def list_call(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = modern_call("crypto_hash", {}, request_id)
    headers["Mcp-Method"] = "tools/list"
    del headers["Mcp-Name"]
    return headers, {**body, "method": "tools/list", "params": {"_meta": body["params"]["_meta"]}}


def post_all(
    server: ServerProcess, calls: list[tuple[dict[str, str], dict[str, Any]]]
) -> list[tuple[int, dict[str, str], bytes]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        out = []
        for headers, body in calls:
            conn.request("POST", "/mcp", body=orjson.dumps(body), headers=headers)
            response = conn.getresponse()
            head = {key.lower(): value for key, value in response.getheaders()}
            out.append((response.status, head, response.read()))
        return out
    finally:
        conn.close()


def test_a_tools_list_flood_is_refused() -> None:
    with run_server({**GENEROUS, "RATE_LIMIT_MCP_PER_MINUTE": "600"}) as server:
        answers = post_all(server, [list_call(index) for index in range(300)])
    codes = [status for status, _, _ in answers]
    assert set(codes) == {200, 429}
    # The default burst of 60, plus what 600/min refills while the flood runs (a few seconds).
    assert 60 <= codes.count(200) <= 120, codes.count(200)
    assert codes[:60] == [200] * 60
    _, headers, body = next(answer for answer in answers if answer[0] == 429)
    assert orjson.loads(body)["error"]["code"] == "RATE_LIMIT_ERROR"
    assert int(headers["retry-after"]) >= 1
    assert headers["x-ratelimit-limit"] == "600"
    first = answers[0]
    assert "tools" in orjson.loads(first[2])["result"]
    assert first[1]["x-ratelimit-limit"] == "600"


def test_tool_calls_pay_their_own_class_only() -> None:
    env = {**GENEROUS, "RATE_LIMIT_MCP_PER_MINUTE": "1", "RATE_LIMIT_MCP_BURST": "2"}
    with run_server(env) as server:
        calls = [modern_call("crypto_hash", {"content": "a"}, index) for index in range(5)]
        answers = post_all(server, calls)
        assert [status for status, _, _ in answers] == [200] * 5
        # The crypto class answered (its limit in the headers), the mcp bucket is untouched.
        assert {head["x-ratelimit-limit"] for _, head, _ in answers} == {"100000"}
        assert [status for status, _, _ in post_all(server, [list_call(1), list_call(2)])] == [
            200,
            200,
        ]
        # A call no tool answers (unknown name, malformed arguments) is a protocol call.
        unknown = post_all(server, [modern_call("no_such_tool", {}, 9)])
        assert unknown[0][0] == 429
        bad_arguments = post_all(server, [modern_call("crypto_hash", [1, 2], 10)])
        assert bad_arguments[0][0] == 429
        # Tool calls still pass: their own class is far from its limit.
        assert post_all(server, [modern_call("crypto_hash", {"content": "b"}, 11)])[0][0] == 200
