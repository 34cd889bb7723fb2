"""A small ASGI app that shows the server's behaviour: echo, streaming, trusted lines, errors."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from devutils.http.asgi import TRUSTED_HEADERS, trusted_sender

TRUSTED = b"content-type: text/plain\r\ncontent-length: 5\r\nx-trusted: yes\r\n"


class Recorder:
    """What the app saw, for the tests to check (set from the server's thread)."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.big_sent = False
        # How /big's task ended: "sent" (all of it), "cancelled" (the client left), or None.
        self.big_ended: str | None = None


def wait_for_event(seen: Recorder, last: str) -> list[str]:
    """The events once ``last`` was recorded (the application runs in the server's thread)."""
    deadline = time.monotonic() + 5
    while last not in seen.events and time.monotonic() < deadline:
        time.sleep(0.01)
    return seen.events


async def read_all(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        body += bytes(message.get("body", b""))
        if not message.get("more_body", False):
            return body


def make_app(seen: Recorder) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["started"] = "yes"
            await send({"type": "lifespan.startup.complete"})
            await receive()
            seen.events.append("lifespan.shutdown")
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": []}
        if path.startswith("/echo"):
            body = await read_all(receive)
            payload = {
                key: scope[key]
                for key in ("http_version", "method", "scheme", "path", "root_path", "client")
            }
            payload["raw_path"] = scope["raw_path"].decode()
            payload["query_string"] = scope["query_string"].decode()
            payload["headers"] = [[k.decode(), v.decode()] for k, v in scope["headers"]]
            payload["server"] = list(scope["server"])
            payload["state"] = scope["state"]
            payload["asgi"] = scope["asgi"]
            payload["extensions"] = sorted(scope.get("extensions", {}))
            payload["body"] = body.decode()
            data = orjson.dumps(payload)
            start["headers"] = [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(data)),
            ]
            await send(start)
            await send({"type": "http.response.body", "body": data})
        elif path == "/body-events":  # what receive() gives, then an answer sent regardless
            while True:
                message = await receive()
                seen.events.append(message["type"])
                if message["type"] == "http.disconnect" or not message.get("more_body"):
                    break
            start["headers"] = [(b"content-length", b"5")]
            await send(start)
            await send({"type": "http.response.body", "body": b"later"})
            seen.events.append("sent")
        elif path == "/answer-then-read":  # the response starts before the body is read
            await send(start)
            await send({"type": "http.response.body", "body": b"early", "more_body": True})
            while (message := await receive())["type"] != "http.disconnect":
                if not message.get("more_body"):
                    break
            seen.events.append(message["type"])
            await send({"type": "http.response.body", "body": b""})
        elif path == "/stream":  # no content-length: chunked on HTTP/1.1
            await send(start)
            for part in (b"abc", b"", b"de"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"f"})
        elif path == "/until-disconnect":
            await send(start)
            await send({"type": "http.response.body", "body": b"event: a\n\n", "more_body": True})
            message = await receive()  # the request body (none)
            message = await receive()  # then nothing until the client goes away
            seen.events.append(message["type"])
        elif path == "/big":  # 16 MiB: only as fast as the client reads
            chunk = b"x" * 65536
            start["headers"] = [(b"content-length", b"%d" % (256 * len(chunk)))]
            try:
                await send(start)
                for _ in range(255):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": chunk})
            except asyncio.CancelledError:
                seen.big_ended = "cancelled"
                raise
            seen.big_sent = True
            seen.big_ended = "sent"
        elif path == "/huge":  # ?bytes=N (default 8 MiB) in one write, as the service answers
            size = int(scope["query_string"] or b"8388608")
            start["headers"] = [(b"content-length", b"%d" % size)]
            await send(start)
            await send({"type": "http.response.body", "body": b"y" * size})
        elif path == "/slow":
            await asyncio.sleep(0.6)
            start["headers"] = [(b"content-length", b"4")]
            await send(start)
            await send({"type": "http.response.body", "body": b"done"})
        elif path == "/boom":
            raise ValueError("secret request data")
        elif path == "/boom-late":
            await send(start)
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise ValueError("late")
        elif path == "/offered":
            body = b"yes" if trusted_sender(scope) is not None else b"no"
            start["headers"] = [(b"content-length", b"%d" % len(body))]
            await send(start)
            await send({"type": "http.response.body", "body": body})
        elif path.startswith("/trusted"):
            await trusted(path, scope, send)
        else:
            start["headers"] = [(b"content-length", b"2")]
            await send(start)
            await send({"type": "http.response.body", "body": b"ok"})

    return app


async def trusted(path: str, scope: dict[str, Any], send: Any) -> None:
    send_trusted = trusted_sender(scope)
    assert send_trusted is not None
    start: dict[str, Any] = {"type": "http.response.start", "status": 200}
    body = b"hello"
    if path == "/trusted":
        start["headers"] = [(b"x-list", b"1")]
        start[TRUSTED_HEADERS] = TRUSTED
    elif path == "/trusted/chunked":
        start["headers"] = []
        start[TRUSTED_HEADERS] = b"x-trusted: yes\r\n"
    elif path == "/trusted/length-in-list":
        start["headers"] = [(b"Content-Length", b"5")]
        start[TRUSTED_HEADERS] = b"x-trusted: yes\r\n"
    elif path == "/trusted/length-later":  # the words inside a value are not the header
        start["headers"] = []
        start[TRUSTED_HEADERS] = b"x-note: content-length: 99\r\ncontent-length: 5\r\n"
    elif path == "/trusted/bad-list":
        start["headers"] = [(b"x-bad", b"a\r\nx-injected: 1")]
        start[TRUSTED_HEADERS] = TRUSTED
    elif path == "/trusted/no-content":
        start["status"] = 204
        start["headers"] = []
        start[TRUSTED_HEADERS] = b"x-trusted: yes\r\n"
        body = b""
    await send_trusted(start)
    await send({"type": "http.response.body", "body": body})
