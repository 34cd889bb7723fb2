"""Pooling the hot-path families of several workers through published snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from devutils.observability.fastmetrics import FastCounter, FastHistogram
from devutils.observability.multiproc import WorkerMetrics, mark_worker_dead, write_atomically


def families() -> tuple[FastCounter, FastHistogram]:
    counter = FastCounter("demo_requests_total", "Demo.", ["route"], registry=None)
    histogram = FastHistogram("demo_seconds", "Demo.", ["route"], buckets=(0.1, 1.0), registry=None)
    return counter, histogram


def exposition(metrics: WorkerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def other_worker(directory: Path, name: str, requests: float, slow: float) -> Path:
    """A snapshot as another worker publishes it: 'requests' hits of /a, 'slow' of them > 1 s."""
    path = directory / name
    snapshot = {
        "counters": {"demo_requests": [[["/a"], requests]]},
        "histograms": {"demo_seconds": [[["/a"], [requests - slow, 0.0, slow, 2.5 * slow]]]},
        "cpu_seconds": 1.5,
    }
    path.write_bytes(orjson.dumps(snapshot))
    return path


def test_a_scrape_sums_this_worker_and_the_published_others(tmp_path: Path) -> None:
    counter, histogram = families()
    metrics = WorkerMetrics(tmp_path, [counter], [histogram])
    for _ in range(3):
        counter.inc(("/a",))
        histogram.observe(("/a",), 0.05)
    counter.inc(("/b",))
    other_worker(tmp_path, "fast_1_aaaa.json", requests=4, slow=1)

    samples = exposition(metrics)
    assert samples[("demo_requests_total", (("route", "/a"),))] == 7
    assert samples[("demo_requests_total", (("route", "/b"),))] == 1
    assert samples[("demo_seconds_count", (("route", "/a"),))] == 7
    assert samples[("demo_seconds_bucket", (("le", "0.1"), ("route", "/a")))] == 6
    assert samples[("demo_seconds_bucket", (("le", "1.0"), ("route", "/a")))] == 6
    assert samples[("demo_seconds_sum", (("route", "/a"),))] == pytest.approx(0.15 + 2.5)
    assert samples[("process_cpu_seconds_total", ())] >= 1.5
    # The scrape published this worker's own values first (what it reported is on disk).
    published = orjson.loads(metrics.snapshot_path.read_bytes())
    assert [["/a"], 3] in published["counters"]["demo_requests"]


def test_a_dead_workers_counts_stay_and_its_memory_leaves(tmp_path: Path) -> None:
    counter, histogram = families()
    metrics = WorkerMetrics(tmp_path, [counter], [histogram])
    other_worker(tmp_path, "fast_424242_beef.json", requests=10, slow=0)
    (tmp_path / "live_424242.json").write_bytes(
        orjson.dumps({"process_resident_memory_bytes": 7e9, "process_open_fds": 1000})
    )
    before = exposition(metrics)
    assert before[("process_resident_memory_bytes", ())] > 7e9
    mark_worker_dead(tmp_path, 424242)
    after = exposition(metrics)
    assert after[("demo_requests_total", (("route", "/a"),))] == 10
    assert after[("process_resident_memory_bytes", ())] < 7e9  # only this live process now
    assert after[("process_open_fds", ())] < 1000


def test_each_process_writes_its_own_snapshot_file(tmp_path: Path) -> None:
    counter, histogram = families()
    first = WorkerMetrics(tmp_path, [counter], [histogram])
    second = WorkerMetrics(tmp_path, [counter], [histogram])  # same pid, a later worker
    assert first.snapshot_path != second.snapshot_path
    assert first.snapshot_path.name.startswith(f"fast_{os.getpid()}_")


def test_an_unreadable_snapshot_is_skipped_and_atomic_writes_leave_no_temporary(
    tmp_path: Path,
) -> None:
    counter, histogram = families()
    metrics = WorkerMetrics(tmp_path, [counter], [histogram])
    counter.inc(("/a",), 2)
    (tmp_path / "fast_5_dead.json").write_bytes(b"{not json")
    write_atomically(tmp_path / "fast_6_cafe.json", orjson.dumps({"counters": {}}))
    assert exposition(metrics)[("demo_requests_total", (("route", "/a"),))] == 2
    assert not list(tmp_path.glob(".*.tmp"))
