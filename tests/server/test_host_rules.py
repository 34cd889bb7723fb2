"""RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host (else 400, before the application
runs), and an absolute-form target's authority replaces the Host fields (§3.2.2)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from tests.server.apps import Recorder, make_app
from tests.server.harness import Served, read_until_closed, served, split


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with served(make_app(Recorder())) as handle:
        yield handle


def exchange(server: Served, raw: bytes) -> tuple[list[bytes], bytes]:
    with server.connect() as sock:
        sock.sendall(raw)
        return split(read_until_closed(sock))


@pytest.mark.parametrize(
    ("head", "details"),
    [
        (b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n", "no Host header (HTTP/1.1 needs one)"),
        (
            b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            "several Host headers",
        ),
        (b"GET /echo HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "several Host headers"),
    ],
    ids=["none", "several", "several-http-1.0"],
)
def test_a_request_without_exactly_one_host_is_400(
    server: Served, head: bytes, details: str
) -> None:
    lines, body = exchange(server, head)
    assert lines[0].startswith(b"HTTP/1.1 400 ")
    error = orjson.loads(body)["error"]
    assert (error["code"], error["details"]) == ("VALIDATION_ERROR", details)


def test_http_1_0_may_omit_host(server: Served) -> None:
    lines, body = exchange(server, b"GET /echo HTTP/1.0\r\n\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert orjson.loads(body)["headers"] == []


@pytest.mark.parametrize(
    ("target", "host"),
    [
        (b"http://api.example:8443/echo?x=1", "api.example:8443"),
        (b"http://[::1]/echo?x=1", "[::1]"),
    ],
    ids=["name-and-port", "ipv6"],
)
def test_an_absolute_form_target_names_the_host(server: Served, target: bytes, host: str) -> None:
    raw = b"GET %s HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n" % target
    lines, body = exchange(server, raw)
    assert lines[0] == b"HTTP/1.1 200 OK"
    echoed = orjson.loads(body)
    assert (echoed["path"], echoed["query_string"]) == ("/echo", "x=1")
    assert [pair for pair in echoed["headers"] if pair[0] == "host"] == [["host", host]]


@pytest.mark.parametrize(
    ("head", "details"),
    [
        (
            b"GET http://localhost/echo HTTP/1.1\r\nConnection: close\r\n\r\n",
            "no Host header (HTTP/1.1 needs one)",
        ),
        (
            b"GET http://localhost/echo HTTP/1.1\r\nHost: localhost\r\nHost: evil\r\n"
            b"Connection: close\r\n\r\n",
            "several Host headers",
        ),
        (
            b"GET http://localhost/echo HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
            "several Host headers",
        ),
        (
            b"GET http://localhost/echo HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
            "invalid Host header value",
        ),
    ],
    ids=["none", "several", "several-http-1.0", "invalid"],
)
def test_an_absolute_form_target_does_not_lift_the_host_rules(
    server: Served, head: bytes, details: str
) -> None:
    """RFC 9112 §3.2.2 replaces a valid Host with the target's authority; §3.2 still asks
    for exactly one Host field, with a valid value."""
    lines, body = exchange(server, head)
    assert lines[0].startswith(b"HTTP/1.1 400 ")
    error = orjson.loads(body)["error"]
    assert (error["code"], error["details"]) == ("VALIDATION_ERROR", details)


def test_http_1_0_with_an_absolute_form_target_may_omit_host(server: Served) -> None:
    lines, body = exchange(server, b"GET http://api.example/echo HTTP/1.0\r\n\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert orjson.loads(body)["headers"] == [["host", "api.example"]]


# Control characters and DEL the parser itself refuses, as malformed; the others pass it.
INVALID_HOSTS = {
    "space": (b"a b", "invalid Host header value"),
    "tab": (b"a\tb", "invalid Host header value"),
    "non-ascii": (b"caf\xc3\xa9", "invalid Host header value"),
    "slash": (b"a/b", "invalid Host header value"),
    "userinfo": (b"u@a", "invalid Host header value"),
    "two-colons": (b"a:b:c", "invalid Host header value"),
    "port-junk": (b"localhost:junk", "invalid Host header value"),
    "after-ipv6": (b"[::1]junk", "invalid Host header value"),
    "control": (b"local\x01host", None),
    "del": (b"localhost\x7f", None),
}


@pytest.mark.parametrize("path", [b"/health", b"/metrics", b"/echo"])
@pytest.mark.parametrize("what", INVALID_HOSTS, ids=INVALID_HOSTS.keys())
def test_an_invalid_host_value_is_400_on_every_path(server: Served, path: bytes, what: str) -> None:
    host, details = INVALID_HOSTS[what]
    raw = b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)
    lines, body = exchange(server, raw)
    assert lines[0].startswith(b"HTTP/1.1 400 ")
    error = orjson.loads(body)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    if details is None:
        assert error["message"] == "Malformed HTTP request"
    else:
        assert (error["message"], error["details"]) == ("Invalid request", details)


@pytest.mark.parametrize(
    "host",
    [b"localhost", b"localhost:8080", b"127.0.0.1:1", b"[::1]", b"[::1]:8080", b"h", b""],
    ids=["name", "name-port", "ipv4-port", "ipv6", "ipv6-port", "short", "empty"],
)
def test_a_valid_host_value_is_served(server: Served, host: bytes) -> None:
    lines, body = exchange(
        server, b"GET /echo HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host
    )
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert [pair for pair in orjson.loads(body)["headers"] if pair[0] == "host"] == [
        ["host", host.decode()]
    ]
