"""What HTTP/1.1 tells a server to refuse other than 400 (RFC 9110 §9.1, §15.6; RFC 9112 §2.3,
§6.1, §6.3), answered before the application runs, with the error envelope and a close:

- an unknown method (methods are case-sensitive), an RTSP method, CONNECT (we are no proxy): 501
  ``NOT_IMPLEMENTED``;
- a transfer coding other than chunked before the final chunked: 501; a Transfer-Encoding whose
  last coding is not chunked, or in an HTTP/1.0 request, leaves the body length unknown: 400;
- a major version other than 1: 505 ``HTTP_VERSION_NOT_SUPPORTED``; a higher 1.x minor version
  is served as HTTP/1.1.
"""

from __future__ import annotations

import orjson
import pytest

from tests.server.apps import Recorder
from tests.server.harness import (
    Responses,
    Served,
    header_value,
    read_until_closed,
    request,
    split,
)

HOST = b"Host: 127.0.0.1\r\n"
CHUNKED_BODY = b"2\r\nab\r\n0\r\n\r\n"


def refused(server: Served, raw: bytes) -> tuple[bytes, dict[str, str]]:
    """The status line and error object of the server's answer to ``raw``, checked to be the
    whole of what came before the server closed the connection."""
    with server.connect() as sock:
        sock.sendall(raw)
        data = read_until_closed(sock)  # returns only once the server has closed
    lines, body = split(data)
    assert header_value(lines[1:], b"connection") == b"close"
    assert header_value(lines[1:], b"content-length") == b"%d" % len(body)  # nothing after it
    envelope = orjson.loads(body)
    assert envelope["success"] is False
    return lines[0], envelope["error"]


def post(transfer_encoding: bytes, version: bytes = b"1.1") -> bytes:
    head = b"POST /body-events HTTP/%s\r\n%sTransfer-Encoding: %s\r\n\r\n"
    return head % (version, HOST, transfer_encoding) + CHUNKED_BODY


# --- methods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "details"),
    [
        (b"BREW", "method BREW"),
        (b"get", "method get (methods are case-sensitive: GET)"),
        (b"Post", "method Post (methods are case-sensitive: POST)"),
        (b"GETX", "method GETX"),  # a known method's prefix: the parser reads on to the space
        (b"X" * 21, None),  # too long to quote back
    ],
    ids=["BREW", "lowercase-get", "mixed-case-post", "GETX", "long"],
)
def test_an_unknown_method_is_501(
    server: Served, seen: Recorder, method: bytes, details: str | None
) -> None:
    status, error = refused(server, method + b" /body-events HTTP/1.1\r\n" + HOST + b"\r\n")
    assert status == b"HTTP/1.1 501 Not Implemented"
    assert (error["code"], error["message"]) == (
        "NOT_IMPLEMENTED",
        "Request method not implemented",
    )
    assert error.get("details") == details
    assert seen.events == []  # the application never ran


@pytest.mark.parametrize("method", [b"DESCRIBE", b"GET_PARAMETER", b"TEARDOWN"])
def test_an_rtsp_method_on_an_http_line_is_501(
    server: Served, seen: Recorder, method: bytes
) -> None:
    """The parser knows RTSP's methods and refuses them on an HTTP line as malformed."""
    status, error = refused(server, method + b" /body-events HTTP/1.1\r\n" + HOST + b"\r\n")
    assert status == b"HTTP/1.1 501 Not Implemented"
    assert error["details"] == "method " + method.decode()
    assert seen.events == []


def test_an_rtsp_method_pipelined_after_a_served_request_is_400(server: Served) -> None:
    """Only the first request of a read is known to begin there (see the BREW case below)."""
    with server.connect() as sock:
        sock.sendall(request("/echo", close=False) + b"DESCRIBE / HTTP/1.1\r\n" + HOST + b"\r\n")
        responses = Responses(sock)
        first, _, _ = responses.next()
        second, _, body = responses.next()
    assert (first, second) == (b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request")
    assert orjson.loads(body)["error"]["message"] == "Malformed HTTP request"


def test_connect_is_501(server: Served, seen: Recorder) -> None:
    """RFC 9110 §9.3.6: CONNECT opens a tunnel, which only a proxy does."""
    status, error = refused(server, b"CONNECT 127.0.0.1:443 HTTP/1.1\r\n" + HOST + b"\r\n")
    assert status == b"HTTP/1.1 501 Not Implemented"
    assert (error["code"], error["details"]) == (
        "NOT_IMPLEMENTED",
        "method CONNECT: this server is no proxy",
    )
    assert seen.events == []


def test_empty_lines_before_the_request_line_do_not_hide_the_method(server: Served) -> None:
    status, error = refused(server, b"\r\nBREW / HTTP/1.1\r\n" + HOST + b"\r\n")
    assert status == b"HTTP/1.1 501 Not Implemented"
    assert error["details"] == "method BREW"


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello on the HTTP port
        b"GET\t/ HTTP/1.1\r\n" + HOST + b"\r\n",
        b"B<b>W / HTTP/1.1\r\n" + HOST + b"\r\n",
    ],
    ids=["no-request-line", "tls-handshake", "tab-after-method", "not-a-token"],
)
def test_bytes_that_are_no_method_stay_a_malformed_request(server: Served, raw: bytes) -> None:
    status, error = refused(server, raw)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "Malformed HTTP request")
    assert "details" not in error


def test_an_unknown_method_on_a_kept_alive_connection_is_501(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(request("/echo", close=False))
        responses = Responses(sock)
        status, _, body = responses.next()
        assert (status, orjson.loads(body)["method"]) == (b"HTTP/1.1 200 OK", "GET")
        sock.sendall(b"BREW / HTTP/1.1\r\n" + HOST + b"\r\n")
        status, lines, body = responses.next()
        assert status == b"HTTP/1.1 501 Not Implemented"
        assert header_value(lines, b"connection") == b"close"
        assert orjson.loads(body)["error"]["details"] == "method BREW"
        assert responses.buffer + read_until_closed(sock) == b""


def test_an_unknown_method_pipelined_in_the_same_read_is_400_after_the_answer_before(
    server: Served,
) -> None:
    """The parser does not say where in a read a request began, so a method there cannot be
    told from garbage (tests/server/test_malformed_bodies.py): the old 400 stands."""
    with server.connect() as sock:
        sock.sendall(request("/echo", close=False) + b"BREW / HTTP/1.1\r\n" + HOST + b"\r\n")
        responses = Responses(sock)
        first, _, body = responses.next()
        assert (first, orjson.loads(body)["method"]) == (b"HTTP/1.1 200 OK", "GET")
        second, lines, body = responses.next()
        assert second == b"HTTP/1.1 400 Bad Request"
        assert header_value(lines, b"connection") == b"close"
        assert orjson.loads(body)["error"]["code"] == "VALIDATION_ERROR"
        assert responses.buffer + read_until_closed(sock) == b""


def test_methods_the_parser_knows_reach_the_application(server: Served) -> None:
    """The application answers those it does not route (405 on a known path)."""
    with server.connect() as sock:
        sock.sendall(request("/echo", method="PROPFIND"))
        status, _, body = Responses(sock).next()
    assert (status, orjson.loads(body)["method"]) == (b"HTTP/1.1 200 OK", "PROPFIND")


# --- transfer codings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transfer_encoding", "details"),
    [
        (b"gzip, chunked", "only chunked is implemented, not gzip"),
        (b"gzip\r\nTransfer-Encoding: chunked", "only chunked is implemented, not gzip"),
        (b"Deflate;x=1, br, chunked", "only chunked is implemented, not deflate, br"),
        (b"\xffzip, chunked", "only chunked is implemented"),  # not a token: not quoted back
    ],
    ids=["gzip-chunked", "two-fields", "parameters", "not-a-token"],
)
def test_a_coding_other_than_chunked_is_501_and_closes(
    server: Served, seen: Recorder, transfer_encoding: bytes, details: str
) -> None:
    # A valid request follows in the same write: it must not be answered.
    status, error = refused(server, post(transfer_encoding) + request("/echo"))
    assert status == b"HTTP/1.1 501 Not Implemented"
    assert (error["code"], error["message"]) == (
        "NOT_IMPLEMENTED",
        "Transfer coding not implemented",
    )
    assert error["details"] == details
    assert seen.events == []


@pytest.mark.parametrize(
    ("transfer_encoding", "version", "details"),
    [
        (b"br", b"1.1", "Transfer-Encoding does not end with a single chunked"),
        (b"identity", b"1.1", "Transfer-Encoding does not end with a single chunked"),
        (b"chunked;x=1", b"1.1", "Transfer-Encoding does not end with a single chunked"),
        (b"chunked, gzip", b"1.1", None),  # the parser refuses it while reading the field
        (b"chunked", b"1.0", "Transfer-Encoding in an HTTP/1.0 request"),
    ],
    ids=["br", "identity", "chunked-with-parameter", "chunked-not-last", "http-1.0"],
)
def test_an_unknown_body_length_is_400_and_closes(
    server: Served, seen: Recorder, transfer_encoding: bytes, version: bytes, details: str | None
) -> None:
    """RFC 9112 §6.3 (and §6.1 for HTTP/1.0): the body cannot be delimited, so whatever follows
    on the connection cannot be read as the next request."""
    status, error = refused(server, post(transfer_encoding, version) + request("/echo"))
    assert status == b"HTTP/1.1 400 Bad Request"
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "Malformed HTTP request")
    if details is None:
        assert "details" not in error
    else:
        assert error["details"].startswith(details)
    assert seen.events == []


@pytest.mark.parametrize("transfer_encoding", [b"chunked", b"CHUNKED", b", chunked"])
def test_chunked_alone_is_read(server: Served, transfer_encoding: bytes) -> None:
    head = b"POST /echo HTTP/1.1\r\n%sTransfer-Encoding: %s\r\nConnection: close\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(head % (HOST, transfer_encoding) + CHUNKED_BODY)
        status, _, body = Responses(sock).next()
    assert (status, orjson.loads(body)["body"]) == (b"HTTP/1.1 200 OK", "ab")


# --- versions --------------------------------------------------------------------------------


@pytest.mark.parametrize("minor", [b"2", b"9"])
def test_a_higher_1_x_minor_version_is_served_as_1_1(server: Served, minor: bytes) -> None:
    """RFC 9110 §2.5 and RFC 9112 §2.3: answered as HTTP/1.1, with its rules (keep-alive)."""
    with server.connect() as sock:
        first = b"GET /echo HTTP/1.%s\r\n%s\r\n" % (minor, HOST)
        last = b"GET /echo HTTP/1.%s\r\n%sConnection: close\r\n\r\n" % (minor, HOST)
        sock.sendall(first + last)
        responses = Responses(sock)
        for _ in range(2):
            status, _, body = responses.next()
            assert (status, orjson.loads(body)["http_version"]) == (b"HTTP/1.1 200 OK", "1.1")
        assert responses.buffer + read_until_closed(sock) == b""


def test_a_higher_1_x_minor_version_needs_a_host_as_1_1_does(server: Served) -> None:
    status, error = refused(server, b"GET /echo HTTP/1.2\r\n\r\n")
    assert status == b"HTTP/1.1 400 Bad Request"
    assert error["details"] == "no Host header (HTTP/1.1 needs one)"


@pytest.mark.parametrize(
    ("raw", "version"),
    [
        (b"GET /body-events HTTP/2.0\r\n" + HOST + b"\r\n", "2.0"),
        (b"GET /body-events HTTP/3.0\r\n" + HOST + b"\r\n", "3.0"),
        (b"GET /body-events HTTP/9.9\r\n" + HOST + b"\r\n", "9.9"),
        (b"GET /body-events HTTP/0.9\r\n\r\n", "0.9"),
        (b"GET /body-events\r\n\r\n", "0.9"),  # an HTTP/0.9 request line has no version
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "2.0"),  # the HTTP/2 connection preface
    ],
    ids=["2.0", "3.0", "9.9", "0.9", "0.9-simple", "h2-preface"],
)
def test_another_major_version_is_505(
    server: Served, seen: Recorder, raw: bytes, version: str
) -> None:
    status, error = refused(server, raw)
    assert status == b"HTTP/1.1 505 HTTP Version Not Supported"
    assert (error["code"], error["message"]) == (
        "HTTP_VERSION_NOT_SUPPORTED",
        "HTTP version not supported",
    )
    assert error["details"] == f"HTTP/{version}: this server speaks HTTP/1.1"
    assert seen.events == []


@pytest.mark.parametrize(
    "version", [b"1.10", b"11.1", b"1", b"a.1"], ids=["1.10", "11.1", "no-minor", "letter"]
)
def test_a_version_that_is_not_digit_dot_digit_is_malformed(server: Served, version: bytes) -> None:
    """RFC 9112 §2.3: HTTP-version is "HTTP/" DIGIT "." DIGIT."""
    status, error = refused(server, b"GET / HTTP/%s\r\n%s\r\n" % (version, HOST))
    assert status == b"HTTP/1.1 400 Bad Request"
    assert error["code"] == "VALIDATION_ERROR"
