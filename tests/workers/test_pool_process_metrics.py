"""``process_*`` on a real server covers its pool processes (Argon2 runs there) and, with
several workers, the supervisor: the CPU a pool process spends shows in
``process_cpu_seconds_total``, its memory in ``process_resident_memory_bytes``."""

from __future__ import annotations

import time

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import ServerProcess, run_server

pytestmark = pytest.mark.slow

POOL_COMMAND = "devutils.execution.worker"


def process_samples(server: ServerProcess) -> dict[str, float]:
    body = httpx.get(f"{server.base}/metrics", timeout=10).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name.startswith("process_")
    }


def pod_processes(server: ServerProcess) -> list[psutil.Process]:
    top = psutil.Process(server.proc.pid)
    return [top, *top.children(recursive=True)]


def pool_processes(server: ServerProcess) -> list[psutil.Process]:
    return [
        process
        for process in pod_processes(server)
        if any(POOL_COMMAND in part for part in process.cmdline())
    ]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def exited(process: psutil.Process) -> bool:
    """Dead: gone or a zombie (the server reaps it when it next uses the pool)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("workers", ["1", "2"])
def test_process_metrics_include_pool_processes(workers: str) -> None:
    env = {
        "SERVER_WORKERS": workers,
        "AUTH_METHOD": "none",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
        "POOL_IDLE_TIMEOUT": "600",  # the pool processes stay, so the test can read them
    }
    with run_server(env) as server:
        assert pool_processes(server) == []  # pools start lazily
        before = process_samples(server)
        with httpx.Client(timeout=60) as client:
            for index in range(12):
                response = client.post(
                    f"{server.base}/api/v1/crypto/password/hash",
                    json={"password": f"correct horse {index}"},
                )
                assert response.status_code == 200, response.text
        pools = pool_processes(server)
        assert pools, "no pool process ran the Argon2 calls"
        # Every pool process started after the first scrape: all its CPU is new.
        pool_cpu = sum(cpu_seconds(process) for process in pools)
        assert pool_cpu > 0.5, pool_cpu  # enough work for the comparison to mean something
        if workers == "2":
            time.sleep(1.5)  # the other worker's snapshot (published every second)
        after = process_samples(server)
        grown = after["process_cpu_seconds_total"] - before["process_cpu_seconds_total"]
        # Before the fix the growth was the server's own share only (a few hundredths of a
        # second against the pool's seconds).
        assert grown >= 0.8 * pool_cpu, (grown, pool_cpu)
        pod_cpu_now = sum(cpu_seconds(process) for process in pod_processes(server))
        assert after["process_cpu_seconds_total"] <= 1.2 * pod_cpu_now + 0.5

        pod_rss = sum(process.memory_info().rss for process in pod_processes(server))
        pool_rss = sum(process.memory_info().rss for process in pools)
        exported = after["process_resident_memory_bytes"]
        assert exported >= 0.7 * pod_rss, (exported, pod_rss, pool_rss)
        assert exported <= 1.3 * pod_rss, (exported, pod_rss)

        # A counter: killing the pool processes (their CPU is then the reaped children's)
        # never makes it go backwards.
        for process in pools:
            process.kill()
        deadline = time.monotonic() + 10
        while not all(exited(process) for process in pools):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        later = process_samples(server)
        assert later["process_cpu_seconds_total"] >= after["process_cpu_seconds_total"]
