"""A bounded pool of worker processes for one cost class, stoppable at every call's deadline.

At most ``size`` processes, started lazily; at most ``queue`` calls waiting for one, each for no
longer than what is left of its deadline (503 when the queue is full, 504 when the deadline passes
while waiting).  A call that passes its deadline gets its process killed (SIGKILL) and replaced on
the next call, so a 504 means the work has stopped.  A process that dies (killed by the kernel,
address-space limit) answers 503 and is replaced; one that ran out of memory answers 413.  Idle
processes exit after ``idle_timeout`` seconds.

Processes are fresh interpreters (``python -c``, like multiprocessing's "spawn"), never forks of
the threaded server; unlike multiprocessing they do not re-run the parent's ``__main__``.  They
are started from one long-lived thread, because ``PR_SET_PDEATHSIG`` fires when the thread that
started a process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devutils import errors
from devutils.errors import (
    InternalError,
    RequestTooLargeError,
    ServiceUnavailableError,
    ToolError,
    ToolTimeoutError,
)
from devutils.execution import framing
from devutils.execution import worker as worker_module
from devutils.models import ToolOutput
from devutils.observability.metrics import (
    POOL_BUSY,
    POOL_KILL_REASONS,
    POOL_KILLS,
    POOL_QUEUED,
    POOL_TIMEOUTS,
)

log = logging.getLogger("devutils.execution")

_ERRORS: dict[str, type[ToolError]] = {cls.__name__: cls for cls in errors.ALL_ERRORS}
# The server's pid goes on the command line: the process checks it is still its parent once the
# kernel's parent-death signal is set (see worker._die_with_parent).
_WORKER_CODE = "import sys; from devutils.execution.worker import main; main(int(sys.argv[1]))"

# Starting a process (~0.2 s of interpreter start-up, off the loop) and killing one go through
# this one thread.  It lives as long as the server: the kernel's parent-death signal is tied to it.
_STARTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devutils-pool-start")
# Pids of this process's pool processes not yet stopped, for the pod's process metrics
# (devutils.observability.processes).  A pid leaves before its process is reaped, so it can never
# name a later, unrelated process.
_live_pids: set[int] = set()


def live_pids() -> list[int]:
    """This process's pool processes (every pool), alive or exited but not yet stopped."""
    return list(_live_pids)


class PoolProcess:
    """One worker process and the parent's ends of its pipes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        self.requests = process.stdin.fileno()
        self.replies = process.stdout.fileno()
        self.idle_since = time.monotonic()
        self.calls = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, payload: bytes) -> None:
        framing.send(self.requests, payload)

    def receive(self) -> bytes:
        return framing.receive(self.replies)

    def stop(self) -> None:
        """Kill at once (a call that passed its deadline must stop now) and reap."""
        _live_pids.discard(self.process.pid)
        with contextlib.suppress(OSError):
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def _start_process(memory_limit: int, settings: Any) -> PoolProcess:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        (sys.executable, "-c", _WORKER_CODE, str(os.getpid())),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        close_fds=True,
        start_new_session=False,
    )
    _live_pids.add(process.pid)
    proc = PoolProcess(process)
    try:
        os.set_inheritable(proc.requests, False)
        proc.send(pickle.dumps((list(sys.path), memory_limit, settings)))
    except OSError:
        proc.stop()  # reaped here, so its pid leaves the live set
        raise
    return proc


def _readable(fd: int, timeout: float) -> bool:
    import select

    ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
    return bool(ready)


def _outcome(outcome: tuple[Any, ...], name: str, memory_limit_mb: int) -> ToolOutput:
    tag = outcome[0]
    if tag == worker_module.OK:
        result: ToolOutput = outcome[1]
        return result
    if tag == worker_module.TOOL_ERROR:
        cls = _ERRORS.get(outcome[1], InternalError)
        raise cls(outcome[2], outcome[3], headers=outcome[4])
    if tag == worker_module.OUT_OF_MEMORY:
        raise RequestTooLargeError(
            "Not enough memory for this input",
            f"the call needed more than {memory_limit_mb} MiB (POOL_MEMORY_LIMIT_MB)",
        )
    # A bug in the tool: its type only (never its text, which may quote the input), as the
    # server logs an unhandled error of its own.
    log.error("tool failed in a pool process", extra={"tool": name, "error": outcome[1]})
    raise InternalError("Internal server error", f"{name} failed")


class WorkerPool:
    def __init__(
        self,
        name: str,
        *,
        size: int,
        queue: int,
        memory_limit_mb: int,
        idle_timeout: float,
        settings: Any,
        on_reject: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.size = size
        self.queue = queue
        self.memory_limit_mb = memory_limit_mb
        self.idle_timeout = idle_timeout
        self.settings = settings
        self.on_reject = on_reject
        self._idle: list[PoolProcess] = []
        self.busy: set[PoolProcess] = set()
        self._semaphore: asyncio.Semaphore | None = None
        self._sync_slots = threading.BoundedSemaphore(size)
        self._waiting = 0
        self._lock = threading.Lock()
        self._reaper: asyncio.TimerHandle | None = None
        self.closed = False
        # Metrics of the server path (docs/operations.md), series resolved once; they exist at 0
        # from the pool's first use.
        labels = {"class": name}
        self._busy_gauge = POOL_BUSY.labels(**labels)
        self._queued_gauge = POOL_QUEUED.labels(**labels)
        self._timeouts = POOL_TIMEOUTS.labels(**labels)
        self._kills = {reason: POOL_KILLS.labels(name, reason) for reason in POOL_KILL_REASONS}

    # --- introspection (tests, metrics) ---------------------------------------------------------
    def pids(self) -> list[int]:
        with self._lock:
            return [proc.pid for proc in (*self._idle, *self.busy)]

    # --- process bookkeeping -------------------------------------------------------------------
    def _take_idle(self) -> PoolProcess | None:
        with self._lock:
            while self._idle:
                proc = self._idle.pop()
                if proc.alive():
                    return proc
                _STARTER.submit(proc.stop)
        return None

    def _new_process(self) -> PoolProcess:
        return _start_process(self.memory_limit_mb * 1024 * 1024, self.settings)

    def _give_back(self, proc: PoolProcess) -> None:
        proc.idle_since = time.monotonic()
        with self._lock:
            self.busy.discard(proc)
            if self.closed:
                _STARTER.submit(proc.stop)
                return
            self._idle.append(proc)

    def _discard(self, proc: PoolProcess) -> None:
        with self._lock:
            self.busy.discard(proc)
        _STARTER.submit(proc.stop)

    def _reap_idle(self) -> None:
        """Stop processes idle for longer than ``idle_timeout``."""
        self._reaper = None
        cutoff = time.monotonic() - self.idle_timeout
        with self._lock:
            old = [proc for proc in self._idle if proc.idle_since <= cutoff]
            self._idle = [proc for proc in self._idle if proc.idle_since > cutoff]
            pending = bool(self._idle)
        for proc in old:
            _STARTER.submit(proc.stop)
        if pending:
            self._schedule_reaper()

    def _schedule_reaper(self) -> None:
        if self._reaper is None and self.idle_timeout > 0 and not self.closed:
            loop = asyncio.get_running_loop()
            self._reaper = loop.call_later(self.idle_timeout, self._reap_idle)

    def _busy_error(self) -> ServiceUnavailableError:
        if self.on_reject is not None:
            self.on_reject()
        return ServiceUnavailableError(
            "Server busy, retry shortly",
            f"all {self.name} workers are busy and the queue is full",
            headers={"Retry-After": "1"},
        )

    def _timeout_error(self, tool: str) -> ToolTimeoutError:
        return ToolTimeoutError("Operation timed out", f"{tool} exceeded its deadline")

    @staticmethod
    def _message(spec: Any, parsed: Any) -> bytes:
        return pickle.dumps(
            (spec.func, parsed, spec.output_model, spec.bind_error_message),
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    # --- async path (server) -------------------------------------------------------------------
    async def run(self, spec: Any, parsed: Any, deadline: float) -> ToolOutput:
        """Run ``spec.func(parsed)`` in a pool process; ``deadline`` is a ``time.monotonic()``."""
        if self.closed:
            raise ServiceUnavailableError("Server shutting down", "the worker pool is closed")
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.size)
        semaphore = self._semaphore
        if semaphore.locked():
            if self._waiting >= self.queue:
                raise self._busy_error()
            self._waiting += 1
            self._queued_gauge.inc()
            try:
                await asyncio.wait_for(semaphore.acquire(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                self._timeouts.inc()
                raise self._timeout_error(spec.name) from None
            finally:
                self._waiting -= 1
                self._queued_gauge.dec()
        else:
            await semaphore.acquire()
        self._busy_gauge.inc()
        try:
            return await self._run_acquired(spec, parsed, deadline)
        finally:
            self._busy_gauge.dec()
            semaphore.release()

    async def _run_acquired(self, spec: Any, parsed: Any, deadline: float) -> ToolOutput:
        loop = asyncio.get_running_loop()
        proc = self._take_idle()
        if proc is None:
            proc = await loop.run_in_executor(_STARTER, self._new_process)
        with self._lock:
            self.busy.add(proc)
        message = self._message(spec, parsed)
        replied: asyncio.Future[bytes] = loop.create_future()
        fd = proc.replies
        reader = framing.Reader(fd)

        def on_readable() -> None:
            # A large reply arrives in pieces: read each as it comes, never block the loop.
            if replied.done():
                return
            try:
                whole = reader.feed()
            except (EOFError, OSError) as exc:
                replied.set_exception(exc)
                return
            if whole is not None:
                replied.set_result(whole)

        os.set_blocking(fd, False)
        loop.add_reader(fd, on_readable)
        try:
            try:
                proc.send(message)
                reply = await asyncio.wait_for(replied, max(0.0, deadline - time.monotonic()))
            finally:
                loop.remove_reader(fd)
        except TimeoutError:
            self._discard(proc)  # kill: the work stops with the answer
            self._timeouts.inc()
            self._killed("timeout", spec.name, proc)
            raise self._timeout_error(spec.name) from None
        except asyncio.CancelledError:
            self._discard(proc)  # the client went away: nobody wants the result
            self._killed("cancelled", spec.name, proc)
            raise
        except (EOFError, OSError):
            self._discard(proc)
            self._killed("died", spec.name, proc)
            raise self._died_error() from None
        outcome = self._finish(proc, reply)
        if outcome[0] == worker_module.OUT_OF_MEMORY:
            self._killed("out_of_memory", spec.name, proc)
        self._schedule_reaper()
        return _outcome(outcome, spec.name, self.memory_limit_mb)

    def _killed(self, reason: str, tool: str, proc: PoolProcess) -> None:
        """Count and log a pool process stopped mid-call (never the call's input)."""
        self._kills[reason].inc()
        extra: dict[str, Any] = {
            "class": self.name,
            "reason": reason,
            "tool": tool,
            "pid": proc.pid,
        }
        if reason == "timeout":
            extra["limit"] = f"{self.settings.tool_timeout:g} s"
        elif reason == "out_of_memory":
            extra["limit"] = f"{self.memory_limit_mb} MiB"
        # A client that went away is routine; the other reasons are worth an operator's look.
        level = logging.INFO if reason == "cancelled" else logging.WARNING
        log.log(level, "pool process killed", extra=extra)

    def _finish(self, proc: PoolProcess, reply: bytes) -> tuple[Any, ...]:
        """Decode a reply and return the process to the idle list, unless it is exiting."""
        outcome: tuple[Any, ...] = pickle.loads(reply)  # noqa: S301 - our own worker process
        proc.calls += 1
        if outcome[0] == worker_module.RETIRING:
            outcome = outcome[1]
            self._discard(proc)  # it exits after this reply: it kept too much memory
            log.info("pool process retired", extra={"class": self.name, "pid": proc.pid})
        elif outcome[0] == worker_module.OUT_OF_MEMORY:
            self._discard(proc)  # it exits after a MemoryError
        else:
            self._give_back(proc)
        return outcome

    def _died_error(self) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            "Worker process failed, retry shortly",
            f"a {self.name} worker stopped (out of memory or killed); it has been replaced",
            headers={"Retry-After": "1"},
        )

    # --- sync path (CLI) -----------------------------------------------------------------------
    def run_sync(self, spec: Any, parsed: Any, deadline: float) -> ToolOutput:
        if not self._sync_slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise self._timeout_error(spec.name)
        try:
            proc = self._take_idle() or self._new_process()
            with self._lock:
                self.busy.add(proc)
            try:
                os.set_blocking(proc.replies, True)
                proc.send(self._message(spec, parsed))
                if not _readable(proc.replies, deadline - time.monotonic()):
                    self._discard(proc)
                    raise self._timeout_error(spec.name)
                reply = proc.receive()
            except (EOFError, OSError):
                self._discard(proc)
                raise self._died_error() from None
            return _outcome(self._finish(proc, reply), spec.name, self.memory_limit_mb)
        finally:
            self._sync_slots.release()

    # --- shutdown ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every process (idle at once, busy ones too: shutdown waits for no pool call)."""
        with self._lock:
            self.closed = True
            procs = [*self._idle, *self.busy]
            self._idle.clear()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for proc in procs:
            proc.stop()
