"""Zero-downtime restart: two replicas behind haproxy under load, restarted one at a time.

haproxy health-checks /health/ready every 200 ms; on SIGTERM a replica turns not-ready, keeps
serving for SHUTDOWN_DRAIN_DELAY (1 s) so haproxy takes it out of rotation, then closes its
listener and finishes in-flight requests.  No request may fail.  haproxy retries only connection
failures (its default), never a request that reached a replica.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import http.client
import io
import subprocess
import tempfile
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.prom import wait_for
from tests.ops.tooling import require_tool
from tests.support import ServerProcess, free_port, run_server, wait_for_http

pytestmark = pytest.mark.slow

ENV = {"RATE_LIMIT_ENABLED": "false", "SHUTDOWN_DRAIN_DELAY": "1", "SHUTDOWN_TIMEOUT": "10"}
BODY = b'{"content": "hello world", "algorithm": "sha256"}'
HAPROXY_CONFIG = """
global
    maxconn 512
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch
frontend api
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 200ms fall 1 rise 2
    server r1 127.0.0.1:{r1} check
    server r2 127.0.0.1:{r2} check
listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
"""


@contextlib.contextmanager
def run_haproxy(r1: int, r2: int) -> Iterator[tuple[int, int]]:
    binary = require_tool("haproxy", "REQUIRE_PROMETHEUS")  # CI installs both with the same step
    port, stats = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="devutils-haproxy-") as tmp:
        config = Path(tmp) / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=port, r1=r1, r2=r2, stats=stats))
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            wait_for_http(f"http://127.0.0.1:{stats}/stats", proc=proc)
            yield port, stats
        finally:
            proc.terminate()
            proc.wait(10)


def server_states(stats_port: int) -> dict[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/stats;csv", timeout=2) as response:
        text = response.read().decode().lstrip("# ")
    return {
        row["svname"]: row["status"]
        for row in csv.DictReader(io.StringIO(text))
        if row["pxname"] == "replicas" and row["svname"] in ("r1", "r2")
    }


def is_up(stats_port: int, name: str) -> bool:
    return server_states(stats_port)[name] == "UP"


class Load:
    """Clients sending requests in a loop until stopped; counts every outcome."""

    def __init__(self, port: int, clients: int = 4) -> None:
        self.port = port
        self.outcomes: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client) for _ in range(clients)]

    def _client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stopping.is_set():
            try:
                conn.request(
                    "POST",
                    "/api/v1/crypto/hash",
                    body=BODY,
                    headers={"Content-Type": "application/json"},
                )
                response = conn.getresponse()
                response.read()
                outcome = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            with self.lock:
                self.outcomes[outcome] += 1
        conn.close()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(15)

    def more_than(self, count: int) -> bool:
        return self.total() > count

    def total(self) -> int:
        with self.lock:
            return sum(self.outcomes.values())


def test_rolling_restart_loses_no_request() -> None:
    ports = {"r1": free_port(), "r2": free_port()}
    exit_codes: list[int] = []
    with contextlib.ExitStack() as stack:
        replicas: dict[str, ServerProcess] = {
            name: stack.enter_context(run_server(ENV, port=port)) for name, port in ports.items()
        }
        front, stats = stack.enter_context(run_haproxy(ports["r1"], ports["r2"]))
        wait_for(lambda: set(server_states(stats).values()) == {"UP"}, 10, "both replicas UP")
        with Load(front) as load:
            wait_for(lambda: load.total() > 100, 20, "load flowing")
            for name in ("r1", "r2"):
                before = load.total()
                exit_codes.append(replicas[name].stop())
                assert server_states(stats)[name] != "UP"
                replicas[name] = stack.enter_context(run_server(ENV, port=ports[name]))
                wait_for(functools.partial(is_up, stats, name), 10, f"{name} UP again")
                wait_for(functools.partial(load.more_than, before + 100), 20, "load after restart")
        outcomes = dict(load.outcomes)
    assert exit_codes == [0, 0]
    assert set(outcomes) == {"200"}, outcomes
    assert outcomes["200"] > 300
