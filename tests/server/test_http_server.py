"""Our HTTP/1.1 server on real loopback sockets: framing, keep-alive, the ASGI scope, errors."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from devutils.http.asgi import Receive, Scope, Send
from tests.server.apps import Recorder, make_app
from tests.server.harness import (
    Responses,
    Served,
    header_value,
    read_for,
    read_response,
    read_until_closed,
    request,
    served,
    split,
)


@pytest.fixture(scope="module")
def seen() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def server(seen: Recorder) -> Iterator[Served]:
    with served(make_app(seen)) as handle:
        yield handle


def exchange(server: Served, data: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(data)
        return read_until_closed(sock)


def test_scope_follows_the_asgi_spec(server: Served) -> None:
    data = exchange(
        server,
        b"POST /echo/a%20b/%2F?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nx-two: 2\r\nX-One: 3\r\n"
        b"Content-Length: 4\r\nConnection: close\r\n\r\nbody",
    )
    lines, body = split(data)
    assert lines[0] == b"HTTP/1.1 200 OK"
    scope = orjson.loads(body)
    assert scope["method"] == "POST"
    assert scope["http_version"] == "1.1"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/echo/a b//"  # percent-decoded
    assert scope["raw_path"] == "/echo/a%20b/%2F"
    assert scope["query_string"] == "x=1&y=%20"
    assert scope["root_path"] == ""
    assert scope["headers"] == [
        ["host", "h"],
        ["x-one", "1"],
        ["x-two", "2"],
        ["x-one", "3"],
        ["content-length", "4"],
        ["connection", "close"],
    ]
    assert scope["client"][0] == "127.0.0.1"
    assert scope["server"] == ["127.0.0.1", server.port]
    assert scope["state"] == {"started": "yes"}  # from lifespan start-up
    assert scope["asgi"]["version"] == "3.0"
    assert scope["extensions"] == ["devutils.trusted_headers"]
    assert scope["body"] == "body"


def test_whitespace_around_header_values_is_not_part_of_them(server: Served) -> None:
    """RFC 9110 §5.5: leading and trailing SP/HTAB are stripped; inner whitespace is kept."""
    data = exchange(
        server,
        b"GET /echo HTTP/1.1\r\nHost: h\r\nX-Key: k1   \r\nX-Tab:\tk2\t\r\nX-Inner: a  b \r\n"
        b"Connection: close\r\n\r\n",
    )
    headers = dict(map(tuple, orjson.loads(split(data)[1])["headers"]))
    assert headers["x-key"] == "k1"
    assert headers["x-tab"] == "k2"
    assert headers["x-inner"] == "a  b"


def test_date_header_and_no_server_header(server: Served) -> None:
    lines, _ = split(exchange(server, request("/")))
    date = header_value(lines[1:], b"date")
    assert date is not None
    assert date.endswith(b" GMT")
    assert header_value(lines[1:], b"server") is None


def test_keep_alive_and_pipelined_requests_in_one_packet(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(request("/", close=False) + request("/echo?n=2", close=False))
        responses = Responses(sock)
        first = responses.next()
        second = responses.next()
        assert first[2] == b"ok"
        assert orjson.loads(second[2])["query_string"] == "n=2"
        sock.sendall(request("/"))  # the same connection still serves, then closes as asked
        assert read_response(sock)[2] == b"ok"
        assert read_until_closed(sock) == b""


def test_chunked_request_body(server: Served) -> None:
    data = exchange(
        server,
        b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    )
    assert orjson.loads(split(data)[1])["body"] == "abcdefg"


def test_expect_100_continue(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\n\r\n"
        )
        interim = read_for(sock, 1.0)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"  # and no final answer before the body
        sock.sendall(b"hello")
        lines, body = split(read_until_closed(sock))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert orjson.loads(body)["body"] == "hello"


def test_head_gets_headers_and_no_body(server: Served) -> None:
    lines, body = split(exchange(server, request("/", method="HEAD")))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert header_value(lines[1:], b"content-length") == b"2"
    assert body == b""


def test_no_content_length_means_chunked(server: Served) -> None:
    lines, body = split(exchange(server, request("/stream")))
    assert header_value(lines[1:], b"transfer-encoding") == b"chunked"
    assert body == b"3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n"


def test_http_1_0(server: Served) -> None:
    lines, body = split(exchange(server, b"GET /stream HTTP/1.0\r\n\r\n"))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert header_value(lines[1:], b"connection") == b"close"
    assert header_value(lines[1:], b"transfer-encoding") is None  # HTTP/1.0 has no chunking
    assert body == b"abcdef"
    with server.connect() as sock:  # HTTP/1.0 keep-alive when asked for
        sock.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        _, lines, body = read_response(sock)
        assert header_value(lines, b"connection") == b"keep-alive"
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert read_response(sock)[2] == b"ok"
        assert read_until_closed(sock) == b""


def test_client_disconnect_reaches_the_app(server: Served, seen: Recorder) -> None:
    with server.connect() as sock:
        sock.sendall(request("/until-disconnect", close=False))
        assert b"event: a" in read_for(sock, 0.5)
        assert "http.disconnect" not in seen.events
    deadline = time.monotonic() + 5
    while "http.disconnect" not in seen.events and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "http.disconnect" in seen.events


def test_send_waits_for_a_slow_reader(server: Served, seen: Recorder) -> None:
    """Write backpressure: 16 MiB are not buffered in the server for a client that reads none."""
    with server.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(request("/big"))
        time.sleep(0.5)
        assert not seen.big_sent
        received = len(read_until_closed(sock, timeout=10))
    assert received > 16 * 1024 * 1024
    assert seen.big_sent


def test_malformed_request_is_400_and_closed(server: Served) -> None:
    lines, body = split(exchange(server, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"))
    assert lines[0] == b"HTTP/1.1 400 Bad Request"
    assert header_value(lines[1:], b"connection") == b"close"
    assert orjson.loads(body)["error"]["code"] == "VALIDATION_ERROR"


def test_app_error_before_the_response_is_500_without_details(server: Served) -> None:
    lines, body = split(exchange(server, request("/boom", close=False)))
    assert lines[0] == b"HTTP/1.1 500 Internal Server Error"
    assert header_value(lines[1:], b"connection") == b"close"
    assert orjson.loads(body)["error"]["code"] == "INTERNAL_ERROR"
    assert b"secret" not in body


def test_app_error_after_the_response_started_closes_the_connection(server: Served) -> None:
    data = exchange(server, request("/boom-late", close=False))
    lines, body = split(data)
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert body == b"7\r\npartial\r\n"  # no terminating chunk: the client sees it was cut


def test_lifespan_shutdown_runs_and_the_server_returns_zero() -> None:
    seen = Recorder()
    with served(make_app(seen)) as handle:
        assert exchange(handle, request("/")).endswith(b"ok")
    assert handle.result == [0]
    assert seen.events == ["lifespan.shutdown"]


def test_lifespan_start_up_failure_is_a_non_zero_result() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("no database")

    import asyncio

    from devutils.http.server.limits import ServerLimits
    from devutils.http.server.runner import serve

    sock = socket.create_server(("127.0.0.1", 0))
    with sock:
        assert asyncio.run(serve(failing, sock, ServerLimits())) != 0


def test_an_answer_before_the_body_arrived_says_the_connection_closes(server: Served) -> None:
    """A 401 or 429 may come before the request body; that connection cannot carry another
    request, so the response must say ``Connection: close`` (a client would otherwise reuse it
    and meet a reset)."""
    with server.connect() as sock:
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
        status, lines, body = read_response(sock)
        assert (status, body) == (b"HTTP/1.1 200 OK", b"done")
        assert header_value(lines, b"connection") == b"close"
        assert read_until_closed(sock) == b""


def test_the_server_s_own_errors_are_dated_now_with_an_id_and_security_headers(
    server: Served,
) -> None:
    answers = []
    for attempt in range(2):
        if attempt:
            time.sleep(1.1)  # the Date header has whole seconds
        lines, body = split(exchange(server, b"GARBAGE\r\n\r\n"))
        assert lines[0] == b"HTTP/1.1 400 Bad Request"
        assert orjson.loads(body)["error"]["message"] == "Malformed HTTP request"
        answers.append(lines)
    for lines in answers:
        date = header_value(lines, b"date")
        assert date is not None
        sent = time.mktime(time.strptime(date.decode(), "%a, %d %b %Y %H:%M:%S GMT"))
        assert abs(sent - time.mktime(time.gmtime())) < 5  # rendered now, not at import
        for name in (b"x-frame-options", b"content-security-policy", b"x-content-type-options"):
            assert header_value(lines, name) is not None, name
    dates = [header_value(lines, b"date") for lines in answers]
    assert dates[0] != dates[1]
    ids = [header_value(lines, b"x-request-id") for lines in answers]
    assert None not in ids
    assert ids[0] != ids[1]
