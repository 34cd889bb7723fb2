"""Test tools that run in pool processes, in a module of their own that imports little.

A pool process unpickles a call's function by module and name, so its first call imports the
function's module.  Defined in a test file, that meant pytest and the test's own imports: about
a second idle and several under load, inside the very deadline the tests measure.  Here a first
call adds only what a pool process has already imported (pydantic, devutils.registry).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from pydantic import Field

from devutils.models import ToolInput, ToolOutput
from devutils.registry import ToolContext, ToolSpec


class SleepIn(ToolInput):
    seconds: float = Field(0.0)
    pad: str = Field("")


class PidOut(ToolOutput):
    pid: int


def _sleep(inp: SleepIn, ctx: ToolContext) -> PidOut:
    time.sleep(inp.seconds)
    return PidOut(pid=os.getpid())


def _pool_tool(name: str, func: Callable[[SleepIn, ToolContext], PidOut], what: str) -> ToolSpec:
    """A test tool that always runs in a cpu pool process (its estimate is over the budget)."""
    return ToolSpec(
        path=f"/api/v1/test/{name}",
        title=name,
        description=what,
        func=func,
        input_model=SleepIn,
        output_model=PidOut,
        cost="cpu",
        estimate=lambda inp: 1 << 30,
    )


SLEEPER = _pool_tool("sleep", _sleep, "Sleeps in a pool process.")


def _crash(inp: SleepIn, ctx: ToolContext) -> PidOut:
    raise RuntimeError("a bug, with the input in its text: " + inp.pad)


def _hog(inp: SleepIn, ctx: ToolContext) -> PidOut:
    """Takes every byte the call's memory limit allows, down to small objects, and keeps it."""
    hoard = []
    for size in (1 << 20, 1 << 12, 64, 8):
        try:
            while True:
                hoard.append(bytearray(size))
        except MemoryError:
            pass
    raise MemoryError


_KEPT: list[bytes] = []


def _keep(inp: SleepIn, ctx: ToolContext) -> PidOut:
    """Keeps 24 MiB a call, as a cache keyed by the input would."""
    _KEPT.append(os.urandom(24 << 20))
    return PidOut(pid=os.getpid())


KEEPER = _pool_tool("keep", _keep, "Keeps memory across calls in a pool process.")
CRASHER = _pool_tool("crash", _crash, "Fails with a bug in a pool process.")
HOG = _pool_tool("hog", _hog, "Exhausts its memory limit in a pool process.")
