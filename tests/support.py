"""Test helpers: free ports, a real server subprocess, a real redis-server."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEVUTILS = [sys.executable, "-m", "devutils"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(
    url: str, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def listening_port(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """The port ``proc`` (a server started on port 0) listens on, once it does: its only
    listening socket, bound before the application is built.  Read from the process, not its log,
    so it does not depend on LOG_LEVEL."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before it listened")
        with contextlib.suppress(psutil.Error):
            for conn in psutil.Process(proc.pid).net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN and conn.laddr:
                    return int(conn.laddr.port)
        time.sleep(0.05)
    raise TimeoutError(f"the server did not listen within {timeout}s")


@contextlib.contextmanager
def run_server(
    env: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[ServerProcess]:
    """Start ``devutils serve`` on 127.0.0.1 and stop it (SIGTERM) afterwards.

    ``port=0``: the server binds a port the kernel chooses and the test learns it from the
    process, so no other process can take it in between (a port from :func:`free_port` is only
    free when chosen).  Worth it when something slow runs between choosing and binding."""
    if port is None:
        port = free_port()
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTH_", "RATE_LIMIT_", "TRACING_", "SSRF_", "MCP_", "ARGON_"))
        and key != "WEB_CONCURRENCY"
    }
    full_env.update(
        {
            "SERVER_HOST": "127.0.0.1",
            "SERVER_PORT": str(port),
            "SECRETS_MOUNT_PATH": "/nonexistent",
            # One process unless a test asks for workers: the default is the machine's CPUs.
            "SERVER_WORKERS": "1",
        }
    )
    argv = [*DEVUTILS, "serve"]
    if port == 0:  # SERVER_PORT must be a real port; the command line may ask for any
        del full_env["SERVER_PORT"]
        argv += ["--port", "0"]
    full_env.update(env or {})
    log_file = tempfile.NamedTemporaryFile(prefix="devutils-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(argv, env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
    server = ServerProcess(proc, port, Path(log_file.name))
    try:
        if port == 0:
            server.port = listening_port(proc)
        wait_for_http(f"{server.base}/health/live", proc=proc)
        yield server
    finally:
        server.stop()
        log_file.close()


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def require_redis() -> None:
    if not redis_available():
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("redis-server is required (REQUIRE_REDIS is set) but not installed")
        pytest.skip("redis-server not installed")


@dataclass
class RedisServer:
    proc: subprocess.Popen[bytes]
    port: int
    password: str | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@contextlib.contextmanager
def run_redis(port: int | None = None, password: str | None = None) -> Iterator[RedisServer]:
    require_redis()
    port = port or free_port()
    args = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    if password:
        args += ["--requirepass", password]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(proc, port, password)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            break
        time.sleep(0.02)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            proc.wait(10)


# crypto/hash's input fields in schema order, as "allowed fields: ..." lists them.
HASH_FIELDS = (
    "content, algorithm, inputEncoding, length, digestSize, key, keyEncoding, outputFormat"
)


def run_tool(registry: Any, tool: str, /, **args: Any) -> dict[str, Any]:
    """A tool's dumped output through the registry's synchronous path (the CLI's)."""
    from devutils.registry import dump_output

    spec = registry.get(tool)
    assert spec is not None, tool
    return dump_output(registry.invoke_sync(spec, args))


def refused_by(registry: Any, tool: str, /, **args: Any) -> tuple[str, str]:
    """(message, details) of the ValidationError a tool call raises."""
    from devutils.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        run_tool(registry, tool, **args)
    return caught.value.message, str(caught.value.details)


def in_signal_set(pid: int, field: str, signum: int) -> bool:
    """Whether ``signum`` is in the process's ``field`` set of /proc/PID/status: "SigBlk"
    (blocked), "SigCgt" (caught by a handler), "SigPnd" (pending)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    raise AssertionError(f"no {field} line")
