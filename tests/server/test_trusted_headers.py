"""Our ASGI extension: header lines the application pre-rendered, written without a second check.

Ported from the tests of the former uvicorn protocol subclass: the same bytes must reach the wire.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devutils.http.middleware.request_context import SECURITY_LINES
from tests.middleware.raw_http import raw_request
from tests.server.apps import Recorder, make_app
from tests.server.harness import (
    Responses,
    Served,
    read_for,
    read_until_closed,
    request,
    served,
    split,
)
from tests.support import run_server


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with served(make_app(Recorder())) as handle:
        yield handle


def exchange(server: Served, data: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(data)
        return read_until_closed(sock)


def test_the_extension_is_offered(server: Served) -> None:
    assert split(exchange(server, request("/offered")))[1] == b"yes"


def test_trusted_lines_are_written_after_the_checked_headers(server: Served) -> None:
    lines, body = split(exchange(server, request("/trusted")))
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


def test_keep_alive_and_pipelining_use_the_trusted_content_length(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(request("/trusted", close=False) * 3)
        responses = Responses(sock)
        for _ in range(3):
            status, lines, body = responses.next()
            assert status == b"HTTP/1.1 200 OK"
            assert body == b"hello"
            assert not any(line.startswith((b"transfer-encoding", b"connection")) for line in lines)


def test_no_content_length_means_chunked(server: Served) -> None:
    lines, body = split(exchange(server, request("/trusted/chunked")))
    assert b"transfer-encoding: chunked" in lines
    assert b"x-trusted: yes" in lines
    assert body == b"5\r\nhello\r\n0\r\n\r\n"


def test_content_length_from_the_checked_list(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(request("/trusted/length-in-list", close=False) * 2)
        responses = Responses(sock)
        for _ in range(2):
            _, lines, body = responses.next()
            assert body == b"hello"
            assert b"content-length: 5" in lines  # lower-cased
            assert b"x-trusted: yes" in lines


def test_content_length_only_counts_at_the_start_of_a_line(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(request("/trusted/length-later", close=False) * 2)
        data = read_for(sock, 0.5)
    assert data.count(b"\r\n\r\nhello") == 2
    assert b"transfer-encoding" not in data


def test_head_gets_the_headers_and_no_body(server: Served) -> None:
    lines, body = split(exchange(server, request("/trusted", method="HEAD")))
    assert b"content-length: 5" in lines
    assert body == b""


def test_no_content_has_neither_length_nor_chunking(server: Served) -> None:
    lines, body = split(exchange(server, request("/trusted/no-content")))
    assert lines[0] == b"HTTP/1.1 204 No Content"
    assert b"x-trusted: yes" in lines
    assert not any(line.startswith(b"transfer-encoding") for line in lines)
    assert body == b""


def test_headers_in_the_list_are_still_checked(server: Served) -> None:
    response = exchange(server, request("/trusted/bad-list"))
    assert b"x-injected" not in response
    assert b"200 OK" not in response


def test_the_service_sends_date_and_each_header_once() -> None:
    """``devutils serve`` on our server: Date, the security lines, every header exactly once."""
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
            for line in SECURITY_LINES.decode().strip().split("\r\n"):
                name, _, value = line.partition(": ")
                assert response.header(name) == value
        assert response.status == 404
