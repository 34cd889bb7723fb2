"""Graceful shutdown on a real server process: not-ready first, stop accepting, finish, exit 0."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import typing
import urllib.error
import urllib.request

import psutil
import pytest

from tests.server.harness import wait_until
from tests.support import DEVUTILS, free_port, in_signal_set, run_server

BODY = b'{"content": "hello world", "algorithm": "sha256"}'


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split(b" ", 2)[1]), json.loads(rest)


def _accepted(server_pid: int, port: int, client: socket.socket) -> bool:
    """Whether the server process, or one of its workers, has accepted ``client``'s connection."""
    peer = client.getsockname()[1]
    parent = psutil.Process(server_pid)
    for process in (parent, *parent.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            for conn in process.net_connections(kind="tcp"):
                if (
                    conn.laddr
                    and conn.laddr.port == port
                    and conn.raddr
                    and conn.raddr.port == peer
                ):
                    return True
    return False


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("workers", ["1", "2"], ids=["in-process", "two-workers"])
def test_sigterm_drains_then_finishes_in_flight_requests(workers: str) -> None:
    # The drain is long enough that a stalled test process still sees it (503 while listening).
    settings = {"SHUTDOWN_DRAIN_DELAY": "3", "SHUTDOWN_TIMEOUT": "20", "SERVER_WORKERS": workers}
    with run_server(settings) as server:
        ready_url = f"{server.base}/health/ready"
        assert _status(ready_url) == 200
        # A request in flight: headers and half of the body sent, and the connection accepted,
        # before the signal.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(
            b"POST /api/v1/crypto/hash HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
            + BODY[:10]
        )
        deadline = time.monotonic() + 10
        while not _accepted(server.proc.pid, server.port, sock):
            assert time.monotonic() < deadline, "the server never accepted the connection"
            time.sleep(0.02)
        server.proc.send_signal(signal.SIGTERM)
        # Draining: still listening, but not ready, so load balancers take it out.
        deadline = time.monotonic() + 10
        while (status := _status(ready_url)) != 503:
            assert status == 200
            assert time.monotonic() < deadline, "readiness never turned 503"
            time.sleep(0.05)
        assert _status(f"{server.base}/health/live") == 200
        # Then the listener closes: new connections are refused while the old request is still
        # open.
        deadline = time.monotonic() + 15
        while not _refused(server.port):
            assert time.monotonic() < deadline, "the listener never closed"
            time.sleep(0.05)
        assert server.proc.poll() is None
        sock.sendall(BODY[10:])
        status, body = _read_response(sock)
        sock.close()
        assert status == 200
        assert body["data"]["hash"].startswith("b94d27b9934d3e08")  # type: ignore[index]
        assert server.proc.wait(20) == 0


@pytest.mark.parametrize("workers", ["1", "2"], ids=["in-process", "two-workers"])
def test_sigterm_without_drain_delay_exits_zero_quickly(workers: str) -> None:
    with run_server({"SERVER_WORKERS": workers}) as server:
        assert _status(f"{server.base}/health/live") == 200
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(15) == 0
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("workers", ["1", "2"], ids=["in-process", "two-workers"])
def test_a_second_signal_stops_at_once(workers: str) -> None:
    settings = {"SHUTDOWN_DRAIN_DELAY": "30", "SHUTDOWN_TIMEOUT": "30", "SERVER_WORKERS": workers}
    with run_server(settings) as server:
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.proc.poll() is None  # draining: 30 s to go
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(15) == 0
        assert time.monotonic() - started < 5


def _serve_env(port: int, settings: dict[str, str]) -> dict[str, str]:
    """The environment for a ``devutils serve`` started by hand on 127.0.0.1:``port``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTH_", "RATE_LIMIT_", "SERVER_", "SHUTDOWN_"))
    }
    env.update(
        {"SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port), "SECRETS_MOUNT_PATH": "/nonexistent"}
    )
    env.update(settings)
    return env


def _logged(log: typing.IO[bytes], text: bytes) -> bool:
    log.seek(0)
    return text in log.read()


def test_a_second_signal_stops_workers_that_are_still_starting() -> None:
    # A worker blocks SIGTERM and SIGINT until it serves.  Both stops must reach it as two, not
    # one drain: frozen (SIGSTOP) while still blocking, each worker gets both forwarded, then
    # finishes starting.
    env = _serve_env(
        free_port(),
        {
            "SERVER_WORKERS": "2",
            "SHUTDOWN_DRAIN_DELAY": "60",
            "SHUTDOWN_TIMEOUT": "60",
            "LOG_LEVEL": "INFO",
        },
    )
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([*DEVUTILS, "serve"], env=env, stdout=log, stderr=log)
        workers: list[psutil.Process] = []
        try:
            deadline = time.monotonic() + 30
            while len(workers) < 2:
                assert time.monotonic() < deadline, "the workers never started"
                assert proc.poll() is None
                for child in psutil.Process(proc.pid).children():
                    if child.pid not in {worker.pid for worker in workers}:
                        child.suspend()
                        workers.append(child)
                time.sleep(0.005)
            if not all(in_signal_set(worker.pid, "SigBlk", signal.SIGTERM) for worker in workers):
                pytest.skip("a worker was serving before the test could freeze it")
            proc.send_signal(signal.SIGTERM)
            wait_until(lambda: _logged(log, b'"stopping workers"'), "first stop", 30)
            proc.send_signal(signal.SIGTERM)
            wait_until(lambda: _logged(log, b'"stopping workers now"'), "second stop", 30)
            for worker in workers:
                worker.resume()
            # Start-up, then a stop at once: far less than the 60 s drain delay.
            code = proc.wait(45)
        finally:
            for worker in workers:
                with contextlib.suppress(psutil.NoSuchProcess):
                    worker.resume()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for worker in workers:
                with contextlib.suppress(psutil.NoSuchProcess):
                    worker.kill()
        log.seek(0)
        output = log.read().decode(errors="replace")
    assert code == 0, output


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends, up to its FIN; a reset raises ConnectionResetError."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("workers", ["1", "2"], ids=["in-process", "two-workers"])
def test_a_stop_during_start_up_answers_every_queued_request(workers: str) -> None:
    # The default drain delay (none): the listener closes as soon as the server can serve, so
    # the connections queued while it started are all that is left to answer, each once.
    port = free_port()
    env = _serve_env(port, {"SERVER_WORKERS": workers})
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([*DEVUTILS, "serve"], env=env, stdout=log, stderr=log)
        clients: list[socket.socket] = []
        try:
            # The port listens (bound before the application is built): connect at once.
            deadline = time.monotonic() + 30
            while not clients:
                assert time.monotonic() < deadline, "the port never accepted"
                assert proc.poll() is None
                try:
                    clients.append(socket.create_connection(("127.0.0.1", port), timeout=30))
                except ConnectionRefusedError:
                    time.sleep(0.01)
            clients += [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(9)]
            for client in clients:
                client.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            answers = []
            for client in clients:
                try:
                    answers.append(_read_until_closed(client))
                except ConnectionResetError:
                    answers.append(b"RESET")
            code = proc.wait(30)
        finally:
            for client in clients:
                client.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")
    # Each a complete 200 (a keep-alive request: the server says it closes, then does).
    heads = [answer.partition(b"\r\n\r\n")[0].lower() for answer in answers]
    assert [head.split(b"\r\n")[0] for head in heads] == [b"http/1.1 200 ok"] * 10, output
    assert all(b"\r\nconnection: close" in head for head in heads)
    assert code == 0, output


def _probe(port: int) -> str:
    """One new connection and one request: the status line, or what went wrong."""
    sock = socket.socket()
    sock.settimeout(5)
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = sock.recv(4096)
        return data.split(b"\r\n")[0].decode() if data else "EOF"
    except OSError as exc:
        return type(exc).__name__
    finally:
        sock.close()


@pytest.mark.parametrize("workers", ["1", "2"], ids=["in-process", "two-workers"])
def test_a_connection_made_around_a_stop_is_served_or_refused_never_reset(workers: str) -> None:
    """New connections every few ms across SIGTERM: each is answered or refused, so a client can
    tell a request that ran from one that did not.  The supervisor's own copy of the listener
    queued connections after the workers had closed theirs, reset when it closed."""
    with run_server({"SERVER_WORKERS": workers}) as server:
        outcomes: list[str] = []
        signalled_at = time.monotonic() + 0.3
        signalled = False
        while time.monotonic() < signalled_at + 0.5:
            if not signalled and time.monotonic() >= signalled_at:
                server.proc.send_signal(signal.SIGTERM)
                signalled = True
            outcomes.append(_probe(server.port))
            time.sleep(0.003)
        assert server.proc.wait(15) == 0
    assert set(outcomes) <= {"HTTP/1.1 200 OK", "ConnectionRefusedError"}, outcomes
    assert "ConnectionRefusedError" in outcomes  # the probes outlived the listener


def test_sighup_drains_and_stops_like_sigterm() -> None:
    """The terminal went away: the supervisor stops its workers and removes its temporary
    metrics directory (SIGHUP's default action killed it first, 129, leaving both)."""
    with run_server({"SERVER_WORKERS": "2"}) as server:
        assert _status(f"{server.base}/health/live") == 200
        metrics_dirs = [
            path
            for proc in psutil.Process(server.proc.pid).children()
            for path in proc.environ().get("PROMETHEUS_MULTIPROC_DIR", "").split()
        ]
        assert metrics_dirs
        assert all(os.path.isdir(path) for path in metrics_dirs)
        server.proc.send_signal(signal.SIGHUP)
        assert server.proc.wait(15) == 0
    assert not any(os.path.exists(path) for path in metrics_dirs)


@pytest.mark.parametrize("count", ["0", "-2"])
def test_serve_refuses_fewer_than_one_worker(count: str) -> None:
    done = subprocess.run(
        [*DEVUTILS, "serve", "--port", "0", "--workers", count],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 64
    assert f"expected at least 1 worker, got {count}".encode() in done.stderr
