"""The direct path for modern ``tools/call`` answers exactly as the SDK's own path does.

Every request here goes through the app twice, once with the direct path on and once with it off
(the SDK serves everything), and the two answers must agree: status, content type and JSON body.
Each case also says which path must have served it, so a direct path that silently stopped
working, or one that took requests it should leave to the SDK, fails the test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from devutils.frontends.mcp_http import McpHttpEndpoint
from devutils.http.app import Application
from devutils.registry import catalogue
from tests.frontends.mcp_support import modern_call
from tests.test_contract import NETWORK_SETTINGS, RANDOM_OUTPUT, shape

BASE = "http://127.0.0.1:8080"
PEER = ("127.0.0.1", 40000)


@dataclass
class Answer:
    status: int
    media_type: str
    body: Any  # parsed JSON, or the raw bytes when the body is not JSON
    via_sdk: bool

    def comparable(self, random_output: bool) -> tuple[int, str, Any]:
        return (self.status, self.media_type, shape(self.body) if random_output else self.body)


def _endpoint(app: Application) -> McpHttpEndpoint:
    route = app.router.resolve("/mcp")
    assert route is not None
    endpoint = route.endpoints["POST"]
    assert isinstance(endpoint, McpHttpEndpoint)
    return endpoint


@dataclass
class Both:
    """Sends a request through both paths of one app."""

    app: Application
    http: httpx.AsyncClient
    sdk_calls: list[int] = field(default_factory=lambda: [0])

    async def one(self, headers: dict[str, str], body: bytes, direct: bool) -> Answer:
        endpoint = _endpoint(self.app)
        saved = endpoint.direct
        if not direct:
            endpoint.direct = None
        before = self.sdk_calls[0]
        try:
            response = await self.http.post("/mcp", content=body, headers=headers)
        finally:
            endpoint.direct = saved
        media_type = response.headers.get("content-type", "").split(";")[0]
        parsed: Any = response.json() if media_type == "application/json" else response.content
        return Answer(response.status_code, media_type, parsed, self.sdk_calls[0] > before)

    async def compare(
        self, headers: dict[str, str], body: bytes, *, random_output: bool = False
    ) -> tuple[Answer, Answer]:
        direct = await self.one(headers, body, direct=True)
        sdk = await self.one(headers, body, direct=False)
        assert sdk.via_sdk
        assert direct.comparable(random_output) == sdk.comparable(random_output)
        return direct, sdk


@asynccontextmanager
async def both_paths(app: Application) -> AsyncIterator[Both]:
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=PEER)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            both = Both(app, http)
            manager: StreamableHTTPSessionManager = _endpoint(app).manager
            handle = manager.handle_request

            async def counted(*args: Any) -> None:
                both.sdk_calls[0] += 1
                await handle(*args)

            manager.handle_request = counted  # type: ignore[method-assign,assignment]
            yield both


@pytest.fixture
def contract_app(make_app: Callable[..., Application]) -> Application:
    return make_app(**{key.lower(): value for key, value in NETWORK_SETTINGS.items()})


EXAMPLES = [(spec, index) for spec in catalogue() for index in range(len(spec.examples))]


async def test_every_tool_example_is_answered_directly_and_as_the_sdk_would(
    contract_app: Application,
) -> None:
    async with both_paths(contract_app) as both:
        for request_id, (spec, index) in enumerate(EXAMPLES, start=1):
            headers, body = modern_call(spec.name, dict(spec.examples[index].args), request_id)
            direct, _ = await both.compare(
                headers, orjson.dumps(body), random_output=spec.name in RANDOM_OUTPUT
            )
            assert not direct.via_sdk, spec.name
            assert direct.status == 200
            assert direct.body["id"] == request_id
            assert direct.body["result"]["resultType"] == "complete"


def _edit(
    headers: dict[str, str] | None = None,
    drop_headers: tuple[str, ...] = (),
    body: Callable[[dict[str, Any]], Any] | None = None,
    raw: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    call_headers, call_body = modern_call("crypto_hash", {"content": "abc", "algorithm": "md5"})
    call_headers = {k: v for k, v in call_headers.items() if k not in drop_headers}
    call_headers.update(headers or {})
    if raw is not None:
        return call_headers, raw
    edited = body(copy.deepcopy(call_body)) if body is not None else call_body
    return call_headers, orjson.dumps(edited)


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def edit(message: dict[str, Any]) -> dict[str, Any]:
        target = message
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return message

    return edit


def _drop(path: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
    def edit(message: dict[str, Any]) -> dict[str, Any]:
        target = message
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return message

    return edit


GOOD = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"crypto_hash",'
META = (
    '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    '"io.modelcontextprotocol/clientCapabilities":{}}'
)

# (id, request, served directly?)
CASES: list[tuple[str, tuple[dict[str, str], bytes], bool]] = [
    ("plain", _edit(), True),
    ("tool-error", _edit(body=_set(("params", "arguments", "content"), 5)), True),
    ("arguments-absent", _edit(body=_drop(("params", "arguments"))), True),
    ("arguments-null", _edit(body=_set(("params", "arguments"), None)), True),
    (
        "non-ascii",
        _edit(body=_set(("params", "arguments", "content"), "h\u00e9llo \u2603 \U0001f600")),
        True,
    ),
    ("string-id", _edit(body=_set(("id",), "req-\u00e9")), True),
    ("zero-id", _edit(body=_set(("id",), 0)), True),
    ("big-id", _edit(body=_set(("id",), 2**59)), True),
    ("huge-id", _edit(body=_set(("id",), 2**64 - 1)), False),
    ("accept-any", _edit(headers={"Accept": "*/*"}), True),
    ("accept-json-only", _edit(headers={"Accept": "application/json"}), True),
    (
        "content-type-charset",
        _edit(headers={"Content-Type": "application/json; charset=utf-8"}),
        True,
    ),
    ("param-header", _edit(headers={"Mcp-Param-Content": "abc"}), True),
    (
        "client-info",
        _edit(
            body=_set(
                ("params", "_meta", "io.modelcontextprotocol/clientInfo"),
                {"name": "t", "version": "1"},
            )
        ),
        True,
    ),
    (
        "unknown-tool",
        _edit(headers={"Mcp-Name": "nope"}, body=_set(("params", "name"), "nope")),
        False,
    ),
    ("arguments-list", _edit(body=_set(("params", "arguments"), [1])), False),
    ("bool-id", _edit(body=_set(("id",), True)), False),
    ("float-id", _edit(body=_set(("id",), 1.5)), False),
    ("null-id", _edit(body=_set(("id",), None)), False),
    ("notification", _edit(body=_drop(("id",))), False),
    ("extra-member", _edit(body=_set(("extra",), 1)), False),
    ("jsonrpc-1", _edit(body=_set(("jsonrpc",), "1.0")), False),
    ("batch", _edit(body=lambda message: [message]), False),
    ("not-json", _edit(raw=b"{not json"), False),
    ("nan", _edit(raw=f'{GOOD}"arguments":{{"content":NaN}},{META}}}}}'.encode()), False),
    (
        "huge-int",
        _edit(raw=f'{GOOD}"arguments":{{"content":{"9" * 30}}},{META}}}}}'.encode()),
        False,
    ),
    (
        "lone-surrogate",
        _edit(raw=f'{GOOD}"arguments":{{"content":"\\ud800"}},{META}}}}}'.encode()),
        False,
    ),
    ("name-header-mismatch", _edit(headers={"Mcp-Name": "crypto_hmac"}), False),
    ("method-header-missing", _edit(drop_headers=("Mcp-Method",)), False),
    (
        "method-tools-list",
        _edit(
            headers={"Mcp-Method": "tools/list"},
            body=lambda m: {**m, "method": "tools/list", "params": {"_meta": m["params"]["_meta"]}},
        ),
        False,
    ),
    ("meta-missing", _edit(body=_drop(("params", "_meta"))), False),
    # Accepted by the per-version params check, refused by the handler's params model.
    (
        "progress-token-null",
        _edit(body=_set(("params", "_meta", "progressToken"), None)),
        False,
    ),
    ("task-not-object", _edit(body=_set(("params", "task"), True)), False),
    (
        "capabilities-not-object",
        _edit(body=_set(("params", "_meta", "io.modelcontextprotocol/clientCapabilities"), "x")),
        False,
    ),
    (
        "unsupported-version",
        _edit(
            headers={"MCP-Protocol-Version": "2099-01-01"},
            body=_set(("params", "_meta", "io.modelcontextprotocol/protocolVersion"), "2099-01-01"),
        ),
        False,
    ),
    ("legacy-version", _edit(headers={"MCP-Protocol-Version": "2025-11-25"}), False),
    ("no-version-header", _edit(drop_headers=("MCP-Protocol-Version",)), False),
    ("accept-sse-only", _edit(headers={"Accept": "text/event-stream"}), False),
    # Any other Content-Type never reaches either path: test_mcp_limits_wire.py.
    ("content-type-case", _edit(headers={"Content-Type": "Application/JSON"}), True),
]


@pytest.mark.parametrize(
    ("request_", "direct"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
async def test_requests_get_the_sdk_answer_on_either_path(
    make_app: Callable[..., Application], request_: tuple[dict[str, str], bytes], direct: bool
) -> None:
    headers, body = request_
    async with both_paths(make_app()) as both:
        answer, _ = await both.compare(headers, body)
    assert answer.via_sdk is not direct


async def test_repeated_headers_go_to_the_sdk(make_app: Callable[..., Application]) -> None:
    headers, body = _edit()
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    async with both_paths(make_app()) as both:
        for extra in ((b"x-note", b"a"), (b"mcp-name", b"crypto_hash")):
            twice = [*raw, extra, extra]
            answers = []
            for direct in (True, False):
                endpoint = _endpoint(both.app)
                saved = endpoint.direct
                endpoint.direct = endpoint.direct if direct else None
                try:
                    response = await both.http.post("/mcp", content=body, headers=twice)
                finally:
                    endpoint.direct = saved
                answers.append((response.status_code, response.content))
            assert answers[0][0] == answers[1][0]
            assert orjson.loads(answers[0][1]) == orjson.loads(answers[1][1])
        assert both.sdk_calls[0] == 4


async def test_sdk_middleware_turns_the_direct_path_off(
    make_app: Callable[..., Application],
) -> None:
    """A middleware registered on the SDK server would be skipped by the direct path."""
    app = make_app()
    seen: list[str] = []

    async def observe(ctx: Any, call_next: Any) -> Any:
        seen.append(ctx.method)
        return await call_next(ctx)

    headers, body = _edit()
    async with both_paths(app) as both:
        frontend = _endpoint(app).direct
        assert frontend is not None
        frontend.frontend.server.middleware.append(observe)
        answer = await both.one(headers, body, direct=True)
    assert answer.via_sdk
    assert seen == ["tools/call"]
    assert answer.body["result"]["structuredContent"]["hash"] == "900150983cd24fb0d6963f7d28e17f72"


# Results keep a document's integers exactly, as REST does (API-DELTAS D6); orjson, which writes
# the other results, refuses integers beyond 64 bits.  A request holding such a number in decimal
# goes to the SDK (the direct path's parser is orjson too); YAML's hexadecimal keeps it direct.
HUGE = 2**64
HUGE_RESULTS = [
    (
        "data_query",
        {
            "content": "[0x10000000000000000, -0x10000000000000000]",
            "query": "$[*]",
            "format": "yaml",
        },
        {"result": [HUGE, -HUGE]},
    ),
    (
        "data_patch",
        {
            "content": "{}",
            "patch": '[{"op":"add","path":"/n","value":0x10000000000000000}]',
            "format": "yaml",
        },
        {"result": {"n": HUGE}},
    ),
]


@pytest.mark.parametrize(
    ("tool", "args", "expected"), HUGE_RESULTS, ids=[r[0] for r in HUGE_RESULTS]
)
async def test_integers_beyond_64_bits_come_back_exact_on_either_path(
    make_app: Callable[..., Application], tool: str, args: dict[str, Any], expected: Any
) -> None:
    app = make_app()
    async with both_paths(app) as both:
        rest = await both.http.post("/api/v1/" + tool.replace("_", "/"), json=args)
        assert rest.status_code == 200, rest.text
        data = rest.json()["data"]  # json.loads: integers exact
        headers, body = modern_call(tool, args)
        direct, sdk = await both.compare(headers, orjson.dumps(body))
    assert not direct.via_sdk
    for answer in (direct, sdk):
        result = answer.body["result"]
        assert result["isError"] is False, result
        assert result["structuredContent"] == data
        assert json.loads(result["content"][0]["text"]) == data
    assert {key: data[key] for key in expected} == expected
