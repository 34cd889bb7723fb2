"""A request asking for a protocol upgrade (``curl --http2`` on http:// asks for h2c) is answered
as plain HTTP/1.1, body included (RFC 9110 §7.8 lets a server ignore Upgrade), then closed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest

from tests.server.apps import Recorder, make_app
from tests.server.harness import Served, header_value, read_until_closed, served, split

BODY = b'{"content":"abc","algorithm":"sha256"}'
HEAD = (
    b"POST /echo HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n" % len(BODY)
)


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with served(make_app(Recorder())) as handle:
        yield handle


@pytest.mark.parametrize("pause", [0.0, 0.2], ids=["one-write", "body-later"])
def test_an_upgrade_request_is_answered_with_its_body(server: Served, pause: float) -> None:
    with server.connect() as sock:
        sock.sendall(HEAD)
        if pause:
            time.sleep(pause)
        sock.sendall(BODY[:10])
        if pause:
            time.sleep(pause)
        sock.sendall(BODY[10:] + b"GET /echo HTTP/1.1\r\nHost: h\r\n\r\n")  # never read
        lines, body = split(read_until_closed(sock))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert header_value(lines[1:], b"connection") == b"close"
    assert orjson.loads(body)["body"] == BODY.decode()


def test_an_upgrade_request_without_a_body(server: Served) -> None:
    raw = b"GET /echo HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(raw)
        lines, body = split(read_until_closed(sock))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert orjson.loads(body)["body"] == ""
