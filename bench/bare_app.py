"""The benchmark baseline: a bare ASGI app that answers every request with one constant JSON object.

Run on stock uvicorn with the service's loop and parser (uvloop, httptools, one process), so ratios
against it measure what dev-utilities adds.  The service's protocol subclass
(devutils.http.server_protocol) only changes how the headers the service builds are written; the
bare app on it costs slightly more than on stock uvicorn (docs/performance.md), not less.
"""

from __future__ import annotations

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
