"""MCP tool calls per second next to REST requests per second of the same tool, in one run.

Starts a real ``devutils serve`` (and ``devutils mcp`` for stdio) and calls ``crypto_hash``:

* HTTP, raw: ``wrk`` posts the REST body and the equivalent 2026-07-28 ``tools/call`` body, one
  connection and 16 connections.  The client costs nearly nothing, so this is the server's cost.
* HTTP, Python clients: the SDK's ``mcp.Client`` against ``httpx2`` posting REST, sequential and
  16 concurrent clients: what an agent written in Python sees.
* stdio: the SDK client over a ``devutils mcp`` subprocess, sequential and 16 in flight.

It also prints the byte size of the full ``tools/list`` answer (what every agent downloads).

    .venv/bin/python bench/mcp_bench.py [--seconds 4] [--concurrency 16] [--env KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import orjson
from mcp import Client, StdioServerParameters

TOOL = "crypto_hash"
ARGS = {"content": "hello world", "algorithm": "sha256"}
REST_PATH = "/api/v1/crypto/hash"
PROTOCOL = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
    "io.modelcontextprotocol/clientCapabilities": {},
}
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": PROTOCOL,
}


def jsonrpc(method: str, params: dict[str, Any]) -> bytes:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": META}}
    return orjson.dumps(body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(extra: dict[str, str]) -> dict[str, str]:
    keep = ("AUTH_", "RATE_LIMIT_", "TRACING_", "MCP_", "ARGON_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(keep)}
    # Limits off so the tool is measured, not the limiter's refusals; everything else as deployed.
    env.update(SECRETS_MOUNT_PATH="/nonexistent", RATE_LIMIT_ENABLED="false")
    env.update(extra)
    return env


@contextlib.contextmanager
def serve(extra: dict[str, str]) -> Iterator[str]:
    port = free_port()
    env = server_env(extra) | {
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "SERVER_WORKERS": "1",
    }
    cmd = [sys.executable, "-m", "devutils", "serve"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health/live", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def wrk(url: str, body: bytes, headers: dict[str, str], connections: int, seconds: float) -> float:
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body.decode())}"]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(out)
    return float(match.group(1))


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def rate(
    workers: int, seconds: float, make: Callable[[], Awaitable[Callable[[], Awaitable[None]]]]
) -> float:
    """Calls per second of ``workers`` loops, each calling what ``make`` returns, for ``seconds``."""
    deadline = 0.0
    counts = [0] * workers
    calls = [await make() for _ in range(workers)]
    for call in calls:  # warm-up: first calls pay for connections and caches
        for _ in range(20):
            await call()

    async def loop(index: int) -> None:
        call = calls[index]
        while time.perf_counter() < deadline:
            await call()
            counts[index] += 1

    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(workers)))
    return sum(counts) / (time.perf_counter() - started)


async def python_clients(base: str, workers: int, seconds: float) -> tuple[float, float]:
    async with contextlib.AsyncExitStack() as stack:

        async def make_mcp() -> Callable[[], Awaitable[None]]:
            client = await stack.enter_async_context(Client(f"{base}/mcp"))

            async def call() -> None:
                result = await client.call_tool(TOOL, ARGS)
                assert not result.is_error

            return call

        async def make_rest() -> Callable[[], Awaitable[None]]:
            http = await stack.enter_async_context(httpx2.AsyncClient(base_url=base))

            async def call() -> None:
                response = await http.post(REST_PATH, json=ARGS)
                assert response.status_code == 200

            return call

        mcp_rate = await rate(workers, seconds, make_mcp)
        rest_rate = await rate(workers, seconds, make_rest)
    return mcp_rate, rest_rate


async def stdio_rate(workers: int, seconds: float, extra: dict[str, str]) -> float:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "devutils", "mcp"],
        env={"LOG_LEVEL": "warn"} | server_env(extra),  # its stderr is ours: keep it quiet
    )
    async with Client(params) as client:

        async def make() -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                result = await client.call_tool(TOOL, ARGS)
                assert not result.is_error

            return call

        return await rate(workers, seconds, make)


def tools_list_bytes(base: str) -> tuple[int, int]:
    request = urllib.request.Request(
        f"{base}/mcp",
        data=jsonrpc("tools/list", {}),
        headers={**MCP_HEADERS, "Mcp-Method": "tools/list"},
    )
    with urllib.request.urlopen(request) as response:
        body = response.read()
    return len(body), len(orjson.loads(body)["result"]["tools"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the servers")
    options = parser.parse_args()
    extra = dict(item.split("=", 1) for item in options.env)
    seconds, workers = options.seconds, options.concurrency

    with serve(extra) as base:
        size, count = tools_list_bytes(base)
        print(f"tools/list answer: {size} bytes for {count} tools")
        print(
            f"\n{'HTTP, server cost (wrk)':<40}{'REST req/s':>12}{'MCP calls/s':>13}{'MCP/REST':>10}"
        )
        if shutil.which("wrk"):
            mcp_body = jsonrpc("tools/call", {"name": TOOL, "arguments": ARGS})
            mcp_headers = {**MCP_HEADERS, "Mcp-Method": "tools/call", "Mcp-Name": TOOL}
            rest_headers = {"Content-Type": "application/json"}
            for connections in (1, workers):
                rest = wrk(base + REST_PATH, orjson.dumps(ARGS), rest_headers, connections, seconds)
                mcp = wrk(f"{base}/mcp", mcp_body, mcp_headers, connections, seconds)
                label = f"  {connections} connection(s)"
                print(f"{label:<40}{rest:>12.0f}{mcp:>13.0f}{mcp / rest:>10.2f}")
        else:
            print("  (wrk not installed: skipped)")

        print(
            f"\n{'HTTP, Python clients (SDK / httpx2)':<40}{'REST req/s':>12}{'MCP calls/s':>13}{'MCP/REST':>10}"
        )
        for concurrency in (1, workers):
            mcp, rest = asyncio.run(python_clients(base, concurrency, seconds))
            label = f"  {concurrency} client(s)"
            print(f"{label:<40}{rest:>12.0f}{mcp:>13.0f}{mcp / rest:>10.2f}")

    print(f"\n{'stdio (SDK client)':<40}{'':>12}{'MCP calls/s':>13}")
    for concurrency in (1, workers):
        calls = asyncio.run(stdio_rate(concurrency, seconds, extra))
        print(f"{f'  {concurrency} in flight':<40}{'':>12}{calls:>13.0f}")


if __name__ == "__main__":
    main()
