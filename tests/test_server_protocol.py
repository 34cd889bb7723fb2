"""Our uvicorn protocol: pre-rendered header lines, on a real server and real sockets.

Each case runs twice: through the fast path, and with uvicorn's access log on, which makes the
protocol hand the same message to uvicorn's own send.  Both must put the same bytes on the wire.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from devutils.http.asgi import TRUSTED_HEADERS, trusted_sender
from devutils.http.server_protocol import (
    TrustedHeadersProtocol,
    lines_to_pairs,
    protocol_class,
)
from tests.middleware.raw_http import raw_request
from tests.support import free_port, run_server

TRUSTED = b"content-type: text/plain\r\ncontent-length: 5\r\nx-trusted: yes\r\n"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    send_trusted = trusted_sender(scope)
    start: dict[str, Any] = {"type": "http.response.start", "status": 200}
    if path == "/offered":
        body = b"yes" if send_trusted is not None else b"no"
        start["headers"] = [(b"content-length", b"%d" % len(body))]
        await send(start)
        await send({"type": "http.response.body", "body": body})
        return
    assert send_trusted is not None
    if path == "/trusted":
        start["headers"] = [(b"x-list", b"1")]
        start[TRUSTED_HEADERS] = TRUSTED
        await send_trusted(start)
        await send({"type": "http.response.body", "body": b"hello"})
    elif path == "/chunked":  # no content-length anywhere: the server must chunk
        start["headers"] = []
        start[TRUSTED_HEADERS] = b"x-trusted: yes\r\n"
        await send_trusted(start)
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"de"})
    elif path == "/length-in-list":  # framing from the checked list
        start["headers"] = [(b"Content-Length", b"2")]
        start[TRUSTED_HEADERS] = b"x-trusted: yes\r\n"
        await send_trusted(start)
        await send({"type": "http.response.body", "body": b"ok"})
    elif path == "/length-later":  # the words inside a value are not the header
        start["headers"] = []
        start[TRUSTED_HEADERS] = b"x-note: content-length: 99\r\ncontent-length: 2\r\n"
        await send_trusted(start)
        await send({"type": "http.response.body", "body": b"ok"})
    elif path == "/bad-list":  # a header the server must still refuse
        start["headers"] = [(b"x-bad", b"a\r\nx-injected: 1")]
        start[TRUSTED_HEADERS] = TRUSTED
        await send_trusted(start)
        await send({"type": "http.response.body", "body": b"hello"})
    elif path == "/no-content":
        start["status"] = 204
        start["headers"] = []
        start[TRUSTED_HEADERS] = b"x-trusted: yes\r\n"
        await send_trusted(start)
        await send({"type": "http.response.body", "body": b""})


class AccessLogOff(TrustedHeadersProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Decided by whether uvicorn's access logger has handlers, which pytest's log capture
        # adds; the service itself runs with none.
        self.access_log = False


class AccessLogOn(TrustedHeadersProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = True


@pytest.fixture(
    scope="module", params=[AccessLogOff, AccessLogOn], ids=["fast-path", "uvicorn-send"]
)
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=request.param,
        loop="uvloop",
        lifespan="off",
        log_config=None,
        server_header=False,
        date_header=True,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def exchange(port: int, data: bytes, until_closed: bool = True, wait: float = 0.5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        if until_closed:
            while chunk := sock.recv(65536):
                received += chunk
            return received
        sock.settimeout(wait)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received


def request(path: str, method: str = "GET", close: bool = True) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode()


def split_head(response: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def test_the_extension_is_offered(port: int) -> None:
    response = raw_request(port, "GET", "/offered")
    assert response.body == b"yes"


def test_trusted_lines_are_written_after_the_checked_headers(port: int) -> None:
    lines, body = split_head(exchange(port, request("/trusted")))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert lines[1].startswith(b"date: ")
    assert lines[2:] == [
        b"x-list: 1",
        b"content-type: text/plain",
        b"content-length: 5",
        b"x-trusted: yes",
        b"connection: close",
    ]
    assert body == b"hello"


def test_keep_alive_and_pipelined_requests_use_the_trusted_content_length(port: int) -> None:
    """Without Connection: close the server must know where each body ends."""
    data = exchange(port, request("/trusted", close=False) * 3, until_closed=False)
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.count(b"\r\n\r\nhello") == 3
    assert b"connection: close" not in data
    assert b"transfer-encoding" not in data


def test_no_content_length_means_chunked(port: int) -> None:
    lines, body = split_head(exchange(port, request("/chunked")))
    assert b"transfer-encoding: chunked" in lines
    assert b"x-trusted: yes" in lines
    assert body == b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"


def test_content_length_from_the_checked_list(port: int) -> None:
    data = exchange(port, request("/length-in-list", close=False) * 2, until_closed=False)
    assert data.count(b"\r\n\r\nok") == 2
    lines, _ = split_head(data)
    assert b"content-length: 2" in lines  # lower-cased, as uvicorn does
    assert b"x-trusted: yes" in lines


def test_content_length_only_counts_at_the_start_of_a_line(port: int) -> None:
    data = exchange(port, request("/length-later", close=False) * 2, until_closed=False)
    assert data.count(b"\r\n\r\nok") == 2
    assert b"transfer-encoding" not in data


def test_head_gets_the_headers_and_no_body(port: int) -> None:
    lines, body = split_head(exchange(port, request("/trusted", method="HEAD")))
    assert b"content-length: 5" in lines
    assert body == b""


def test_no_content_has_neither_length_nor_chunking(port: int) -> None:
    lines, body = split_head(exchange(port, request("/no-content")))
    assert lines[0] == b"HTTP/1.1 204 No Content"
    assert b"x-trusted: yes" in lines
    assert not any(line.startswith(b"transfer-encoding") for line in lines)
    assert body == b""


def test_headers_in_the_list_are_still_checked(port: int) -> None:
    response = exchange(port, request("/bad-list"))
    assert b"x-injected" not in response
    assert b"200 OK" not in response


def test_lines_to_pairs_round_trips() -> None:
    assert lines_to_pairs(TRUSTED) == [
        (b"content-type", b"text/plain"),
        (b"content-length", b"5"),
        (b"x-trusted", b"yes"),
    ]
    assert lines_to_pairs(b"") == []


def test_the_installed_uvicorn_is_verified_for_the_protocol() -> None:
    """Fails on a uvicorn upgrade: read its RequestResponseCycle.send against ours, then add the
    release to VERIFIED_UVICORN (the server falls back to uvicorn's protocol until then)."""
    assert protocol_class() is TrustedHeadersProtocol, uvicorn.__version__


def test_the_service_sends_date_and_prerendered_headers() -> None:
    """``devutils serve`` runs on the protocol: Date present, every header exactly once."""
    with run_server() as server:
        for method, path, body in (
            ("GET", "/health", b""),
            ("POST", "/api/v1/crypto/hash", b'{"content":"abc","algorithm":"md5"}'),
            ("GET", "/nope", b""),
        ):
            response = raw_request(server.port, method, path, body=body)
            names = [name.lower() for name, _ in response.headers]
            assert len(names) == len(set(names)), names
            assert {"date", "x-request-id", "content-type", "x-frame-options"} <= set(names)
            assert response.header("content-length") == str(len(response.body))
        assert response.status == 404
