"""A request asking for a protocol upgrade (``curl --http2`` on http:// asks for h2c) is answered
as plain HTTP/1.1, body included (RFC 9110 §7.8 lets a server ignore Upgrade), then closed."""

from __future__ import annotations

import hashlib
import socket
import time
from typing import Any

import orjson
import pytest

from devutils.http.server.limits import ServerLimits
from tests.server.apps import Recorder, make_app, wait_for_event
from tests.server.harness import (
    BAD_BODIES,
    Responses,
    Served,
    assert_malformed_answer,
    header_value,
    read_for,
    read_until_closed,
    served,
    split,
)
from tests.support import run_server

BODY = b'{"content":"abc","algorithm":"sha256"}'
UPGRADE = (
    b"Host: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Type: application/json\r\n"
)
HEAD = b"POST /echo HTTP/1.1\r\n" + UPGRADE + b"Content-Length: %d\r\n\r\n" % len(BODY)
CHUNKED_HEAD = b"POST %s HTTP/1.1\r\n" + UPGRADE + b"Transfer-Encoding: chunked\r\n\r\n"
# BODY in two chunks, then a trailer field (never one of the request's headers).
CHUNKED_BODY = b"a\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (
    BODY[:10],
    len(BODY) - 10,
    BODY[10:],
)
PIPELINED = b"GET /echo HTTP/1.1\r\nHost: h\r\n\r\n"  # after an Upgrade request: never read


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


@pytest.mark.parametrize("pause", [0.0, 0.2], ids=["one-write", "body-later"])
def test_an_upgrade_request_with_a_chunked_body_is_answered_with_it(
    server: Served, pause: float
) -> None:
    """Was: the body was not read (the application saw an empty one)."""
    head = CHUNKED_HEAD % b"/echo"
    raw = head + CHUNKED_BODY + PIPELINED
    with server.connect() as sock:
        # Cut inside the head's end, the second chunk-size line and the trailer section.
        cuts = [0, len(head) - 2, len(head) + 17, len(raw) - len(PIPELINED) - 8]
        for start, end in zip(cuts, [*cuts[1:], len(raw)], strict=True):
            sock.sendall(raw[start:end])
            if pause:
                time.sleep(pause)
        lines, body = split(read_until_closed(sock))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert header_value(lines[1:], b"connection") == b"close"
    echoed = orjson.loads(body)  # one response: the pipelined request got none
    assert echoed["body"] == BODY.decode()
    assert ["x-trailer", "t"] not in echoed["headers"]
    assert ["transfer-encoding", "chunked"] in echoed["headers"]


def test_an_upgrade_request_waiting_behind_another_gets_its_chunked_body(server: Served) -> None:
    """Pipelined behind a running request: its body is read once its turn comes."""
    slow = b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(slow + CHUNKED_HEAD % b"/echo" + CHUNKED_BODY[:20])
        time.sleep(0.2)
        sock.sendall(CHUNKED_BODY[20:] + PIPELINED)
        responses = Responses(sock)
        first = responses.next()
        second = responses.next()
        rest = read_until_closed(sock)
    assert (first[0], first[2]) == (b"HTTP/1.1 200 OK", b"done")
    assert second[0] == b"HTTP/1.1 200 OK"
    assert header_value(second[1], b"connection") == b"close"
    assert orjson.loads(second[2])["body"] == BODY.decode()
    assert responses.buffer + rest == b""


@pytest.mark.parametrize("bad", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_malformed_chunked_upgrade_body_is_400_as_any_other(
    server: Served, seen: Recorder, bad: bytes
) -> None:
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/body-events" + bad)
        data = read_until_closed(sock)
    assert_malformed_answer(data)
    assert wait_for_event(seen, "sent")[-2:] == ["http.disconnect", "sent"]


def test_upgrade_trailers_over_the_header_limits_are_431(server: Served, seen: Recorder) -> None:
    trailers = b"".join(b"X-T%d: v\r\n" % i for i in range(101)) + b"\r\n"
    with server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/body-events" + b"5\r\nhello\r\n0\r\n" + trailers)
        lines, body = split(read_until_closed(sock))
    assert lines[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert orjson.loads(body)["error"]["message"] == "Too many trailer fields"
    assert wait_for_event(seen, "sent")[-2:] == ["http.disconnect", "sent"]


def test_a_stalled_chunked_upgrade_body_is_408() -> None:
    limits = ServerLimits(body_timeout=0.5)
    with served(make_app(Recorder()), limits) as server, server.connect() as sock:
        sock.sendall(CHUNKED_HEAD % b"/echo" + b"5\r\nhel")
        assert read_for(sock, 0.2) == b""  # no answer before the body is complete
        lines, body = split(read_until_closed(sock))
    assert lines[0] == b"HTTP/1.1 408 Request Timeout"
    assert orjson.loads(body)["error"]["code"] == "REQUEST_TIMEOUT"


def _hash_status(port: int, raw: bytes) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        lines, body = split(read_until_closed(sock, 10))
    return int(lines[0].split()[1]), orjson.loads(body)


def test_the_service_reads_a_chunked_upgrade_body_within_its_body_limit() -> None:
    """The real service, as ``curl --http2`` on http:// would ask it: the same answer as without
    Upgrade, and the same 413 past MAX_BODY_BYTES."""
    big = orjson.dumps({"content": "y" * 5000, "algorithm": "sha256"})
    with run_server({"MAX_BODY_BYTES": "4096"}) as server:
        path = b"/api/v1/crypto/hash"
        status, answer = _hash_status(server.port, CHUNKED_HEAD % path + CHUNKED_BODY + PIPELINED)
        assert status == 200
        assert answer["data"] == {"hash": hashlib.sha256(b"abc").hexdigest(), "algorithm": "sha256"}
        length_head = (CHUNKED_HEAD % path).replace(
            b"Transfer-Encoding: chunked", b"Content-Length: %d" % len(BODY)
        )
        assert _hash_status(server.port, length_head + BODY + PIPELINED) == (status, answer)
        too_big = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
        status, answer = _hash_status(server.port, CHUNKED_HEAD % path + too_big)
    assert status == 413
    assert answer["error"]["code"] == "REQUEST_TOO_LARGE"
