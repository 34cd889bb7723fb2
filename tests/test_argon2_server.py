"""Argon2 under load on a real server process: bounded memory, 503 instead of collapse (D4)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support import ServerProcess, run_server

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
RSS_LIMIT = 512 * MIB
CLIENTS = 16
HUNTER2 = "$argon2id$v=19$m=1024,t=1,p=1$AAECAwQFBgcICQoLDA0ODw$n2yUGWQBJZq4r7rTxi8IECcZjvKdvBDEKK652Eu/KaI"


class RssSampler:
    """Samples the resident set of a process (and its children) until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> int:
        processes = [self.process, *self.process.children(recursive=True)]
        return sum(process.memory_info().rss for process in processes)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def high_water_mark(pid: int) -> int:
    """The kernel's own peak RSS (VmHWM), which also catches spikes between samples."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("VmHWM missing from /proc status")


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    # Rate limiting would answer 429 first; this test is about the Argon2 gate alone.
    with run_server({"RATE_LIMIT_ENABLED": "false"}) as running:
        yield running


@pytest.mark.parametrize(
    ("params", "complaint"),
    [("m=4194304,t=1,p=1", "m=4194304"), ("m=65536,t=1000000000,p=1", "t=1000000000")],
    ids=["4-gib-memory", "billion-passes"],
)
def test_forged_hash_is_refused_without_computing(
    server: ServerProcess, params: str, complaint: str
) -> None:
    forged = HUNTER2.replace("m=1024,t=1,p=1", params)
    before = high_water_mark(server.proc.pid)
    # Computing either hash would allocate 4 GiB or run for hours; the timeout turns that into
    # a failure instead of a hung test.
    response = httpx.post(
        f"{server.base}/api/v1/crypto/password/verify",
        json={"password": "hunter2", "hash": forged},
        timeout=10,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert complaint in error["details"]
    assert high_water_mark(server.proc.pid) - before < 32 * MIB


def test_concurrent_hashing_stays_bounded(server: ServerProcess) -> None:
    url = f"{server.base}/api/v1/crypto/password/hash"
    start = threading.Barrier(CLIENTS)

    def one_client(index: int) -> httpx.Response:
        with httpx.Client(timeout=30) as http:
            start.wait()
            return http.post(url, json={"password": f"password-{index}"})

    with RssSampler(server.proc.pid) as sampler, ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(pool.map(one_client, range(CLIENTS)))

    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses
    for response in responses:
        if response.status_code == 503:
            assert response.headers["Retry-After"].isdigit()
            assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        else:
            assert response.json()["data"]["hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # 16 unbounded hashes would need about 1 GiB (64 MiB each).
    assert sampler.peak < RSS_LIMIT, f"sampled peak {sampler.peak / MIB:.0f} MiB"
    assert high_water_mark(server.proc.pid) < RSS_LIMIT
    assert httpx.get(f"{server.base}/health/live", timeout=5).status_code == 200
