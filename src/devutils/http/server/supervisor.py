"""The parent of N workers: it holds the listening socket, starts the workers, restarts one that
dies, passes a stop (SIGTERM, SIGINT or SIGHUP) on to all of them and exits 0 once they have
drained.

Workers are new interpreters (``python -m devutils.http.server.worker``, fork+exec through
:mod:`subprocess`) that inherit the listening socket's descriptor: nothing the parent imported
(no application, no prometheus_client) is in them before ``devutils.workers.in_worker`` runs.
Each worker is in a process group of its own, so a terminal's Ctrl-C reaches only the parent,
which forwards it once.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

from devutils import workers as hooks
from devutils.http.server import STOP_SIGNALS
from devutils.settings import Settings

log = logging.getLogger("devutils.server")

POLL_INTERVAL = 0.1
# A worker that dies this soon after it started is crashing at start: wait before the next try.
FAST_EXIT_SECONDS = 2.0
RESTART_BACKOFF_SECONDS = 1.0
# Exit codes that mean "this configuration cannot start": restarting would only repeat it.
FATAL_EXIT_CODES = frozenset((3, 78))
KILL_GRACE_SECONDS = 10.0


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    started: float


class Supervisor:
    def __init__(self, settings: Settings, sock: socket.socket, count: int) -> None:
        self.settings = settings
        self.sock = sock
        self.count = count
        self.workers: dict[int, _Worker] = {}
        self.signals = 0
        self.restarts_due: dict[int, float] = {}

    def run(self) -> int:
        hooks.before_workers_start(self.settings, self.count)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            for index in range(self.count):
                if self.signals:
                    break  # stopped before all were started: no point starting the rest
                self._start(index)
                # server.serve blocked them before it bound the socket.  Once a worker is there
                # to drain what the socket queued, one that came since is delivered (forwarded).
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            status = self._supervise()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.sock.close()
        return status

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        log.info(
            "stopping workers" if self.signals == 1 else "stopping workers now",
            extra={"signal": signal.Signals(signum).name},
        )
        # A worker counts stop requests: the first drains, the next stops it now.  One still
        # starting has both blocked (see _start), and two of the same signal pending there
        # arrive as one: so the first request goes as SIGTERM and any later one as SIGINT.
        forwarded = signal.SIGTERM if self.signals == 1 else signal.SIGINT
        for worker in self.workers.values():
            if worker.proc.poll() is None:
                worker.proc.send_signal(forwarded)
        # The parent's copy of the listener is closed at once (no worker is started from now
        # on): the workers' copies keep the port accepting through their drain, and once the
        # last of them is closed a new connection is refused.  Kept open, the parent's copy
        # queued connections nobody would accept, reset when it closed.
        self.sock.close()

    def _supervise(self) -> int:
        stop_deadline: float | None = None
        while True:
            if self.signals and stop_deadline is None:
                stop_deadline = (
                    time.monotonic()
                    + self.settings.shutdown_drain_delay
                    + self.settings.shutdown_timeout
                    + KILL_GRACE_SECONDS
                )
            for index, worker in list(self.workers.items()):
                code = worker.proc.poll()
                if code is None:
                    continue
                del self.workers[index]
                hooks.after_worker_exit(worker.proc.pid)
                if self.signals:
                    continue
                if code in FATAL_EXIT_CODES:
                    log.error("worker could not start", extra={"worker": index, "exit_code": code})
                    self._stop_all()
                    return code
                log.warning(
                    "worker died, restarting",
                    extra={"worker": index, "pid": worker.proc.pid, "exit_code": code},
                )
                fast = time.monotonic() - worker.started < FAST_EXIT_SECONDS
                self.restarts_due[index] = time.monotonic() + (
                    RESTART_BACKOFF_SECONDS if fast else 0.0
                )
            if self.signals:
                if not self.workers:
                    return 0
                if stop_deadline is not None and time.monotonic() > stop_deadline:
                    for worker in self.workers.values():
                        worker.proc.kill()
            else:
                now = time.monotonic()
                for index, due in list(self.restarts_due.items()):
                    if now >= due:
                        del self.restarts_due[index]
                        self._start(index)
            time.sleep(POLL_INTERVAL)

    def _start(self, index: int) -> None:
        # Blocked here too, until the worker is on the list: a stop that comes meanwhile is then
        # forwarded to it as well.  A stop that came before has closed the listener: no start.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            if not self.signals:
                self._spawn(index)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def _spawn(self, index: int) -> None:
        fd = self.sock.fileno()
        command = [
            sys.executable,
            "-m",
            "devutils.http.server.worker",
            f"--fd={fd}",
            f"--index={index}",
            f"--workers={self.count}",
        ]
        # Started with SIGTERM and SIGINT blocked (a new process inherits the signal mask), until
        # it serves (runner.serve unblocks them): a stop that comes while it imports and builds
        # the application stays pending and then drains it, where the default action would kill
        # it and drop the requests the kernel already queued on the shared socket.
        proc = subprocess.Popen(command, pass_fds=(fd,), process_group=0)  # noqa: S603
        self.workers[index] = _Worker(index, proc, time.monotonic())
        log.info("worker started", extra={"worker": index, "pid": proc.pid})

    def _stop_all(self) -> None:
        for worker in self.workers.values():
            worker.proc.send_signal(signal.SIGTERM)
        for worker in self.workers.values():
            try:
                worker.proc.wait(self.settings.shutdown_timeout + KILL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
