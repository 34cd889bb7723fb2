"""A refusal leaves no reference cycles: 401s and 429s are freed by reference counting.

An error raised from a frame that still holds it (a local, an argument) forms a cycle: error,
traceback, frame, error.  Such a refusal left about 50 objects per request (frames, tracebacks,
cells) to the cyclic collector, which then took a sixth of the CPU of a server answering 429s
(docs/performance.md).  Each case below runs the real application in process (no HTTP client of
its own, so no garbage but the application's), checks the answer, and then asks the collector
what the refusals left behind.
"""

from __future__ import annotations

import contextlib
import gc
import types
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import orjson
import pytest

from devutils.http.app import Application, create_app
from devutils.http.server.lifespan import Lifespan
from devutils.registry import Registry, ToolContext, catalogue
from tests.conftest import make_settings
from tests.frontends.mcp_support import modern_call
from tests.support import RedisServer, run_redis

KEY = "garbage-test-key-0123456789"
HASH = ("POST", "/api/v1/crypto/hash", {"content": "a", "algorithm": "sha256"})
AUTH = {"auth_method": "api_key", "auth_api_keys": [KEY]}
LIMITED = {
    "rate_limit_enabled": True,
    "rate_limit_crypto_per_minute": 1,
    "rate_limit_crypto_burst": 1,
    "rate_limit_authenticated_per_minute": 1,
    "rate_limit_authenticated_burst": 1,
    "rate_limit_mcp_per_minute": 1,
    "rate_limit_mcp_burst": 1,
    "rate_limit_auth_failures_per_minute": 1,
    "rate_limit_auth_failures_burst": 1,
}

Request = tuple[str, str, Any, dict[str, str]]


async def call(app: Application, request: Request) -> tuple[int, bytes]:
    method, path, body, extra = request
    raw = b"" if body is None else orjson.dumps(body)
    headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(raw)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in extra.items()]
    if "Content-Type" not in extra and raw:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }
    sent = False
    answer: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        answer.append(message.get("status", message.get("body")))

    await app(scope, receive, send)
    return answer[0], b"".join(part for part in answer[1:] if part)


def keyed(key: str = KEY) -> dict[str, str]:
    return {"X-API-Key": key}


def mcp_hash() -> Request:
    headers, body = modern_call("crypto_hash", HASH[2])
    return "POST", "/mcp", body, {**headers, **keyed()}


def mcp_list() -> Request:
    headers, body = modern_call("crypto_hash", {})
    headers["Mcp-Method"] = "tools/list"
    del headers["Mcp-Name"]
    body = {**body, "method": "tools/list", "params": {"_meta": body["params"]["_meta"]}}
    return "POST", "/mcp", body, {**headers, **keyed()}


RATE = b"RATE_LIMIT_ERROR"
AUTHN = b"AUTHENTICATION_ERROR"
WRONG = "wrong-key-0123456789"

# name: (settings, the request, the answer it gets once the first has spent the limit: status and
# error code).  An MCP tool call's refusal is a tool result (isError), answered 200.
CASES: dict[str, tuple[dict[str, Any], Request, tuple[int, bytes]]] = {
    "REST tool call over its class": ({**AUTH, **LIMITED}, (*HASH, keyed()), (429, RATE)),
    "route over the default class": (
        {**AUTH, **LIMITED},
        ("GET", "/api/v1/tools", None, keyed()),
        (429, RATE),
    ),
    "wrong key, no rate limits": (AUTH, (*HASH, keyed(WRONG)), (401, AUTHN)),
    "wrong key over the failure limit": ({**AUTH, **LIMITED}, (*HASH, keyed(WRONG)), (429, RATE)),
    "missing key": (AUTH, (*HASH, {}), (401, AUTHN)),
    "MCP tool call over its class": (
        {**AUTH, **LIMITED, "mcp_enabled": True},
        mcp_hash(),
        (200, RATE),
    ),
    "MCP protocol call over the mcp class": (
        {**AUTH, **LIMITED, "mcp_enabled": True},
        mcp_list(),
        (429, RATE),
    ),
}


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[RedisServer]:
    with run_redis() as server:
        yield server


@contextlib.asynccontextmanager
async def started(settings: dict[str, Any]) -> AsyncIterator[Application]:
    """The application started as the server starts it (the MCP endpoint needs its lifespan)."""
    app = create_app(
        make_settings(**{"mcp_enabled": False, **settings}),
        Registry(catalogue(), ToolContext(make_settings())),
    )
    lifespan = Lifespan(app, {})
    assert await lifespan.startup()
    try:
        yield app
    finally:
        await lifespan.shutdown(10)


async def refusals_leave_no_cycles(
    settings: dict[str, Any], request: Request, expected: tuple[int, bytes]
) -> None:
    async with started(settings) as app:
        await call(app, request)  # spends the limit (or is refused already: a 401)
        await call(app, request)  # whatever is built on first use is built by now

        answers: list[tuple[int, bool]] = []
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept for us to look at
        try:
            for _ in range(20):
                status, body = await call(app, request)
                answers.append((status, expected[1] in body))
            gc.collect()
            garbage = list(gc.garbage)
        finally:
            gc.garbage.clear()
            gc.set_debug(0)
            gc.enable()
    assert answers == [(expected[0], True)] * 20
    errors = {type(item).__name__ for item in garbage if isinstance(item, BaseException)}
    frames = {item.f_code.co_name for item in garbage if isinstance(item, types.FrameType)}
    assert (sorted(errors), sorted(frames)) == ([], [])


@pytest.mark.parametrize("case", CASES)
async def test_a_refusal_leaves_no_cycles(case: str) -> None:
    await refusals_leave_no_cycles(*CASES[case])


@pytest.mark.parametrize(
    ("key", "failures_burst", "expected"),
    [(KEY, 1, (429, RATE)), (WRONG, 1, (429, RATE)), (WRONG, 1000, (401, AUTHN))],
)
async def test_a_refusal_from_the_shared_store_leaves_no_cycles(
    shared_redis: RedisServer, key: str, failures_burst: int, expected: tuple[int, bytes]
) -> None:
    # A database of its own per case: no case finds a bucket another one spent.
    database = {KEY: 1}.get(key, 2 if failures_burst == 1 else 3)
    settings = {
        **AUTH,
        **LIMITED,
        "rate_limit_auth_failures_burst": failures_burst,
        "rate_limit_store": "redis",
        "rate_limit_redis_url": shared_redis.url.rsplit("/", 1)[0] + f"/{database}",
    }
    await refusals_leave_no_cycles(settings, (*HASH, keyed(key)), expected)
