"""The plain-number metric families expose exactly what prometheus_client's own metrics would."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from devutils.observability.fastmetrics import FastCounter, FastHistogram

BUCKETS = (0.001, 0.005, 0.01, 0.1, 1.0)
OBSERVATIONS = [0.0, 0.0005, 0.001, 0.001, 0.003, 0.005, 0.0051, 0.2, 1.0, 1.5, 30.0]


def _exposition(registry: CollectorRegistry) -> list[str]:
    """Exposition lines without the ``_created`` samples (ours do not export creation times)."""
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if "_created" not in line]


def test_histogram_matches_prometheus_client() -> None:
    ours_registry, theirs_registry = CollectorRegistry(), CollectorRegistry()
    ours = FastHistogram("op_seconds", "Op latency.", ["route"], BUCKETS, ours_registry)
    theirs = Histogram(
        "op_seconds", "Op latency.", ["route"], buckets=BUCKETS, registry=theirs_registry
    )
    for index, value in enumerate(OBSERVATIONS):
        route = "/a" if index % 3 else "/b"
        ours.observe((route,), value)
        theirs.labels(route).observe(value)
    assert _exposition(ours_registry) == _exposition(theirs_registry)
    assert (
        ours_registry.get_sample_value("op_seconds_bucket", {"route": "/b", "le": "0.001"}) == 2.0
    )
    assert ours_registry.get_sample_value("op_seconds_count", {"route": "/a"}) == 7.0


def test_counter_matches_prometheus_client() -> None:
    ours_registry, theirs_registry = CollectorRegistry(), CollectorRegistry()
    ours = FastCounter("calls_total", "Calls.", ["tool", "status"], ours_registry)
    theirs = Counter("calls_total", "Calls.", ["tool", "status"], registry=theirs_registry)
    for tool, status, amount in [("x", "ok", 1), ("y", "bad", 2), ("x", "ok", 3), ("z", "ok", 0)]:
        ours.inc((tool, status), amount)
        theirs.labels(tool, status).inc(amount)
    assert _exposition(ours_registry) == _exposition(theirs_registry)
    assert ours.value(("x", "ok")) == 4


def test_touch_creates_a_zero_series_and_keeps_counts() -> None:
    registry = CollectorRegistry()
    counter = FastCounter("hits_total", "Hits.", ["class"], registry)
    counter.touch(("crypto",))
    assert registry.get_sample_value("hits_total", {"class": "crypto"}) == 0.0
    counter.inc(("crypto",))
    counter.touch(("crypto",))
    assert registry.get_sample_value("hits_total", {"class": "crypto"}) == 1.0


def test_buckets_must_increase() -> None:
    with pytest.raises(ValueError, match="increasing"):
        FastHistogram("h", "H.", [], (0.1, 0.1, 1.0), registry=None)
    with pytest.raises(ValueError, match="increasing"):
        FastHistogram("h", "H.", [], (1.0, 0.1), registry=None)


def test_scrape_from_another_thread_while_series_are_added() -> None:
    registry = CollectorRegistry()
    histogram = FastHistogram("grow_seconds", "Grows.", ["key"], BUCKETS, registry)
    errors: list[BaseException] = []
    stop = threading.Event()

    def scrape() -> None:
        try:
            while not stop.is_set():
                generate_latest(registry)
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    thread = threading.Thread(target=scrape)
    thread.start()
    try:
        for index in range(20_000):
            histogram.observe((str(index),), 0.002)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert registry.get_sample_value("grow_seconds_count", {"key": "19999"}) == 1.0
