"""Every POST /mcp is rate limited: protocol calls (tools/list, initialize, ping ...) in the
``mcp`` class, tool calls in their tool's class.  Over a real socket."""

from __future__ import annotations

import http.client
import json
from typing import Any

import httpx
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
    server: ServerProcess, calls: list[tuple[dict[str, str], Any]]
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
    refusal = orjson.loads(body)
    assert (refusal["id"], refusal["error"]["code"]) == (None, -32600)
    assert refusal["error"]["data"]["code"] == "RATE_LIMIT_ERROR"
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


def legacy_call(arguments: Any, request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    """A 2025-era ``tools/call``: no protocol header, no ``_meta`` envelope."""
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    params = {"name": "crypto_hash", "arguments": arguments}
    return headers, {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def _without_meta(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = modern_call("crypto_hash", {"content": "a"}, request_id)
    del body["params"]["_meta"]
    return headers, body


def _name_header_mismatch(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = modern_call("crypto_hash", {"content": "a"}, request_id)
    return {**headers, "Mcp-Name": "crypto_hmac"}, body


def _legacy_bad_meta(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = legacy_call({"content": "a"}, request_id)
    body["params"]["_meta"] = "not an object"
    return headers, body


def _legacy_null_progress_token(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    # Passes the era's params check; the handler's params model refuses it.
    headers, body = legacy_call({"content": "a"}, request_id)
    body["params"]["_meta"] = {"progressToken": None}
    return headers, body


def _modern_null_progress_token(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = modern_call("crypto_hash", {"content": "a"}, request_id)
    body["params"]["_meta"]["progressToken"] = None
    return headers, body


def _task_not_object(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = modern_call("crypto_hash", {"content": "a"}, request_id)
    body["params"]["task"] = True
    return headers, body


def _not_acceptable(request_id: int) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = modern_call("crypto_hash", {"content": "a"}, request_id)
    return {**headers, "Accept": "text/event-stream"}, body


def test_tool_calls_the_sdk_refuses_pay_the_mcp_class() -> None:
    """A ``tools/call`` of a served tool that the SDK refuses before our handler runs (its
    envelope, header or per-version params checks) never reaches the tool's class, so it must
    pay the mcp class: with a burst of 2, the third such call is refused with 429."""
    env = {**GENEROUS, "RATE_LIMIT_MCP_PER_MINUTE": "1", "RATE_LIMIT_MCP_BURST": "2"}
    refused = [
        _without_meta,
        _name_header_mismatch,
        _legacy_bad_meta,
        _not_acceptable,
        _legacy_null_progress_token,
        _modern_null_progress_token,
        _task_not_object,
    ]
    with run_server(env) as server:
        first = post_all(server, [_without_meta(1), _without_meta(2)])
        assert [status for status, _, _ in first] == [400, 400]
        assert all(head["x-ratelimit-limit"] == "1" for _, head, _ in first)
        assert orjson.loads(first[0][2])["error"]["code"] == -32602  # the SDK's own answer
        answers = post_all(server, [make(index) for index, make in enumerate(refused, 3)])
        assert [status for status, _, _ in answers] == [429] * len(refused)
        # Calls the registry serves still pay only their own class, in both protocol eras.
        served = post_all(
            server,
            [
                modern_call("crypto_hash", {"content": "b", "algorithm": "md5"}, 20),
                legacy_call({"content": "b", "algorithm": "md5"}, 21),
            ],
        )
        assert [status for status, _, _ in served] == [200, 200]
        assert {head["x-ratelimit-limit"] for _, head, _ in served} == {"100000"}
        for _, _, body in served:
            assert orjson.loads(body)["result"]["isError"] is False


def test_malformed_envelopes_pay_the_mcp_class_and_are_counted() -> None:
    """Our -32600 answers pass through the middleware like the SDK's: charged to the mcp class,
    and counted in the HTTP metrics."""
    env = {**GENEROUS, "RATE_LIMIT_MCP_PER_MINUTE": "1", "RATE_LIMIT_MCP_BURST": "2"}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    bad_id = {"jsonrpc": "2.0", "id": True, "method": "ping"}
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"}]
    with run_server(env) as server:
        answers = post_all(server, [(headers, batch), (headers, bad_id), (headers, batch)])
        metrics = httpx.get(f"{server.base}/metrics").text
    assert [status for status, _, _ in answers] == [400, 400, 429]
    assert [orjson.loads(body)["error"]["code"] for _, _, body in answers[:2]] == [-32600] * 2
    assert all(head["x-ratelimit-limit"] == "1" and head["x-request-id"] for _, head, _ in answers)
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("http_requests_total{") and 'route="/mcp"' in line
    ]
    assert any('status_code="400"' in line and line.endswith(" 2.0") for line in counted), counted


def test_a_call_only_the_sdks_parser_reads_is_charged_once() -> None:
    # orjson refuses integers past 64 bits; the SDK's parsers read them.  Such a call is still
    # one tool call: its class pays, the mcp class does not, and one set of headers says so.
    env = {**GENEROUS, "RATE_LIMIT_MCP_PER_MINUTE": "1", "RATE_LIMIT_MCP_BURST": "2"}
    big = 123456789012345678901234
    calls = [modern_call("crypto_hash", {"content": "a"}, 1), legacy_call({"content": "a"}, 1)]
    with run_server(env) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            for headers, body in calls * 2:
                raw = orjson.dumps(body).replace(b'"id":1,', b'"id":%d,' % big)
                conn.request("POST", "/mcp", body=raw, headers=headers)
                response = conn.getresponse()
                answer = json.loads(response.read())  # orjson would read the id as a float
                assert response.status == 200, answer
                assert answer["id"] == big
                assert "content" in answer["result"]
                limits = [v for k, v in response.getheaders() if k.lower() == "x-ratelimit-limit"]
                assert limits == ["100000"]  # the crypto class only
        finally:
            conn.close()
        # The mcp bucket (burst 2) is untouched.
        assert [status for status, _, _ in post_all(server, [list_call(1), list_call(2)])] == [
            200,
            200,
        ]


def test_a_call_with_a_lone_surrogate_pays_its_tool_class() -> None:
    # The 2026-07-28 transport parses with json.loads, which lets "\ud800" through; the call
    # reaches our handler, which refuses it after the registry's admission check: the crypto
    # class pays (its limit in the headers), the mcp bucket (burst 2) does not.
    env = {**GENEROUS, "RATE_LIMIT_MCP_PER_MINUTE": "1", "RATE_LIMIT_MCP_BURST": "2"}
    headers, body = modern_call("crypto_hash", {"content": "SURROGATE"}, 1)
    raw = orjson.dumps(body).replace(b'"SURROGATE"', b'"\\ud800"')
    with run_server(env) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            for _ in range(3):
                conn.request("POST", "/mcp", body=raw, headers=headers)
                response = conn.getresponse()
                answer = json.loads(response.read())
                assert response.status == 200, answer
                assert answer["result"]["isError"] is True
                assert "VALIDATION_ERROR" in answer["result"]["content"][0]["text"]
                limits = [v for k, v in response.getheaders() if k.lower() == "x-ratelimit-limit"]
                assert limits == ["100000"]
        finally:
            conn.close()
        assert [status for status, _, _ in post_all(server, [list_call(1), list_call(2)])] == [
            200,
            200,
        ]
