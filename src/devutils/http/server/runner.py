"""One worker: serve an ASGI app on a listening socket until SIGTERM/SIGINT, then drain.

The drain: ``on_drain`` is called at once (the app's readiness turns 503), the listener stays
open ``drain_delay`` seconds so load balancers notice, then it closes (what the kernel had queued
on it is accepted first); idle connections are closed, those with a request on its way get a
short grace to send it (``HttpProtocol.shutdown``), in-flight requests get up to
``shutdown_timeout`` seconds (their connections close after their response), then lifespan
shutdown runs and the worker returns 0.  A second signal skips the waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

from devutils.http.asgi import ASGIApp
from devutils.http.server import STOP_SIGNALS
from devutils.http.server.lifespan import Lifespan
from devutils.http.server.limits import ServerLimits
from devutils.http.server.protocol import HttpProtocol, ServerState

log = logging.getLogger("devutils.server")

STARTUP_FAILED = 3
LISTEN_BACKLOG = 2048
PARENT_CHECK_INTERVAL = 1.0


class StopSignals:
    """Stop requests: the first drains, a second stops at once.  SIGTERM/SIGINT call
    :meth:`received`; an embedding program (a test) may call it too."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.second = asyncio.Event()

    def received(self) -> None:
        if self.first.is_set():
            self.second.set()
        else:
            self.first.set()


async def serve(
    app: ASGIApp,
    sock: socket.socket,
    limits: ServerLimits,
    on_drain: Callable[[], None] | None = None,
    parent_pid: int | None = None,
    signals: StopSignals | None = None,
) -> int:
    """Serve until told to stop; 0 after a graceful stop, non-zero when start-up failed.

    Without ``signals`` SIGTERM and SIGINT stop the server (main thread only); with them, the
    caller decides when.
    """
    loop = asyncio.get_running_loop()
    state = ServerState(app, limits)
    lifespan = Lifespan(app, state.lifespan_state)
    if not await lifespan.startup():
        return STARTUP_FAILED
    handle_signals = signals is None
    signals = signals or StopSignals()
    if handle_signals:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, signals.received)
        # A supervisor starts its workers with these blocked (supervisor.Supervisor._start): one
        # that came while this worker was starting is delivered now, and drains it like any stop.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    watcher = None
    if parent_pid is not None:
        watcher = loop.create_task(_watch_parent(parent_pid, signals))
    server = await loop.create_server(
        lambda: HttpProtocol(state), sock=sock, backlog=LISTEN_BACKLOG
    )
    try:
        await signals.first.wait()
        if on_drain is not None:
            on_drain()
        if limits.drain_delay > 0:
            log.info("draining before shutdown", extra={"delay_s": limits.drain_delay})
            await _wait(signals.second, limits.drain_delay)
        # Connections the kernel has queued on the listener and the loop has not accepted yet
        # (all those that came while the worker started, when there is no drain delay) would be
        # reset when it closes: take them first, and serve them like the open ones.
        queued = _accept_queued(sock)
        server.close()
        # uvloop serves on a duplicate of the descriptor: close ours too, or the socket listens on.
        sock.close()
        state.stopping = True
        for connection in list(state.connections):
            connection.shutdown()
        for accepted in queued:
            with contextlib.suppress(OSError):  # the client gave up meanwhile
                await loop.connect_accepted_socket(lambda: HttpProtocol(state), sock=accepted)
        await _wait_for_connections(state, signals.second, limits.shutdown_timeout)
        for connection in list(state.connections):
            connection.abort()
        await asyncio.sleep(0)
    finally:
        if watcher is not None:
            watcher.cancel()
        if handle_signals:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
    await lifespan.shutdown(limits.shutdown_timeout)
    return 0


def run(
    app: ASGIApp,
    sock: socket.socket,
    limits: ServerLimits,
    on_drain: Callable[[], None] | None = None,
    parent_pid: int | None = None,
) -> int:
    """:func:`serve` on a new event loop (uvloop where installed)."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(serve(app, sock, limits, on_drain, parent_pid))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    if sys.platform == "win32":
        return None
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it exists
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _accept_queued(sock: socket.socket) -> list[socket.socket]:
    accepted = []
    with contextlib.suppress(OSError):  # BlockingIOError: the queue is empty
        sock.setblocking(False)
        for _ in range(LISTEN_BACKLOG):  # what was queued, not a flood arriving meanwhile
            accepted.append(sock.accept()[0])
    return accepted


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


async def _wait_for_connections(state: ServerState, stop: asyncio.Event, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while state.connections and not stop.is_set() and loop.time() < deadline:
        await _wait(stop, 0.05)
    if state.connections:
        log.warning("closing connections still open", extra={"connections": len(state.connections)})


async def _watch_parent(parent_pid: int, signals: StopSignals) -> None:
    # A worker whose supervisor died (SIGKILL, OOM) would serve on unsupervised: drain instead.
    while os.getppid() == parent_pid:  # noqa: ASYNC110 - no event tells of a parent's death
        await asyncio.sleep(PARENT_CHECK_INTERVAL)
    log.warning("supervisor gone, stopping")
    signals.received()
