"""A stop (SIGTERM) and the connections open at that moment: none with a request on its way is
reset; none that stays silent holds the stop up."""

from __future__ import annotations

import socket
import threading
import time

from devutils.http.server.limits import ServerLimits
from devutils.http.server.protocol import STOP_GRACE_SECONDS
from tests.server.apps import Recorder, make_app
from tests.server.harness import (
    Served,
    read_response,
    read_until_closed,
    request,
    served,
    split,
    wait_until,
)

# Far beyond the stop's grace: waiting for either would show as a stop that does not end.
LIMITS = ServerLimits(header_timeout=30.0, shutdown_timeout=30.0)


def _closing_answer(sock: socket.socket) -> list[bytes]:
    """The head of the one answer the connection still gets; the server closes it after."""
    lines, body = split(read_until_closed(sock, timeout=10))
    assert lines[0] == b"HTTP/1.1 200 OK", lines
    assert body == b"ok"
    return lines


def _stopped(handle: Served, within: float) -> bool:
    deadline = time.monotonic() + within
    while not handle.result and time.monotonic() < deadline:
        time.sleep(0.02)
    return handle.result == [0]


def test_a_connection_accepted_before_its_request_came_is_answered() -> None:
    with served(make_app(Recorder()), LIMITS) as handle, handle.connect(timeout=10) as sock:
        # Accepted by the server's loop, which waits for its first request.
        wait_until(lambda: handle.accepted(sock), "the server accepting the connection")
        handle.stop()
        # The stop has begun: the listener is closed, the connection has its grace (1 s) from
        # now, so the request is sent at once.
        wait_until(lambda: not handle.listening(), "the listener closing")
        sock.sendall(request("/", close=False))
        assert b"connection: close" in _closing_answer(sock)
        assert _stopped(handle, 10)


def test_a_request_unread_on_an_idle_keep_alive_connection_is_answered() -> None:
    # The next request is in the socket's buffer when the stop comes, before the loop read it:
    # the loop is held while it arrives, and the stop is the first thing it does after.
    with served(make_app(Recorder()), LIMITS) as handle, handle.connect(timeout=10) as sock:
        sock.sendall(request("/", close=False))
        read_response(sock)
        holding, release = threading.Event(), threading.Event()

        def hold_then_stop() -> None:
            holding.set()
            release.wait(10)
            handle.signals.received()

        handle.loop.call_soon_threadsafe(hold_then_stop)
        assert holding.wait(10)
        sock.sendall(request("/", close=False))
        time.sleep(0.1)  # on loopback it is in the server's buffer long before
        release.set()
        assert b"connection: close" in _closing_answer(sock)
        assert _stopped(handle, 10)


def test_a_connection_that_sends_nothing_is_closed_after_the_grace() -> None:
    with served(make_app(Recorder()), LIMITS) as handle, handle.connect(timeout=10) as sock:
        wait_until(lambda: handle.accepted(sock), "the server accepting the connection")
        started = time.monotonic()
        handle.stop()
        assert read_until_closed(sock, timeout=10) == b""  # a plain close, nothing sent
        # The grace, not the header or shutdown timeout (30 s): bounded generously.
        assert _stopped(handle, 10)
        assert time.monotonic() - started < 10 * STOP_GRACE_SECONDS


def test_a_head_unfinished_when_the_grace_ends_gets_408() -> None:
    with served(make_app(Recorder()), LIMITS) as handle, handle.connect(timeout=10) as sock:
        wait_until(lambda: handle.accepted(sock), "the server accepting the connection")
        handle.stop()
        wait_until(lambda: not handle.listening(), "the listener closing")
        # A head begun during the grace does not get a new header timeout (30 s) of its own.
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        lines, _ = split(read_until_closed(sock, timeout=10))
        assert lines[0] == b"HTTP/1.1 408 Request Timeout"
        assert _stopped(handle, 10)
