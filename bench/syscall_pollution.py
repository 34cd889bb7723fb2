"""What a system call between requests costs the request path that follows it, in process.

    .venv/bin/python -m bench.syscall_pollution [--stack core|default|full] [-n 20000] >/dev/null

Under load our server spends more CPU per request than the bare server plus the in-process cost
of the stack (bench/asgi_micro.py) add up to, by the same amount at 1, 8 and 64 connections, so
it is not a cost of concurrency.  This isolates one candidate: each request of a real server sits
between system calls (one ``read``, one ``write``), and a kernel entry evicts part of the
caches and branch history the next request's Python code runs on.  The script runs the stack's
hash route (and the bare app) in a tight loop, then again with one ``send``/``recv`` pair on a
socketpair before each call, and prints the excess: (call + pair) - call - pair.  The bare app's
path is small and shows almost none; a long Python path pays for the refill.

(Results go to stderr; stdout carries the access log of the stacks that write one.)
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.asgi_micro import STACKS, run, started
from bench.bare_app import app as bare_app
from bench.load import stack_env
from devutils.http.app import create_app
from devutils.settings import load_settings

PAYLOAD = b"x" * 300  # about one request's size
ASGICallable = Callable[..., Awaitable[None]]


def _pair_cost(sender: socket.socket, receiver: socket.socket, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        sender.send(PAYLOAD)
        receiver.recv(4096)
    return (time.perf_counter() - start) / n * 1e6


def _with_syscalls(
    app: ASGICallable, sender: socket.socket, receiver: socket.socket
) -> ASGICallable:
    async def polluted(scope: Any, receive: Any, send: Any) -> None:
        sender.send(PAYLOAD)
        receiver.recv(4096)
        await app(scope, receive, send)

    return polluted


async def main_async(args: argparse.Namespace) -> None:
    app = create_app(load_settings(stack_env(args.stack, None)))
    sender, receiver = socket.socketpair()
    excess: dict[str, list[float]] = {"stack": [], "bare": []}
    async with started(app):
        for _ in range(args.rounds):
            pair = _pair_cost(sender, receiver, args.n)
            for name, target, route in (("stack", app, "hash_sha256"), ("bare", bare_app, "bare")):
                alone = await run(target, route, args.n)
                polluted = await run(_with_syscalls(target, sender, receiver), route, args.n)
                extra = polluted - alone - pair
                excess[name].append(extra)
                print(
                    f"{name:<5} {alone:6.2f} µs alone, {polluted:6.2f} with a send/recv pair of "
                    f"{pair:4.2f} µs: excess {extra:+6.2f} µs",
                    file=sys.stderr,
                )
    for name, values in excess.items():
        print(f"median excess, {name}: {statistics.median(values):+.2f} µs", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stack", choices=[s for s in STACKS if s != "noauth"], default="core")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
