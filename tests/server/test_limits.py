"""The server's limits on real sockets: sizes (431, 414), time (408, idle close), connections (503)."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator

import orjson
import psutil
import pytest

from devutils.http.server.limits import ServerLimits
from tests.server.apps import Recorder, make_app
from tests.server.harness import (
    Served,
    header_value,
    read_for,
    read_response,
    read_until_closed,
    request,
    served,
    split,
)
from tests.support import run_server

LIMITS = ServerLimits(
    max_connections=4,
    max_header_bytes=4096,
    max_header_count=20,
    max_url_bytes=1024,
    header_timeout=0.6,
    keepalive_timeout=0.6,
    body_timeout=0.6,
)


# For the tests where a timeout must NOT fire (a client that keeps within each deadline for
# longer than one deadline in all): timeouts far above any one pause of the client, even with a
# stall of the whole test process (server and client alike, up to a second on a busy CI machine)
# on top.  Pauses of PAUSE, PAUSES of them: longer than a timeout in all.
PATIENT_TIMEOUT = 2.0
PAUSE = 0.5
PAUSES = 5
PATIENT_LIMITS = ServerLimits(
    max_connections=4,
    max_header_bytes=4096,
    max_header_count=20,
    max_url_bytes=1024,
    header_timeout=PATIENT_TIMEOUT,
    keepalive_timeout=PATIENT_TIMEOUT,
    body_timeout=PATIENT_TIMEOUT,
)
assert PAUSES * PAUSE > PATIENT_TIMEOUT + PAUSE / 2


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with served(make_app(Recorder()), LIMITS) as handle:
        yield handle


@pytest.fixture(scope="module")
def patient() -> Iterator[Served]:
    with served(make_app(Recorder()), PATIENT_LIMITS) as handle:
        yield handle


def error_of(data: bytes) -> tuple[bytes, str]:
    lines, body = split(data)
    assert header_value(lines[1:], b"connection") == b"close"
    return lines[0], orjson.loads(body)["error"]["code"]


def exchange(server: Served, data: bytes) -> bytes:
    with server.connect() as sock:
        sock.sendall(data)
        return read_until_closed(sock)


def test_a_header_block_at_the_limit_is_served(server: Served) -> None:
    pad = "X-Pad: " + "a" * 3000 + "\r\n"
    assert split(exchange(server, request("/", extra=pad)))[0][0] == b"HTTP/1.1 200 OK"


def test_a_header_block_over_the_limit_is_431(server: Served) -> None:
    pad = "X-Pad: " + "a" * 5000 + "\r\n"
    status, code = error_of(exchange(server, request("/", extra=pad)))
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert code == "REQUEST_HEADER_TOO_LARGE"


def test_too_many_headers_is_431(server: Served) -> None:
    extra = "".join(f"X-H{i}: v\r\n" for i in range(25))
    status, code = error_of(exchange(server, request("/", extra=extra)))
    assert status.startswith(b"HTTP/1.1 431")
    assert code == "REQUEST_HEADER_TOO_LARGE"


def test_a_never_ending_header_is_refused_once_the_limit_is_passed(server: Served) -> None:
    """The server answers 431 while the client is still sending: it stopped reading at the limit
    rather than buffering until the header ends."""
    sent = 0
    answer = b""
    with server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ")
        with contextlib.suppress(ConnectionError):
            while sent < 8 * 1024 * 1024 and not answer:
                sock.sendall(b"a" * 1024)
                sent += 1024
                readable, _, _ = select.select([sock], [], [], 0.001)
                if readable:
                    answer = sock.recv(65536)
        answer += read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431")
    assert sent < 2 * 1024 * 1024


def test_a_long_url_is_414(server: Served) -> None:
    status, code = error_of(exchange(server, request("/echo?q=" + "a" * 2000)))
    assert status == b"HTTP/1.1 414 URI Too Long"
    assert code == "URI_TOO_LONG"
    assert split(exchange(server, request("/echo?q=" + "a" * 900)))[0][0] == b"HTTP/1.1 200 OK"


def test_a_silent_connection_is_closed_after_the_header_timeout(server: Served) -> None:
    with server.connect() as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""  # closed without a word: nothing was asked
        assert 0.4 < time.monotonic() - started < 3


def test_a_slow_header_block_is_408_and_closed(server: Served) -> None:
    """Slowloris: a byte now and then never completes the head within the timeout."""
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        data = b""
        with contextlib.suppress(ConnectionError):
            for i in range(30):
                sock.sendall(b"X-%d: v\r\n" % i)
                data += read_for(sock, 0.1)
                if data:
                    break
        data += read_until_closed(sock)
        elapsed = time.monotonic() - started
    status, code = error_of(data)
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert code == "REQUEST_TIMEOUT"
    assert elapsed < 2.5


def post_head(length: int) -> bytes:
    return (f"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n\r\n").encode()


def test_a_stalled_body_is_408_and_closed(server: Served) -> None:
    """Headers, part of the body, then nothing: the body deadline answers for the server."""
    with server.connect() as sock:
        sock.sendall(post_head(100) + b"x" * 10)
        status, code = error_of(read_until_closed(sock))
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert code == "REQUEST_TIMEOUT"


def test_a_trickling_body_is_408_and_closed(server: Served) -> None:
    """A byte at a time keeps the connection busy but never finishes within the deadline."""
    with server.connect() as sock:
        sock.sendall(post_head(1000))
        data = b""
        with contextlib.suppress(ConnectionError):
            for _ in range(200):
                sock.sendall(b"x")
                data += read_for(sock, 0.05)
                if data:
                    break
        data += read_until_closed(sock)
    status, code = error_of(data)
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert code == "REQUEST_TIMEOUT"


def test_the_408_survives_a_client_that_goes_on_sending(server: Served) -> None:
    """The body deadline passes while the client still sends as fast as it can.  Had the server
    closed its socket with those bytes unread, the kernel would reset the connection and the
    client would lose the 408: the answer must stand."""
    with server.connect() as sock:
        sock.sendall(post_head(1 << 40))
        stop = time.monotonic() + LIMITS.body_timeout + 1.0
        with contextlib.suppress(ConnectionError, TimeoutError):
            while time.monotonic() < stop:  # past the deadline: the 408 comes meanwhile
                sock.sendall(b"x" * 65536)
        data = read_until_closed(sock)
    status, code = error_of(data)
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert code == "REQUEST_TIMEOUT"


def test_a_body_in_pieces_within_the_deadline_is_served(patient: Served) -> None:
    with patient.connect() as sock:
        sock.sendall(post_head(6) + b"abc")
        time.sleep(PAUSE)
        sock.sendall(b"def")
        status, _, body = read_response(sock)
    assert status == b"HTTP/1.1 200 OK"
    assert orjson.loads(body)["body"] == "abcdef"


def test_the_body_deadline_applies_per_request_on_a_kept_connection(patient: Served) -> None:
    """Bodies that each arrive in time, on one connection for longer than the deadline (the last
    body ends PAUSES x PAUSE after the first head)."""
    with patient.connect() as sock:
        for _ in range(PAUSES):
            sock.sendall(post_head(4) + b"ab")
            time.sleep(PAUSE)
            sock.sendall(b"cd")
            assert orjson.loads(read_response(sock)[2])["body"] == "abcd"


def test_the_body_timeout_comes_from_the_settings() -> None:
    from devutils.settings import load_settings

    settings = load_settings({"SERVER_BODY_TIMEOUT": "12.5", "SECRETS_MOUNT_PATH": "/nonexistent"})
    assert ServerLimits.from_settings(settings).body_timeout == 12.5


def test_an_idle_keep_alive_connection_is_closed(server: Served) -> None:
    with server.connect() as sock:
        sock.sendall(request("/", close=False))
        assert read_response(sock)[2] == b"ok"
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert 0.4 < time.monotonic() - started < 3


def test_a_keep_alive_connection_in_use_stays_open(patient: Served) -> None:
    """Idle for PAUSE at a time, PAUSES times: the last request comes after longer than the idle
    timeout in all, each pause far shorter."""
    with patient.connect() as sock:
        sock.sendall(request("/", close=False))
        assert read_response(sock)[2] == b"ok"
        for _ in range(PAUSES):
            time.sleep(PAUSE)
            sock.sendall(request("/", close=False))
            assert read_response(sock)[2] == b"ok"


def accepted(server: Served) -> int:
    """Connections the server (in this process) has accepted and not closed."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.laddr
        and conn.laddr.port == server.port
        and conn.raddr
        and conn.status == psutil.CONN_ESTABLISHED
    )


def test_connections_past_the_cap_get_503(patient: Served) -> None:
    """The held connections send nothing until the extra one was refused: they must be within
    the header timeout then, so this runs on the patient server."""
    held = [patient.connect() for _ in range(PATIENT_LIMITS.max_connections)]
    try:
        deadline = time.monotonic() + 10
        while accepted(patient) < len(held) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert accepted(patient) == len(held)
        with patient.connect() as extra:
            status, code = error_of(read_until_closed(extra))
        assert status == b"HTTP/1.1 503 Service Unavailable"
        assert code == "SERVICE_UNAVAILABLE"
        held[0].sendall(request("/"))  # the held ones are still served
        assert split(read_until_closed(held[0]))[1] == b"ok"
    finally:
        for sock in held:
            sock.close()


def test_memory_stays_flat_under_endless_headers() -> None:
    """The issue's attack: 8 connections sending a never-ending header to the real service."""
    with run_server() as server:
        process = psutil.Process(server.proc.pid)
        before = process.memory_info().rss
        sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
        try:
            for sock in sockets:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: h\r\nX-Pad: ")
            for _ in range(64):  # up to 8 MiB each, 64 MiB in all
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.setblocking(False)
                        sock.send(b"a" * 131072)
            time.sleep(0.3)
            grown = process.memory_info().rss - before
            answers = []
            for sock in sockets:
                sock.setblocking(True)
                answers.append(read_until_closed(sock, timeout=5)[:12])
        finally:
            for sock in sockets:
                sock.close()
    assert grown < 32 * 1024 * 1024, grown
    assert answers == [b"HTTP/1.1 431"] * 8
