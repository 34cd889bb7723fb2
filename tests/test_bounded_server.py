"""The attacks of issue #13 against a real server: every call bounded, stoppable and capped.

Each test starts ``devutils serve`` (tests/support.py) with small limits, runs one attack and
checks what the attacker got, that ``/health/live`` and the other cost classes kept answering,
that timed-out work really stopped (its pool process is gone) and that memory stayed bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.frontends.mcp_support import modern_call
from tests.support import ServerProcess, run_server

MIB = 1024 * 1024
# The first attack of the issue: 12.5 s of RE2 work on a 61 KB body.
REGEX_ATTACK = {"content": "a" * 60_000, "pattern": "(" * 499 + ".*" + ")" * 499, "flags": "s"}
QUIET = {"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "error"}

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")


def post(
    server: ServerProcess,
    path: str,
    body: Any,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.base + path,
        data=json.dumps(body).encode(),
        headers=headers or {"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def tool(server: ServerProcess, name: str, body: Any, timeout: float = 30.0) -> tuple[int, Any]:
    return post(server, f"/api/v1/{name}", body, timeout)


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (pool processes), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


class LivenessProbe:
    """Polls /health/live in a thread and keeps every latency (a failed probe counts as 99 s)."""

    def __init__(self, server: ServerProcess) -> None:
        self.url = server.base + "/health/live"
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    ok = response.status == 200
            except OSError:
                ok = False
            self.latencies.append(time.perf_counter() - started if ok else 99.0)
            time.sleep(0.05)

    def __enter__(self) -> LivenessProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def concurrently(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as executor:
        futures = [executor.submit(call) for call in calls]
        return [future.result() for future in futures]


@pytest.fixture(scope="module")
def attack_server() -> Iterator[ServerProcess]:
    env = {
        **QUIET,
        "TOOL_TIMEOUT": "2",
        "REGEX_MAX_GROUPS": "500",  # let the original attack through to the pool
        "POOL_REGEX_WORKERS": "2",
        "POOL_QUEUE_SIZE": "1",
        "MAX_OUTPUT_BYTES": str(MIB),
        "ARGON_MEMORY": "8192",
        "ARGON_ITERATIONS": "1",
        "ARGON_PARALLELISM": "1",
        # Pool processes a test started stay for its later calls (never reaped while idle).
        "POOL_IDLE_TIMEOUT": "0",
    }
    with run_server(env) as server:
        yield server


def test_regex_attack_answers_504_while_the_server_stays_live(
    attack_server: ServerProcess,
) -> None:
    with LivenessProbe(attack_server) as probe:
        answers = concurrently(*[lambda: tool(attack_server, "text/regex", REGEX_ATTACK)] * 3)
    statuses = sorted(status for status, _ in answers)
    # Two pool processes work until their deadline; the third waits in the queue and gets 504
    # when its own deadline passes (queueing counts) — or 503 when the queue is full.
    assert statuses[:2] == [504, 504]
    assert statuses[2] in (503, 504)
    assert all(body["error"]["code"] in ("TIMEOUT", "SERVICE_UNAVAILABLE") for _, body in answers)
    assert len(probe.latencies) >= 10
    assert max(probe.latencies) < 2.0  # seconds: the loop never froze (was 12.5 s per request)


def scrape(server: ServerProcess) -> dict[str, float]:
    """The sample lines of /metrics, by series (name and labels as written)."""
    with urllib.request.urlopen(server.base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            samples[series] = float(value)
    return samples


def test_pool_metrics_count_timeouts_kills_and_busy_workers(attack_server: ServerProcess) -> None:
    before = scrape(attack_server)
    timeouts = 'pool_timeouts_total{class="regex"}'
    killed = 'pool_kills_total{class="regex",reason="timeout"}'
    answers = concurrently(*[lambda: tool(attack_server, "text/regex", REGEX_ATTACK)] * 2)
    assert [status for status, _ in answers] == [504, 504]
    after = scrape(attack_server)
    # Two calls ran to their deadline in two processes, and both processes were killed.
    assert after[timeouts] - before.get(timeouts, 0) == 2
    assert after[killed] - before.get(killed, 0) == 2
    assert after['pool_busy_workers{class="regex"}'] == 0
    assert after['pool_queued_calls{class="regex"}'] == 0
    assert after['pool_kills_total{class="regex",reason="died"}'] == 0


def test_timed_out_work_stops_and_the_pool_recovers(attack_server: ServerProcess) -> None:
    server_pid = attack_server.proc.pid
    # Warm the pool: a call over the inline budget runs in a pool process.
    assert tool(attack_server, "text/regex", {"content": "a" * 20_000, "pattern": "a+"})[0] == 200
    result: list[Any] = []
    caller = threading.Thread(
        target=lambda: result.append(tool(attack_server, "text/regex", REGEX_ATTACK))
    )
    caller.start()
    # The busy worker is the one burning CPU (0.2 s of it) while the call waits for its answer.
    busy: list[int] = []
    while not busy and caller.is_alive():
        busy = [pid for pid in children(server_pid) if _cpu_ticks(pid) > 20]
        time.sleep(0.05)
    assert busy, "no pool process worked on the attack"
    caller.join()
    assert result[0][0] == 504
    # Killed with the answer: gone at once, or within a few seconds on a stalled machine.
    give_up = time.monotonic() + 5
    while any(alive(pid) for pid in busy) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in busy), "the timed-out work is still running"
    # A follow-up call is served (by a fresh process).
    status, body = tool(attack_server, "text/regex", {"content": "a" * 20_000, "pattern": "a+"})
    assert status == 200
    assert body["data"]["matches"] == ["a" * 20_000]


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_other_classes_keep_answering_while_regex_is_saturated(
    attack_server: ServerProcess,
) -> None:
    others = {
        "crypto/hash": {"content": "x" * 1024, "algorithm": "sha256"},
        "text/case": {"content": "hello world " * 2000, "caseType": "UPPERCASE"},
        "network/dns": {"domain": "localhost", "recordType": "A"},
        "crypto/password/hash": {"password": "correct horse"},
        "data/json/format": {"content": "[" + "1," * 20_000 + "1]", "action": "format"},
    }
    # Each class's pool process is started (and its tool imported) before the attack: the
    # timings below are of isolation from the regex class, not of a cold start on a loaded
    # machine.  POOL_IDLE_TIMEOUT is 0 for this server, so no warm process is reaped meanwhile.
    for name, body in others.items():
        assert tool(attack_server, name, body)[0] in (200, 403), name
    attackers = ThreadPoolExecutor(3)
    attacks = [attackers.submit(tool, attack_server, "text/regex", REGEX_ATTACK) for _ in range(3)]
    saturated = {'pool_busy_workers{class="regex"}': 2.0, 'pool_queued_calls{class="regex"}': 1.0}
    give_up = time.monotonic() + 10
    while {series: scrape(attack_server).get(series) for series in saturated} != saturated:
        assert time.monotonic() < give_up, "the regex processes never were all busy, queue full"
        time.sleep(0.02)
    timings: dict[str, tuple[int, float]] = {}
    for name, body in others.items():
        started = time.perf_counter()
        status, _ = tool(attack_server, name, body)
        timings[name] = (status, time.perf_counter() - started)
    statuses = [future.result()[0] for future in attacks]
    attackers.shutdown()
    for name, (status, seconds) in timings.items():
        assert status not in (503, 504), f"{name} answered {status}"
        assert seconds < 2.0, f"{name} took {seconds:.2f} s"
    assert timings["crypto/hash"][0] == 200
    assert timings["text/case"][0] == 200
    assert timings["network/dns"][0] == 403  # answered by its own executor (a refused name)
    assert timings["crypto/password/hash"][0] == 200
    assert timings["data/json/format"][0] == 200
    assert sorted(statuses)[:2] == [504, 504]
    assert 503 in statuses or statuses.count(504) == 3


def test_json_nesting_attack_is_413_and_memory_stays_bounded(
    attack_server: ServerProcess,
) -> None:
    # The second attack: 400 arrays nested 255 deep, indent 8 (204 KB in, 208 MB out before).
    attack = "[" + ",".join(["[" * 254 + "]" * 254] * 400) + "]"
    status, body = tool(
        attack_server, "data/json/format", {"content": attack, "action": "format", "indent": 8}
    )
    assert status == 413
    assert body["error"]["code"] == "REQUEST_TOO_LARGE"
    assert body["error"]["details"] == "output would exceed 1 MiB (MAX_OUTPUT_BYTES)"
    pids = [attack_server.proc.pid, *children(attack_server.proc.pid)]
    peak = sum(peak_rss_mib(pid) for pid in pids if alive(pid))
    assert peak < 400, f"server and pool peaked at {peak:.0f} MiB"


def test_regex_output_amplification_is_413_over_rest_and_mcp(
    attack_server: ServerProcess,
) -> None:
    # The third attack, scaled to the 1 MiB cap: nested groups repeat a long match 22 times.
    amplify = {"content": "a" * 100_000, "pattern": "(" * 20 + "a+" + ")" * 20}
    status, body = tool(attack_server, "text/regex", amplify)
    assert status == 413
    assert body["error"] == {
        "code": "REQUEST_TOO_LARGE",
        "message": "Regex test failed",
        "details": "output would exceed 1 MiB (MAX_OUTPUT_BYTES)",
    }
    headers, call = modern_call("text_regex", amplify)
    status, reply = post(attack_server, "/mcp", call, headers=headers)
    assert status == 200
    result = reply["result"]
    assert result["isError"] is True
    assert "structuredContent" not in result  # errors are text only (docs/api-deltas.md D10)
    assert json.loads(result["content"][1]["text"])["code"] == "REQUEST_TOO_LARGE"
    assert "MAX_OUTPUT_BYTES" in result["content"][0]["text"]


def test_sigkilled_server_leaves_no_pool_processes() -> None:
    env = {**QUIET, "REGEX_MAX_GROUPS": "500", "TOOL_TIMEOUT": "60"}
    with run_server(env) as server:
        # One idle pool process (its pipe closes) and one busy for ~12 s (only the kernel's
        # parent-death signal can stop it in time).
        assert (
            tool(
                server,
                "data/json/format",
                {"content": "[" + "1," * 9000 + "1]", "action": "minify"},
            )[0]
            == 200
        )

        def attack() -> None:
            with contextlib.suppress(OSError):  # the server dies under it
                tool(server, "text/regex", REGEX_ATTACK, timeout=5)

        idle = children(server.proc.pid)
        attacker = threading.Thread(target=attack, daemon=True)
        attacker.start()
        # Wait for the regex process to be at work: 1 s of CPU, more than its start-up takes
        # (the idle one passed 0.2 s just starting); the attack lasts ~12 s.
        give_up = time.monotonic() + 30
        pool = children(server.proc.pid)
        while not (
            len(pool) == 2 and any(_cpu_ticks(pid) > 100 for pid in pool if pid not in idle)
        ):
            assert time.monotonic() < give_up, f"pool never busy: {pool}"
            time.sleep(0.05)
            pool = children(server.proc.pid)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(pid) for pid in pool):
            time.sleep(0.05)
        assert not any(alive(pid) for pid in pool), "orphaned pool processes"


def _request_of(front_door: str) -> bytes:
    """A raw POST of the regex attack through one front door (~12 s of work in a pool)."""
    body: Any
    if front_door == "rest":
        path, body = "/api/v1/text/regex", REGEX_ATTACK
        headers = {"Content-Type": "application/json"}
    elif front_door == "mcp":  # the 2026-07-28 direct path
        path = "/mcp"
        headers, body = modern_call("text_regex", REGEX_ATTACK)
    else:  # a 2025 revision: the SDK serves it
        path = "/mcp"
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        }
        params = {"name": "text_regex", "arguments": REGEX_ATTACK}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(payload)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@pytest.mark.parametrize("front_door", ["rest", "mcp", "mcp-sdk"])
def test_a_client_that_leaves_stops_its_call(front_door: str) -> None:
    """Closing the connection cancels the call: its pool process is killed long before the work
    would end (MCP's Streamable HTTP: a disconnect is the cancellation of the request)."""
    env = {**QUIET, "REGEX_MAX_GROUPS": "500", "TOOL_TIMEOUT": "60", "POOL_IDLE_TIMEOUT": "0"}
    with run_server(env) as server:
        cancelled = 'pool_kills_total{class="regex",reason="cancelled"}'
        before = scrape(server).get(cancelled, 0)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(_request_of(front_door))
            # At work: 1 s of CPU, more than a pool process's start-up takes.
            give_up = time.monotonic() + 30
            busy: list[int] = []
            while not busy:
                assert time.monotonic() < give_up, "no pool process worked on the call"
                time.sleep(0.05)
                busy = [pid for pid in children(server.proc.pid) if _cpu_ticks(pid) > 100]
        # The work had ~11 s left; the kill follows the close at once (5 s for a stalled machine).
        give_up = time.monotonic() + 5
        while any(alive(pid) for pid in busy) and time.monotonic() < give_up:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in busy), "the call went on after its client left"
        assert scrape(server)[cancelled] - before == 1
        assert '"level":"ERROR"' not in server.logs()  # a cancel is routine, not a failure
        # The server goes on serving the class (a fresh process).
        status, body = tool(server, "text/regex", {"content": "a" * 20_000, "pattern": "a+"})
        assert (status, body["data"]["matches"]) == (200, ["a" * 20_000])


def test_sigterm_stops_the_pools_cleanly() -> None:
    with run_server(QUIET) as server:
        assert tool(server, "text/regex", {"content": "a" * 20_000, "pattern": "a+"})[0] == 200
        pool = children(server.proc.pid)
        assert pool
        assert server.stop() == 0
    assert not any(alive(pid) for pid in pool)


def test_a_client_that_sends_its_whole_oversized_body_first_still_reads_the_413() -> None:
    # The router answers 413 from Content-Length before reading the body; closing at once made
    # the kernel reset the connection on the unread bytes, and the reset discarded the answer.
    body = b'{"content":"' + b"a" * 1_200_000 + b'"}'
    head = (
        b"POST /api/v1/text/info HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with run_server({"RATE_LIMIT_ENABLED": "false"}) as server:
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(head + body)  # the server drops what it will not read
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
