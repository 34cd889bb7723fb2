"""The trailer section of a chunked request body: never merged into the request's headers
(RFC 9110 §6.5.1), and bounded by the header limits like the head, with the same 431."""

from __future__ import annotations

import time

import orjson
import pytest

from tests.server.apps import Recorder, wait_for_event
from tests.server.harness import Responses, Served, header_value, read_until_closed, split

HEAD = b"POST %s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
BODY = b"5\r\nhello\r\n0\r\n"


def test_trailer_fields_never_join_the_request_headers(server: Served) -> None:
    trailers = (
        b"X-API-Key: 0123456789abcdef0123456789abcdef\r\n"
        b"X-Forwarded-For: 203.0.113.99\r\nContent-Type: application/json\r\n\r\n"
    )
    with server.connect() as sock:
        sock.sendall(HEAD % b"/echo" + BODY + trailers)
        responses = Responses(sock)
        status, _, body = responses.next()
        # The connection goes on: the trailers were read to their end, not left as a request.
        sock.sendall(HEAD % b"/echo" + BODY + b"\r\n")
        second_status, _, second = responses.next()
    assert status == second_status == b"HTTP/1.1 200 OK"
    echoed = orjson.loads(body)
    assert echoed["body"] == "hello"
    assert echoed["headers"] == [["host", "h"], ["transfer-encoding", "chunked"]]
    assert orjson.loads(second)["headers"] == echoed["headers"]


def _assert_431(data: bytes, message: str) -> None:
    lines, body = split(data)
    assert lines[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert header_value(lines[1:], b"connection") == b"close"
    error = orjson.loads(body)["error"]
    assert (error["code"], error["message"]) == ("REQUEST_HEADER_TOO_LARGE", message)


@pytest.mark.parametrize(
    ("trailers", "message"),
    [
        (b"".join(b"X-T%d: v\r\n" % i for i in range(101)) + b"\r\n", "Too many trailer fields"),
        (b"X-Big: " + b"v" * 70_000 + b"\r\n\r\n", "Trailer section too large"),
    ],
    ids=["too-many-fields", "too-many-bytes"],
)
def test_trailers_over_the_header_limits_are_431_and_the_app_sees_a_disconnect(
    server: Served, seen: Recorder, trailers: bytes, message: str
) -> None:
    """Was: no answer at all, and the connection held for ever (reading paused, no timer)."""
    with server.connect() as sock:
        sock.sendall(HEAD % b"/body-events" + BODY + trailers)
        data = read_until_closed(sock)
    _assert_431(data, message)
    # /body-events reads the body, then answers regardless: the answer was dropped.
    assert wait_for_event(seen, "sent")[-2:] == ["http.disconnect", "sent"]
    assert b"later" not in data


def test_a_trailer_field_that_never_ends_is_refused_before_it_is_all_buffered(
    server: Served,
) -> None:
    """httptools keeps a field until its end: the server counts what arrives instead."""
    with server.connect() as sock:
        sock.sendall(HEAD % b"/body-events" + BODY + b"X-Endless: ")
        for _ in range(40):  # 40 x 4 KiB, far past the 64 KiB limit, never a line end
            try:
                sock.sendall(b"v" * 4096)
            except OSError:  # refused and closed: what follows meets a closed socket
                break
            time.sleep(0.01)
        data = read_until_closed(sock)
    _assert_431(data, "Trailer section too large")
