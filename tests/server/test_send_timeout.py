"""The send timeout on real sockets: a client that takes no response bytes is aborted, its buffered
response dropped; a slow reader that keeps taking them gets the whole response."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import orjson
import psutil
import pytest

from devutils.http.server.limits import ServerLimits
from devutils.settings import SettingsError, load_settings
from tests.server.apps import Recorder, make_app
from tests.server.harness import Served, read_until_closed, request, served, split
from tests.support import run_server

SEND_TIMEOUT = 0.5
# A keep-alive close long after the send timeout: the abort is the send timeout's.
LIMITS = ServerLimits(send_timeout=SEND_TIMEOUT, keepalive_timeout=60.0)
HUGE = 8 * 1024 * 1024  # /huge's default size


@pytest.fixture(scope="module")
def seen() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def server(seen: Recorder) -> Iterator[Served]:
    with served(make_app(seen), LIMITS) as handle:
        yield handle


def small_window_client(port: int) -> socket.socket:
    """A client with a 4 KiB receive buffer (set before connecting, so the window is small): the
    kernels absorb little of a response it does not read, the rest waits in the server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def server_holds(pid: int, port: int, client: socket.socket) -> bool:
    """Whether process ``pid`` still has the server's end of ``client``'s connection open."""
    peer = client.getsockname()[1]
    return any(
        conn.laddr and conn.laddr.port == port and conn.raddr and conn.raddr.port == peer
        for conn in psutil.Process(pid).net_connections(kind="tcp")
    )


def released_within(pid: int, port: int, client: socket.socket, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not server_holds(pid, port, client):
            return True
        time.sleep(0.05)
    return False


def answer_began(sock: socket.socket) -> bool:
    """Wait until the first bytes of the answer arrive, without taking them (a peek neither opens
    the window nor counts as reading): the server has the connection and wrote to it, so from now
    on "the server no longer holds it" means it was released.  (Not "held a moment after the
    request": a stall of the test process longer than the send timeout lets the abort come
    first.)"""
    return bool(sock.recv(1, socket.MSG_PEEK))


def test_a_client_that_reads_nothing_is_aborted_after_the_send_timeout(server: Served) -> None:
    """8 MiB answered in one write, none of it read: the server's socket is closed (its buffer
    dropped) though the keep-alive timeout is a minute away, and the client sees the cut."""
    with small_window_client(server.port) as sock:
        sock.sendall(request("/huge", close=False))
        assert answer_began(sock)
        assert released_within(os.getpid(), server.port, sock)
        received = read_until_closed(sock)  # what the kernels held, then the end
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert len(received) < HUGE


def test_an_application_waiting_to_send_learns_the_client_is_gone(
    server: Served, seen: Recorder
) -> None:
    """/big sends 64 KiB at a time, waiting while writing is paused: the abort ends the wait (the
    client is gone, so its task is cancelled), so the task does not wait for ever on a client that
    never reads."""
    seen.big_ended = None
    with small_window_client(server.port) as sock:
        sock.sendall(request("/big", close=False))
        assert released_within(os.getpid(), server.port, sock)
        deadline = time.monotonic() + 10
        while seen.big_ended is None and time.monotonic() < deadline:
            time.sleep(0.02)
    assert seen.big_ended == "cancelled"


# The slow reader's server: a send timeout far longer than any pause of the reader, even with a
# stall of the whole test process (server and client alike, up to a second on a busy CI machine)
# on top, while the whole transfer still spans several timeouts.  Its kernel send buffer is small
# (autotuned, it grows to megabytes and would take most of the response off the server's hands
# within one timeout), so the response waits in the server's transport for nearly all the transfer.
PATIENT_SEND_TIMEOUT = 2.0
READER_PAUSE = 0.5
PAUSE_EVERY = 256 * 1024


@pytest.fixture(scope="module")
def patient_server(seen: Recorder) -> Iterator[Served]:
    limits = ServerLimits(send_timeout=PATIENT_SEND_TIMEOUT, keepalive_timeout=60.0)
    with served(make_app(seen), limits, send_buffer=64 * 1024) as handle:
        yield handle


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
def test_a_slow_steady_reader_gets_the_whole_response(patient_server: Served, close: bool) -> None:
    """3 MiB in one write, read 4 KiB at a time with a pause every 256 KiB: it takes about three
    send timeouts in all, and is not cut while the client keeps taking bytes (with ``connection:
    close`` the server closes the connection while most of it is still buffered)."""
    size = 3 * 1024 * 1024
    pauses = size // PAUSE_EVERY
    assert pauses * READER_PAUSE > 2.5 * PATIENT_SEND_TIMEOUT  # one deadline for all would cut it
    with small_window_client(patient_server.port) as sock:
        sock.sendall(request(f"/huge?{size}", close=close))
        data = bytearray()
        next_pause = PAUSE_EVERY
        while len(data) < size and (chunk := sock.recv(4096)):
            data += chunk
            if len(data) >= next_pause:
                time.sleep(READER_PAUSE)
                next_pause += PAUSE_EVERY
        while b"\r\n\r\n" in data and len(split(bytes(data))[1]) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    lines, body = split(bytes(data))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert len(body) == size


def test_the_service_drops_a_large_answer_nobody_reads() -> None:
    """The reviewer's case on the real service (uvloop): a 10 KB data/json/format request whose
    answer is about 8 MB, from a client that reads none of it."""
    depth, items = 200, 4000
    content = "[" * depth + ",".join(["1"] * items) + "]" * depth
    body = orjson.dumps({"content": content, "action": "format", "indent": 8})
    head = (
        "POST /api/v1/data/json/format HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with run_server({"SERVER_SEND_TIMEOUT": "0.5", "SERVER_KEEPALIVE_TIMEOUT": "60"}) as service:
        with small_window_client(service.port) as sock:
            sock.sendall(head.encode() + body)
            assert answer_began(sock)
            assert released_within(service.proc.pid, service.port, sock)
            received = read_until_closed(sock)
        assert received.startswith(b"HTTP/1.1 200 OK")
        assert len(received) < 7 * 1024 * 1024  # the answer was cut


def test_the_send_timeout_comes_from_the_settings() -> None:
    env = {"SECRETS_MOUNT_PATH": "/nonexistent"}
    assert ServerLimits.from_settings(load_settings(env)).send_timeout == 30.0
    settings = load_settings({**env, "SERVER_SEND_TIMEOUT": "2.5"})
    assert ServerLimits.from_settings(settings).send_timeout == 2.5
    with pytest.raises(SettingsError, match="SERVER_SEND_TIMEOUT"):
        load_settings({**env, "SERVER_SEND_TIMEOUT": "0"})
