"""Several real worker processes: one scrape of any worker shows the pod, a dead or replaced
worker's counts stay, and each worker's readiness is its own.

The workers are started as the server starts them (before_workers_start in the parent, in_worker
first in each child, after_worker_exit once reaped); each listens on its own loopback port here
so the test can choose which worker answers.
"""

from __future__ import annotations

import multiprocessing
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devutils import workers
from devutils.observability.multiproc import PUBLISH_INTERVAL
from tests.conftest import make_settings
from tests.support import free_port, wait_for_http
from tests.workers.processes import serve_worker

ENV = {
    "SECRETS_MOUNT_PATH": "/nonexistent",
    "AUTH_METHOD": "none",
    "LOG_LEVEL": "error",
    # Anonymous: 2 a minute, burst 2, for the pod: one each for two workers.
    "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "2",
    "RATE_LIMIT_ANONYMOUS_BURST": "2",
    # Readiness answers 503 for this long after SIGTERM, then the listener closes: far longer
    # than the test's wait for the 503, so a stall of the test process cannot make it miss the
    # drain and meet a closed port instead.
    "SHUTDOWN_DRAIN_DELAY": "5",
    "TRACING_ENABLED": "false",
}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Pod:
    def __init__(self, count: int) -> None:
        self.count = count
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []

    def start(self, index: int) -> tuple[BaseProcess, str]:
        port = free_port()
        process = self.context.Process(
            target=serve_worker, args=(ENV, self.count, index, port), daemon=True
        )
        process.start()
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health/live", timeout=60)
        return process, base

    def stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(10)


@pytest.fixture
def pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Pod, Path]]:
    # Whatever before_workers_start exports is undone after the test.
    monkeypatch.setenv(workers.MULTIPROC_ENV, "unset")
    monkeypatch.setattr(workers, "_parent_metrics_dir", None)
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_99999.db").write_bytes(b"stale file of an earlier run")
    workers.before_workers_start(make_settings(metrics_multiproc_dir=str(directory)), 2)
    pod = Pod(2)
    try:
        yield pod, directory
    finally:
        pod.stop_all()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def scrape(base: str) -> Samples:
    status, body = get(f"{base}/metrics")
    assert status == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


HEALTH = {"method": "GET", "route": "/health", "status_code": "200"}


def test_one_scrape_sums_every_worker_and_dead_workers_keep_their_counts(
    pod: tuple[Pod, Path],
) -> None:
    pods, directory = pod
    assert not (directory / "counter_99999.db").exists()  # the directory was emptied at start
    first, first_url = pods.start(0)
    second, second_url = pods.start(1)
    for _ in range(5):
        assert get(f"{first_url}/health")[0] == 200
    for _ in range(3):
        assert get(f"{second_url}/health")[0] == 200
    # Each worker enforces half of the anonymous limit: one request each, the others 429.
    statuses = [get(f"{url}/api/v1/status")[0] for url in (first_url, second_url) for _ in range(3)]
    assert statuses == [200, 429, 429, 200, 429, 429]

    # A scrape sees its own worker's counts at once and the others' as of their last snapshot,
    # published every PUBLISH_INTERVAL (allow for a loaded machine).
    deadline = time.monotonic() + 10 * PUBLISH_INTERVAL
    while value(scrape(first_url), "http_requests_total", **HEALTH) < 8:
        assert time.monotonic() < deadline, "the other worker's snapshot never arrived"
        time.sleep(PUBLISH_INTERVAL / 4)
    for url in (first_url, second_url):  # whichever worker answers the scrape
        samples = scrape(url)
        # our hot-path families (counters and histograms), summed over both workers
        assert value(samples, "http_requests_total", **HEALTH) == 8
        assert (
            value(samples, "http_request_duration_seconds_count", method="GET", route="/health")
            == 8
        )
        assert (
            value(
                samples,
                "http_requests_total",
                method="GET",
                route="/api/v1/status",
                status_code="429",
            )
            == 4
        )
        # prometheus_client's own metrics, through its multi-process mode
        assert value(samples, "rate_limit_hits_total", **{"class": "anonymous"}) == 4
        build = [key for key in samples if key[0] == "devutils_build_info"]
        assert len(build) == 1
        assert "pid" not in dict(build[0][1])
        # process metrics of the pod: both workers' memory
        assert value(samples, "process_resident_memory_bytes") > 2 * 20 * 1024 * 1024
        assert value(samples, "process_cpu_seconds_total") > 0
        assert any(name == "python_info" for name, _ in samples)

    # Readiness is per worker: the one told to stop drains (503) while the other stays ready.
    assert get(f"{second_url}/health/ready")[0] == 200
    second.terminate()
    deadline = time.monotonic() + 4.0
    while get(f"{second_url}/health/ready")[0] != 503:
        assert time.monotonic() < deadline, "the draining worker stayed ready"
        time.sleep(0.05)
    assert get(f"{first_url}/health/ready")[0] == 200
    second.join(20)
    assert second.exitcode == 0
    assert second.pid is not None
    workers.after_worker_exit(second.pid)
    assert not (directory / f"live_{second.pid}.json").exists()

    # The dead worker's counts stay in the pod's totals.
    assert value(scrape(first_url), "http_requests_total", **HEALTH) == 8

    # A replacement worker starts from zero but the pod's totals go on from 8.
    _, replacement_url = pods.start(1)
    for _ in range(2):
        assert get(f"{replacement_url}/health")[0] == 200
    samples = scrape(replacement_url)
    assert value(samples, "http_requests_total", **HEALTH) == 10
    assert value(samples, "rate_limit_hits_total", **{"class": "anonymous"}) == 4
    assert first.is_alive()
