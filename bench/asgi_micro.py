"""Per-request cost of the ASGI stack without sockets: µs per call for a few routes.

    .venv/bin/python -m bench.asgi_micro [--stack core|default|full|tracing0] [--profile ROUTE]
        [--mcp-via-sdk] >/dev/null

``mcp_hash`` posts bench/mcp_bench.py's 2026-07-28 ``tools/call`` to ``/mcp``; ``--mcp-via-sdk``
turns the direct path off, so the SDK serves it.

(Results go to stderr; stdout carries the access log of the stacks that write one.)

Complements bench/load.py (which includes the HTTP server and the load generator).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from bench.bare_app import app as bare_app
from bench.load import API_KEY, SCENARIOS, stack_env
from bench.mcp_bench import ARGS, MCP_HEADERS, TOOL, jsonrpc
from devutils.http.app import create_app
from devutils.http.asgi import TRUSTED_HEADERS, ASGIApp
from devutils.http.server.lifespan import Lifespan
from devutils.settings import load_settings

Message = MutableMapping[str, Any]
ROUTES = {
    "bare": ("GET", "/", b""),
    "health": ("GET", "/health", b""),
    # bench/load.py's scenarios, same bodies.
    **{s.name: (s.method, s.path, s.body or b"") for s in SCENARIOS if s.name != "health"},
    "mcp_hash": ("POST", "/mcp", jsonrpc("tools/call", {"name": TOOL, "arguments": ARGS})),
}
ROUTES = {name: route for name, route in ROUTES.items() if not name.startswith("argon2")}


# bench/load.py's stacks, same settings; noauth is full without the API key (401s, then 429s).
STACKS = ("core", "default", "full", "full429", "noauth", "tracing0")


def scope_for(method: str, path: str, body: bytes, key: bool = True) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"wrk")]
    if key:
        headers.append((b"x-api-key", API_KEY.encode()))
    if body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    if path == "/mcp":
        headers += [
            (name.lower().encode(), value.encode())
            for name, value in {**MCP_HEADERS, "Mcp-Method": "tools/call", "Mcp-Name": TOOL}.items()
            if name != "Content-Type"
        ]
    return {
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
    }


@contextlib.asynccontextmanager
async def started(app: ASGIApp) -> AsyncIterator[None]:
    """The app started as our server starts it (the ASGI lifespan protocol), so the figures
    include what start-up sets for serving: the collector's frozen heap and raised threshold
    (devutils.http.app).  Without them the young collections cost health ~5 µs a request here."""
    lifespan = Lifespan(app, {})
    if not await lifespan.startup():
        raise RuntimeError("start-up failed")
    try:
        yield
    finally:
        await lifespan.shutdown(10)


async def run(app: Callable[..., Awaitable[None]], route: str, n: int, key: bool = True) -> float:
    method, path, body = ROUTES[route]

    async def send(message: Message) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope = scope_for(method, path, body, key)
        scope["extensions"] = {
            TRUSTED_HEADERS: {"send": send}
        }  # as our server (devutils.http.server) offers
        await app(scope, receive, send)
    return (time.perf_counter() - start) / n * 1e6


async def main_async(args: argparse.Namespace) -> None:
    app = create_app(
        load_settings(stack_env("full" if args.stack == "noauth" else args.stack, None))
    )
    key = args.stack != "noauth"
    if args.mcp_via_sdk:
        mcp = app.router.resolve("/mcp")
        assert mcp is not None
        mcp.endpoints["POST"].direct = None  # type: ignore[attr-defined]
    async with started(app):
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await run(app, args.profile, args.n, key)
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
            return
        for _ in range(2):
            bare = await run(bare_app, "bare", args.n)
            print(f"bare app      {bare:6.2f} µs/request", file=sys.stderr)
            for route in ("health", "hash_sha256", "base64_1k", "case_camel", "uuid", "mcp_hash"):
                cost = await run(app, route, args.n, key)
                print(f"{route:<13} {cost:6.2f} µs/request (+{cost - bare:.2f})", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20000)
    parser.add_argument("--profile", choices=sorted(ROUTES))
    parser.add_argument("--stack", choices=STACKS, default="core")
    parser.add_argument("--mcp-via-sdk", action="store_true", help="/mcp without the direct path")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
