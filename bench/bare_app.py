"""The benchmark baseline: a bare ASGI app that answers every request with one constant JSON object.

Served by the service's own server (devutils.http.server: uvloop, httptools, same limits) with the
same worker count, so ratios against it measure what dev-utilities adds on top of the server:

    python -m bench.bare_app --port 8081 [--workers N]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

_BODY = b'{"success":true,"data":{"status":"ok"}}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body like a real endpoint would
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


def main() -> int:
    from devutils.http.server.limits import ServerLimits
    from devutils.http.server.runner import run

    parser = argparse.ArgumentParser(description="the bare ASGI app on our server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    sock = socket.create_server((args.host, args.port), backlog=2048)
    if args.workers == 1:
        return run(app, sock, ServerLimits())
    # A benchmark helper: plain fork is fine here (nothing imported that minds it).
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            os._exit(run(app, sock, ServerLimits()))
        children.append(pid)

    def forward(signum: int, frame: object) -> None:
        for child in children:
            os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        os.waitpid(child, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
