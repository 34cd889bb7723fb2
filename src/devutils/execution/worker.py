"""The main loop of a pool process: receive a call, run it, send the outcome back.

Started by :mod:`devutils.execution.pool` as ``python -c`` (a fresh interpreter: nothing of the
threaded server is inherited, and the server's own ``__main__`` is never re-run).  It imports only
this module at start; a call's tool module is imported when its function is unpickled, so a regex
worker never loads the certificate or network code.  Messages are length-prefixed pickles over
stdin/stdout: first the start-up message ``(sys.path, memory limit, settings)``, then per call
``(func, parsed input, output model, error message for bad text)`` in, an outcome tuple out.

The process asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``), and before
each call (once the call's tool module is imported) caps its address space at its current size
plus the pool's memory limit (soft ``RLIMIT_AS``), so one call cannot take the pod.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import resource
import signal
import sys
from typing import Any

from devutils.execution import framing

PR_SET_PDEATHSIG = 1
# Pool work yields the CPU to the server's event loop (health checks, cheap tools) when they
# compete for a core: a saturated pool must not slow /health/live.
NICENESS = 5

# Outcome tags (first element of every reply).
OK = "ok"
TOOL_ERROR = "tool-error"
OUT_OF_MEMORY = "memory"
CRASHED = "crashed"
RETIRING = "retiring"  # (RETIRING, reply): the reply, then this process exits
# Pickled now: after a MemoryError under the call's RLIMIT_AS, pickling even this tuple can fail
# again, and the process would die instead of answering 413.
_OUT_OF_MEMORY_REPLY = pickle.dumps((OUT_OF_MEMORY,))


def _die_with_parent(parent: int) -> None:
    """``parent`` is the server's pid, as it started us: one read here with getppid() could
    already be the reaper's, if the server died while this interpreter was starting."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _virtual_size() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _resident_size() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _limit_memory(extra_bytes: int) -> None:
    """Soft limit only: the next call sets it again from the size the process then has."""
    if extra_bytes <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _virtual_size() + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _over_cap(result: Any, limit: int) -> bool:
    from devutils.registry import over_output_cap

    return over_output_cap(result, limit)


def _run(message: bytes, settings: Any, context: Any, memory_limit: int) -> tuple[Any, ...]:
    from devutils.errors import ToolError
    from devutils.execution.budget import output_too_large
    from devutils.execution.call import run_tool

    func, parsed, output_model, bind_message = pickle.loads(message)  # noqa: S301 - our own parent
    _limit_memory(memory_limit)  # after the tool's imports: the limit is for the call's own work
    try:
        result = run_tool(func, parsed, context, output_model, bind_message)
        # Measured here so an oversized result never crosses the pipe.
        if _over_cap(result, settings.max_output_bytes):
            raise output_too_large(settings.max_output_bytes)
    except ToolError as exc:
        return (TOOL_ERROR, type(exc).__name__, exc.message, exc.details, exc.headers)
    return (OK, result)


def main(parent: int) -> None:
    _die_with_parent(parent)
    # Metrics are the server's: a pool process must not write multiprocess metric files.
    for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        os.environ.pop(name, None)
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C reaches the whole group; the server decides
    os.nice(NICENESS)
    # The pipes are our stdin/stdout; nothing else may write to stdout.
    requests, replies = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDWR), 0)
    os.dup2(2, 1)
    path, memory_limit, settings = pickle.loads(framing.receive(requests))  # noqa: S301
    sys.path[:] = path
    from devutils.registry import ToolContext

    context = ToolContext(settings)
    settled: int | None = None  # resident size after the first call (its imports done)
    while True:
        try:
            message = framing.receive(requests)
        except (EOFError, OSError):
            return  # the server closed the pipe: shut down
        healthy = True
        try:
            outcome = _run(message, settings, context, memory_limit)
            # Each call's memory limit counts from the size the process has then, so what calls
            # keep (a cache keyed by their input) would raise it call after call: a process that
            # grew by more than one call's limit since its first call is retired after this
            # reply, and the pool starts a fresh one.
            resident = _resident_size()
            if settled is None:
                settled = resident
            elif memory_limit > 0 and resident > settled + memory_limit:
                healthy = False
                outcome = (RETIRING, outcome)
            reply = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            healthy = False  # the heap may be fragmented: the pool starts a fresh process
            reply = _OUT_OF_MEMORY_REPLY
        except Exception as exc:
            reply = pickle.dumps((CRASHED, type(exc).__name__))
        try:
            framing.send(replies, reply)
        except OSError:
            return
        if not healthy:
            return


if __name__ == "__main__":
    main(int(sys.argv[1]))
