"""A chunked request body the parser refuses: the client is answered 400 (or, once its response
has started, the connection is closed), the application learns the client is gone, and a
pipelined request before it still gets its whole response."""

from __future__ import annotations

import socket

import orjson
import pytest

from tests.server.apps import Recorder, wait_for_event
from tests.server.harness import (
    BAD_BODIES,
    Responses,
    Served,
    assert_malformed_answer,
    header_value,
    read_for,
    read_until_closed,
    request,
    split,
)

CHUNKED_HEAD = b"POST %s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("bad", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_malformed_chunked_body_is_400_and_the_app_sees_a_disconnect(
    server: Served, seen: Recorder, bad: bytes
) -> None:
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/body-events" + bad)
        data = read_until_closed(sock)
    assert_malformed_answer(data)
    events = wait_for_event(seen, "sent")
    assert events[-2:] == ["http.disconnect", "sent"]  # and what it sent was dropped
    assert b"later" not in data


def test_a_malformed_body_arriving_after_the_head_is_400(server: Served, seen: Recorder) -> None:
    """The application is already waiting in receive() when the bad chunk comes."""
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/body-events" + b"2\r\nab\r\n")
        assert wait_for_event(seen, "http.request") == ["http.request"]
        assert read_for(sock, 0.2) == b""  # no answer before the body is complete
        sock.sendall(b"ZZ\r\n")
        assert_malformed_answer(read_until_closed(sock))
    assert wait_for_event(seen, "sent") == ["http.request", "http.disconnect", "sent"]


def test_a_malformed_body_after_the_response_started_closes_the_connection(
    server: Served, seen: Recorder
) -> None:
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/answer-then-read")
        head = b""
        while b"early" not in head:
            head += sock.recv(65536)
        sock.sendall(b"ZZ\r\n")
        data = head + read_until_closed(sock)
    lines, body = split(data)
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert body == b"5\r\nearly\r\n"  # cut, without a 400 written into it
    assert wait_for_event(seen, "http.disconnect") == ["http.disconnect"]


def test_a_pipelined_malformed_body_waits_for_the_running_response(
    server: Served, seen: Recorder
) -> None:
    with server.connect() as sock:
        sock.sendall(
            request("/slow", close=False)
            + CHUNKED_HEAD % b"/body-events"
            + BAD_BODIES["bad-chunk-size"]
        )
        responses = Responses(sock)
        status, lines, body = responses.next()
        assert (status, body) == (b"HTTP/1.1 200 OK", b"done")
        assert header_value(lines, b"connection") is None  # it was framed for keep-alive
        rest = responses.buffer + read_until_closed(sock)
    assert_malformed_answer(rest)
    assert seen.events == []  # the refused request never reached the application


def test_a_pipelined_malformed_head_waits_for_the_running_response(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(request("/slow", close=False) + b"GARBAGE\r\n\r\n")
        responses = Responses(sock)
        status, _, body = responses.next()
        assert (status, body) == (b"HTTP/1.1 200 OK", b"done")
        assert_malformed_answer(responses.buffer + read_until_closed(sock))


def test_requests_pipelined_before_the_malformed_one_are_all_answered(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(
            request("/slow", close=False)
            + request("/echo?n=2", close=False)
            + CHUNKED_HEAD % b"/echo"
            + b"3\r\nabcdef\r\n"
        )
        responses = Responses(sock)
        assert responses.next()[2] == b"done"
        assert orjson.loads(responses.next()[2])["query_string"] == "n=2"
        assert_malformed_answer(responses.buffer + read_until_closed(sock))


def test_the_connection_is_not_read_after_the_parse_error(server: Served) -> None:
    """The parser cannot find the next request after a refused one: what follows is ignored,
    not answered."""
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/echo" + b"ZZ\r\n" + request("/"))
        data = read_until_closed(sock)
    assert data.count(b"HTTP/1.1") == 1
    assert_malformed_answer(data)


def test_the_server_goes_on_serving_after_a_malformed_body(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/echo" + b"ZZ\r\n")
        read_until_closed(sock)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as other:
        other.sendall(request("/"))
        assert read_until_closed(other).endswith(b"ok")


@pytest.mark.parametrize("path", [b"/", b"/boom", b"/slow"], ids=["answers", "raises", "sleeps"])
def test_a_malformed_body_in_the_heads_read_is_answered_whatever_the_app_does(
    server: Served, path: bytes
) -> None:
    """Refused before its application ran, the request's 400 waits for it (to carry the id it
    gives the request): it comes when the application answers without reading the body, raises,
    or ends, and only the 400 is sent."""
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % path + BAD_BODIES["bad-chunk-size"])
        assert_malformed_answer(read_until_closed(sock))
