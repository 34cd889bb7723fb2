"""``devutils serve --workers N``: one socket, N processes, supervision, drain; the CPU default."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devutils.server import _announce, is_loopback
from devutils.settings import load_settings
from devutils.workers import cpu_limit
from tests.support import DEVUTILS, wait_for_http

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+) \((\d+) workers?\)")


class Supervised:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()


@contextlib.contextmanager
def two_workers(extra: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``devutils serve --workers 2`` on a free port, its log in a file; killed at the end."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTH_", "RATE_LIMIT_", "SERVER_", "SHUTDOWN_"))
    }
    env.update({"SECRETS_MOUNT_PATH": "/nonexistent", **extra})
    log = Path(tempfile.mkstemp(prefix="devutils-workers-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*DEVUTILS, "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.unlink()


@pytest.fixture
def supervised() -> Iterator[Supervised]:
    with two_workers({"RATE_LIMIT_ENABLED": "false"}) as (proc, log):
        port = _port_from(log, proc)
        wait_for_http(f"http://127.0.0.1:{port}/health/live", proc=proc)
        handle = Supervised(proc, port, log)
        _wait(lambda: len(handle.workers()) == 2)
        yield handle


def _port_from(log: Path, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = LISTENING.search(log.read_text(errors="replace"))
        if match:
            assert match.group(2) == "2"
            return int(match.group(1))
        assert proc.poll() is None, log.read_text()
        time.sleep(0.05)
    raise TimeoutError("no listening line")


def _wait(condition: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def _owners(server: Supervised, count: int) -> set[int]:
    """PIDs of the workers that accepted ``count`` connections (each answered a request)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: h\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            sockets.append(sock)
        ports = {sock.getsockname()[1] for sock in sockets}
        owners = set()
        for worker in server.workers():
            for connection in worker.net_connections(kind="tcp"):
                if connection.raddr and connection.raddr.port in ports:
                    owners.add(worker.pid)
        return owners
    finally:
        for sock in sockets:
            sock.close()


def test_two_workers_serve_from_two_processes_and_drain_on_sigterm(
    supervised: Supervised,
) -> None:
    workers = supervised.workers()
    pids = {worker.pid for worker in workers}
    assert len(pids) == 2
    # Which worker accepts a connection is the kernel's choice; with one worker stopped, the
    # other must take them all, so each is seen serving on the shared socket.
    for paused, running in (workers, workers[::-1]):
        paused.suspend()
        try:
            assert _owners(supervised, 4) == {running.pid}
        finally:
            paused.resume()
    supervised.proc.send_signal(signal.SIGTERM)
    assert supervised.proc.wait(30) == 0
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids
    )


def test_a_killed_worker_is_replaced(supervised: Supervised) -> None:
    victim = supervised.workers()[0].pid
    os.kill(victim, signal.SIGKILL)
    _wait(
        lambda: (
            len(supervised.workers()) == 2 and victim not in {w.pid for w in supervised.workers()}
        )
    )
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", supervised.port), timeout=5) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert "worker died, restarting" in supervised.log.read_text()
    supervised.proc.send_signal(signal.SIGTERM)
    assert supervised.proc.wait(30) == 0


def _cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return tmp_path


def test_cpu_limit_reads_the_cgroup_quota(tmp_path: Path) -> None:
    cpus = len(os.sched_getaffinity(0))
    assert cpu_limit(_cgroup(tmp_path / "none", {})) == cpus  # no cgroup files: the affinity
    assert cpu_limit(_cgroup(tmp_path / "max", {"cpu.max": "max 100000"})) == cpus
    assert cpu_limit(_cgroup(tmp_path / "one", {"cpu.max": "100000 100000"})) == 1
    assert cpu_limit(_cgroup(tmp_path / "half", {"cpu.max": "50000 100000"})) == 1  # at least 1
    assert cpu_limit(_cgroup(tmp_path / "big", {"cpu.max": "6400000 100000"})) == cpus  # capped
    v1 = {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}
    assert cpu_limit(_cgroup(tmp_path / "v1", v1)) == 1
    unlimited = {"cpu,cpuacct/cpu.cfs_quota_us": "-1", "cpu,cpuacct/cpu.cfs_period_us": "100000"}
    assert cpu_limit(_cgroup(tmp_path / "v1-unlimited", unlimited)) == cpus


def test_cpu_limit_rounds_a_fraction_down(tmp_path: Path) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 usable CPUs")
    assert cpu_limit(_cgroup(tmp_path, {"cpu.max": "250000 100000"})) == 2


def test_web_concurrency_sets_the_worker_count() -> None:
    assert load_settings({"WEB_CONCURRENCY": "3"}).server_workers == 3
    assert load_settings({"WEB_CONCURRENCY": "3", "SERVER_WORKERS": "2"}).server_workers == 2
    assert load_settings({}).server_workers is None


@pytest.mark.parametrize(
    ("host", "env", "level", "message"),
    [
        (
            "0.0.0.0",
            {},
            logging.WARNING,
            "listening on http://0.0.0.0:8080 (2 workers); AUTH_METHOD=none; reachable beyond "
            "loopback WITHOUT authentication: anyone who can reach this port can call every tool "
            "(set AUTH_METHOD, or bind --host 127.0.0.1)",
        ),
        (
            "127.0.0.1",
            {},
            logging.INFO,
            "listening on http://127.0.0.1:8080 (2 workers); AUTH_METHOD=none; loopback only",
        ),
        (
            "::",
            {"AUTH_METHOD": "api_key", "AUTH_API_KEYS": "k" * 32},
            logging.INFO,
            "listening on http://[::]:8080 (2 workers); AUTH_METHOD=api_key; reachable beyond "
            "loopback, authentication required",
        ),
    ],
    ids=["open-without-auth-warns", "loopback", "open-with-api-key"],
)
def test_the_start_line_names_address_auth_and_exposure(
    caplog: pytest.LogCaptureFixture, host: str, env: dict[str, str], level: int, message: str
) -> None:
    caplog.set_level(logging.INFO, logger="devutils.server")
    _announce(load_settings(env), host, 8080, 2)
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (level, message)
    ]


def test_loopback_names() -> None:
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("10.0.0.1")


def test_a_stop_while_workers_start_answers_what_was_queued() -> None:
    # SIGTERM right after both workers were started: they are still importing the application.
    # The request queued on the socket meanwhile is answered by the drain, not dropped.
    with two_workers({"SHUTDOWN_DRAIN_DELAY": "1"}) as (proc, log):
        port = _port_from(log, proc)
        # The supervisor has started both (its own handlers are in place); they are importing.
        _wait(lambda: log.read_text(errors="replace").count('"msg":"worker started"') == 2)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )
            proc.send_signal(signal.SIGTERM)
            answer = b""
            while part := sock.recv(65536):
                answer += part
        assert answer.startswith(b"HTTP/1.1 200"), (answer, log.read_text())
        assert proc.wait(30) == 0
