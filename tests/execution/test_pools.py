"""Worker pools and executors through Registry.invoke: deadlines, queues, memory, idle exit, CLI."""

from __future__ import annotations

import asyncio
import base64
import bz2
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from devutils.errors import (
    InternalError,
    RequestTooLargeError,
    ServiceUnavailableError,
    ToolTimeoutError,
    ValidationError,
)
from devutils.execution.executors import NetworkExecutor
from devutils.models import ToolOutput
from devutils.registry import (
    CallInfo,
    ConcurrencyGate,
    Registry,
    ToolContext,
    ToolSpec,
    catalogue,
)
from tests.conftest import make_settings
from tests.execution.pool_tools import CRASHER, HOG, KEEPER, SLEEPER, PidOut, SleepIn
from tests.support import DEVUTILS
from tests.test_bounded_server import REGEX_ATTACK, alive


def _registry(*specs: ToolSpec, **overrides: object) -> Registry:
    return Registry(specs or catalogue(), ToolContext(make_settings(**overrides)))


# The sleeper's deadline.  What the tests below assert is at least a second away from it, and
# its pool process is started before they run: a cold start (an interpreter and its imports)
# takes seconds on a loaded machine, and counts against the deadline of the call that pays it.
TIMEOUT = 3.0


async def _until(condition: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    """Wait for a state rather than for a guess at how long it takes on a busy machine."""
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"{what}: not within {seconds:g} s")
        await asyncio.sleep(0.01)


@pytest.fixture
def sleeper() -> Iterator[Registry]:
    registry = _registry(
        SLEEPER, tool_timeout=TIMEOUT, pool_cpu_workers=1, pool_queue_size=1, pool_idle_timeout=0.3
    )
    # With a deadline of its own: the start-up is not what the tests time.  The process then
    # waits in the idle list, and the idle timeout starts counting after the tests' first call.
    registry.invoke_sync(SLEEPER, {"seconds": 0}, deadline=time.monotonic() + 60)
    yield registry
    registry.close()


async def test_deadline_kills_the_process_and_the_next_call_gets_a_new_one(
    sleeper: Registry,
) -> None:
    pool = sleeper.executors.pool("cpu")
    first = await sleeper.invoke(SLEEPER, {"seconds": 0}, CallInfo("rest"))
    assert isinstance(first, PidOut)
    assert first.pid != os.getpid()
    with pytest.raises(ToolTimeoutError, match="timed out"):
        await sleeper.invoke(SLEEPER, {"seconds": 30}, CallInfo("rest"))
    assert first.pid not in pool.pids()  # not given back to the idle list
    # Stopped long before its 30 s sleep could end (the kill runs on the pool's starter thread).
    await _until(lambda: not alive(first.pid), "the timed-out call's process stopping")
    # The replacement starts cold: a deadline of its own, as this checks which process answers,
    # not how fast one starts.
    second = await pool.run(SLEEPER, SleepIn(seconds=0), time.monotonic() + 60)
    assert isinstance(second, PidOut)
    assert second.pid not in (first.pid, os.getpid())


async def test_full_queue_is_503_and_queueing_counts_against_the_deadline(
    sleeper: Registry,
) -> None:
    pool = sleeper.executors.pool("cpu")
    # Both calls do 2 s of work under a 3 s deadline: alone, each has a second to spare; queued
    # behind the other, the second call is a second past its deadline.
    busy = asyncio.create_task(sleeper.invoke(SLEEPER, {"seconds": 2.0}, CallInfo("rest")))
    await _until(lambda: bool(pool.busy), "the first call taking the process")
    queued = asyncio.create_task(sleeper.invoke(SLEEPER, {"seconds": 2.0}, CallInfo("rest")))
    await _until(lambda: pool._waiting == 1, "the second call queueing")
    with pytest.raises(ServiceUnavailableError) as refused:
        await sleeper.invoke(SLEEPER, {"seconds": 0}, CallInfo("rest"))
    assert refused.value.headers["Retry-After"] == "1"
    assert isinstance(await busy, PidOut)
    with pytest.raises(ToolTimeoutError):
        await queued


async def test_idle_processes_exit(sleeper: Registry) -> None:
    result = await sleeper.invoke(SLEEPER, {"seconds": 0}, CallInfo("rest"))
    assert isinstance(result, PidOut)
    pool = sleeper.executors.pools["cpu"]
    assert pool.pids() == [result.pid]
    # POOL_IDLE_TIMEOUT is 0.3 s here (the default is a minute).
    await _until(lambda: pool.pids() == [] and not alive(result.pid), "the idle process exiting")


async def test_close_stops_every_process() -> None:
    registry = _registry(SLEEPER, pool_cpu_workers=2)
    results = await asyncio.gather(
        *[registry.invoke(SLEEPER, {"seconds": 0.3}, CallInfo("rest")) for _ in range(2)]
    )
    pids = {result.pid for result in results if isinstance(result, PidOut)}
    assert len(pids) == 2
    registry.close()
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(ServiceUnavailableError):
        await registry.invoke(SLEEPER, {"seconds": 0}, CallInfo("rest"))


async def test_memory_limit_is_413_and_the_process_is_replaced() -> None:
    registry = _registry(pool_memory_limit_mb=16)
    spec = registry.get("data_json_format")
    assert spec is not None
    try:
        huge = "[" + "1," * 400_000 + "1]"  # ~25 MiB of Python objects once parsed
        with pytest.raises(RequestTooLargeError, match="memory") as refused:
            await registry.invoke(spec, {"content": huge, "action": "minify"}, CallInfo("rest"))
        assert "POOL_MEMORY_LIMIT_MB" in str(refused.value.details)
        ok = await registry.invoke(
            spec, {"content": "[" + "1," * 10_000 + "1]", "action": "minify"}, CallInfo("rest")
        )
        assert ok.model_dump()["result"].startswith("[1,1,")
    finally:
        registry.close()


async def test_a_call_that_exhausts_its_memory_is_413_even_with_nothing_left() -> None:
    # The reply must not need memory the call has taken (pickling it failed, the process died
    # and the caller got 503).
    registry = _registry(HOG, pool_memory_limit_mb=64)
    spec = registry.get("test_hog")
    assert spec is not None
    try:
        with pytest.raises(RequestTooLargeError, match="memory"):
            await registry.invoke(spec, {}, CallInfo("rest"))
    finally:
        registry.close()


async def test_a_process_that_keeps_memory_across_calls_is_retired() -> None:
    # Each call may use 64 MiB more than the process has when it starts; what calls keep would
    # raise that ceiling call after call, so a process that grew by more than 64 MiB since its
    # first call is replaced.
    registry = _registry(KEEPER, pool_memory_limit_mb=64, pool_cpu_workers=1)
    spec = registry.get("test_keep")
    assert spec is not None
    try:
        pids = [(await registry.invoke(spec, {}, CallInfo("rest"))).model_dump()["pid"]]
        for _ in range(5):
            pids.append((await registry.invoke(spec, {}, CallInfo("rest"))).model_dump()["pid"])
    finally:
        registry.close()
    # 24 MiB a call: the first settles it, three more pass 64 MiB, and the next is a new process.
    assert pids[:4] == [pids[0]] * 4
    assert pids[4] != pids[0]


async def test_a_tool_bug_in_a_pool_process_is_logged_by_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = _registry(CRASHER)
    spec = registry.get("test_crash")
    assert spec is not None
    try:
        with caplog.at_level("ERROR", logger="devutils.execution"), pytest.raises(InternalError):
            await registry.invoke(spec, {"pad": "secret-input"}, CallInfo("rest"))
    finally:
        registry.close()
    failed = [r for r in caplog.records if r.getMessage() == "tool failed in a pool process"]
    assert [(r.__dict__["tool"], r.__dict__["error"]) for r in failed] == [
        ("test_crash", "RuntimeError")
    ]
    assert "secret-input" not in caplog.text


async def test_argon2_has_a_deadline_and_its_process_is_stopped() -> None:
    registry = _registry(
        tool_timeout=0.5,
        argon_iterations=100,
        argon_memory=65536,
        argon_max_concurrency=1,
        argon_queue_timeout=5.0,
    )
    spec = registry.get("crypto_password_hash")
    assert spec is not None
    try:
        first = asyncio.create_task(registry.invoke(spec, {"password": "x"}, CallInfo("rest")))
        await asyncio.sleep(0.1)
        # Queued behind the first: its deadline (0.5 s) ends the wait, not the 5 s queue timeout.
        started = time.monotonic()
        with pytest.raises(ToolTimeoutError):
            await registry.invoke(spec, {"password": "y"}, CallInfo("rest"))
        assert time.monotonic() - started < 2.5  # half the queue timeout: a loaded CI has slack
        with pytest.raises(ToolTimeoutError):
            await first
        await asyncio.sleep(0.3)
        assert registry.executors.pools["argon2"].pids() == []
    finally:
        registry.close()


async def test_gate_wait_ends_at_the_deadline_with_504() -> None:
    gate = ConcurrencyGate(limit=1, queue=1, timeout=5)
    release = asyncio.Event()

    async def hold() -> ToolOutput:
        await release.wait()
        return PidOut(pid=0)

    holder = asyncio.create_task(gate.run(hold))
    await asyncio.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(ToolTimeoutError) as late:
        await gate.run(hold, deadline=time.monotonic() + 0.2)
    assert late.value.details == "the deadline passed while queued"
    assert time.monotonic() - started < 2.5  # the 0.2 s deadline, not the 5 s queue timeout
    release.set()
    await holder


async def test_output_cap_applies_to_results_made_on_the_event_loop() -> None:
    registry = _registry(max_output_bytes=1024)
    spec = registry.get("text_case")
    assert spec is not None
    try:
        # The text fields count: the result and "UPPERCASE" (9 characters).
        longest = 1015
        fits = {"content": "a" * longest, "caseType": "UPPERCASE"}
        assert (await registry.invoke(spec, fits, CallInfo("rest"))).model_dump()["result"] == (
            "A" * longest
        )
        with pytest.raises(RequestTooLargeError, match="Output too large") as refused:
            await registry.invoke(spec, {**fits, "content": "a" * (longest + 1)}, CallInfo("rest"))
        assert refused.value.details == "output would exceed 1 KiB (MAX_OUTPUT_BYTES)"
        # Control characters are written as \u0001, six bytes each: counted as written.
        escaped = {"content": "\x01" * (longest // 6 + 1), "caseType": "UPPERCASE"}
        with pytest.raises(RequestTooLargeError, match="Output too large"):
            await registry.invoke(spec, escaped, CallInfo("rest"))
    finally:
        registry.close()


async def test_a_decompressed_result_is_capped_as_json_not_as_characters() -> None:
    # 126 bytes that decompress to 8 Mi control characters: under the cap as characters, 48 MiB
    # of JSON (and over 100 MiB over MCP) as written.  Decompressed in a pool process.
    registry = _registry()
    spec = registry.get("transform_compress")
    assert spec is not None
    bomb = base64.b64encode(bz2.compress(b"\x01" * (8 << 20))).decode()
    args = {"content": bomb, "action": "decompress", "algorithm": "bzip2"}
    try:
        with pytest.raises(RequestTooLargeError, match="Output too large"):
            await registry.invoke(spec, args, CallInfo("rest"))
    finally:
        registry.close()


async def test_network_executor_is_bounded() -> None:
    executor = NetworkExecutor(size=1, queue=0)
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def hold() -> int:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result()
        return 1

    busy = asyncio.create_task(executor.run(hold, "test", time.monotonic() + 5))
    await asyncio.sleep(0.05)
    with pytest.raises(ServiceUnavailableError):
        await executor.run(lambda: 2, "test", time.monotonic() + 5)
    release.set()
    assert await busy == 1
    assert await executor.run(lambda: 3, "test", time.monotonic() + 5) == 3

    def slow() -> int:
        time.sleep(0.5)
        return 4

    with pytest.raises(ToolTimeoutError):
        await executor.run(slow, "test", time.monotonic() + 0.1)
    executor.close()


def test_a_cli_pipeline_has_one_deadline_for_all_its_steps() -> None:
    # Two steps of 2 s under a 3 s deadline: the second is stopped at what is left of it, as
    # the server stops it (each step had a deadline of its own: 4 s in all, answered).  The
    # pool process is started first, so that its start-up cannot be what times out.
    pipeline = next(spec for spec in catalogue() if spec.name == "pipeline")
    registry = _registry(SLEEPER, pipeline, tool_timeout=3.0)
    step = {"tool": "test_sleep", "args": {"seconds": 2.0}}
    try:
        registry.invoke_sync(SLEEPER, {"seconds": 0}, deadline=time.monotonic() + 60)
        started = time.monotonic()
        with pytest.raises(ToolTimeoutError):
            registry.invoke_sync(pipeline, {"steps": [step, step]})
        assert time.monotonic() - started < 10
    finally:
        registry.close()


def test_cli_has_the_same_deadline() -> None:
    env = {
        **os.environ,
        "TOOL_TIMEOUT": "1",
        "REGEX_MAX_GROUPS": "500",
        "SECRETS_MOUNT_PATH": "/nonexistent",
    }
    started = time.monotonic()
    result = subprocess.run(
        [*DEVUTILS, "text", "regex", "--json", "-"],
        input=json.dumps(REGEX_ATTACK).encode(),
        capture_output=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 75, result.stderr
    assert b"TIMEOUT" in result.stderr
    assert time.monotonic() - started < 8


def test_cli_has_the_same_output_cap() -> None:
    env = {**os.environ, "MAX_OUTPUT_BYTES": "1024", "SECRETS_MOUNT_PATH": "/nonexistent"}
    result = subprocess.run(
        [*DEVUTILS, "data", "json", "format", "--json", "-"],
        input=json.dumps(
            {"content": "[" + "[" * 200 + "]" * 200 + "]", "action": "format", "indent": 8}
        ).encode(),
        capture_output=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 65, result.stderr
    assert b"output would exceed 1 KiB (MAX_OUTPUT_BYTES)" in result.stderr


def test_regex_group_limit_is_a_validation_error(registry: Registry) -> None:
    spec = registry.get("text_regex")
    assert spec is not None
    with pytest.raises(ValidationError) as refused:
        registry.invoke_sync(spec, {"content": "a", "pattern": "(a)" * 101})
    assert refused.value.details == (
        "pattern has 101 capture groups; the limit is 100 (REGEX_MAX_GROUPS)"
    )


def test_a_pool_process_whose_server_is_gone_exits_before_it_reads_a_call() -> None:
    # The server's pid comes from the command line: a server that died before the process set
    # its parent-death signal leaves it under another parent, and it must not run what the
    # server had already written to its pipe (a read of getppid() at start-up would see the
    # reaper and go on).
    from devutils.execution.pool import _WORKER_CODE

    not_parent = os.getppid()  # pytest's parent: alive, and not the process's parent
    process = subprocess.Popen(
        (sys.executable, "-c", _WORKER_CODE, str(not_parent)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The pipe stays open and empty: only the parent check can end the process, at once
        # and silently (a crash would write its traceback).
        assert process.wait(30) == 1
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.read() == b""
        assert process.stderr.read() == b""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
