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
