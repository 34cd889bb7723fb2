"""One scrape shows the whole pod: metrics of every worker process, summed.

prometheus_client's multi-process mode (``PROMETHEUS_MULTIPROC_DIR``, :class:`MultiProcessCollector`)
covers its own metric objects, each value living in a per-process memory-mapped file.  Our hot-path
families (:mod:`fastmetrics`) are plain dicts the library never sees, and mapping every update to a
file would put the cost back on the request path.  So each worker keeps counting in its dicts and
*publishes* them: a JSON snapshot of its families, written to a temporary file and renamed over
``fast_<pid>_<token>.json`` (atomic: a reader sees the old or the new snapshot, never half of one),
every second and on every scrape.  A scrape first publishes its own worker's snapshot, then sums
every snapshot in the directory.

Never backwards: a snapshot's values only grow; a scrape reports its own worker's values only after
writing them, so any later scrape (from any worker) reads at least those; and the files of dead
workers stay, so what they counted stays in the totals (a worker killed without warning loses at
most the last second it had not yet published, counts no scrape had reported).  The token makes
a replacement worker that happens to get a dead worker's pid start its own file.

The process metrics follow the pod too.  Each worker's values include its pool processes
(:mod:`devutils.observability.processes`); CPU seconds are summed over every worker that ever ran
(a counter), memory and open descriptors over the live ones (``live_<pid>.json``, removed by the
parent when it reaps the worker: :func:`mark_worker_dead`); the supervisor's own CPU, memory and
descriptors, read from ``/proc`` at each scrape, are added once.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, PlatformCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from devutils.observability.batching import drain_all
from devutils.observability.fastmetrics import FastCounter, FastHistogram, Labels
from devutils.observability.processes import CPU as _CPU
from devutils.observability.processes import SUMMED, ProcessTotals, usage

PUBLISH_INTERVAL = 1.0
# Live process gauges and how the pod's value is made from the workers' values.
_LIVE_GAUGES: dict[str, tuple[str, Callable[[list[float]], float]]] = {
    "process_resident_memory_bytes": (
        "Resident memory of the supervisor, the workers and their pool processes, in bytes.",
        sum,
    ),
    "process_virtual_memory_bytes": (
        "Virtual memory of the supervisor, the workers and their pool processes, in bytes.",
        sum,
    ),
    "process_open_fds": (
        "Open file descriptors of the supervisor, the workers and their pool processes.",
        sum,
    ),
    "process_max_fds": ("Maximum open file descriptors of one worker.", max),
    "process_start_time_seconds": ("Start of the oldest live worker, Unix seconds.", min),
}


def live_file(directory: Path, pid: int) -> Path:
    return directory / f"live_{pid}.json"


def mark_worker_dead(directory: Path, pid: int) -> None:
    """The worker ``pid`` is gone: its memory and descriptors leave the pod's gauges."""
    live_file(directory, pid).unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class WorkerMetrics(Collector):
    """This worker's publisher and the pod-wide view of the hot-path and process families."""

    def __init__(
        self,
        directory: Path,
        counters: Sequence[FastCounter],
        histograms: Sequence[FastHistogram],
        children: Callable[[], Iterable[int]] = tuple,
        supervisor: int | None = None,
    ) -> None:
        self.directory = directory
        self.counters = {family.name: family for family in counters}
        self.histograms = {family.name: family for family in histograms}
        pid = os.getpid()
        self.snapshot_path = directory / f"fast_{pid}_{secrets.token_hex(4)}.json"
        self.live_path = live_file(directory, pid)
        self._process = ProcessTotals(children)
        self.supervisor = supervisor

    # --- publishing (this worker) ----------------------------------------------------------

    def publish(self) -> None:
        """Write this worker's current values (called every second and by every scrape)."""
        drain_all()  # requests recorded in a pending batch count in this snapshot
        process = self._process.values()
        snapshot = {
            "counters": {
                name: [[list(labels), value] for labels, value in family.values.copy().items()]
                for name, family in self.counters.items()
            },
            "histograms": {
                name: [
                    [list(labels), list(series)] for labels, series in family.series.copy().items()
                ]
                for name, family in self.histograms.items()
            },
            "cpu_seconds": process.pop(_CPU, 0.0),
        }
        write_atomically(self.snapshot_path, orjson.dumps(snapshot))
        write_atomically(self.live_path, orjson.dumps(process))

    # --- reading (the pod) -------------------------------------------------------------------

    def describe(self) -> Iterable[Metric]:
        # Names only, so registering this collector does not publish.
        families: list[Metric] = [family.family({}) for family in self.counters.values()]
        families += [family.family({}) for family in self.histograms.values()]
        return families

    def collect(self) -> Iterable[Metric]:
        self.publish()
        counters: dict[str, dict[Labels, float]] = {name: {} for name in self.counters}
        histograms: dict[str, dict[Labels, list[float]]] = {name: {} for name in self.histograms}
        supervisor = usage(self.supervisor) if self.supervisor is not None else None
        # Its own CPU only: what its reaped workers used is in their snapshots.
        cpu_seconds = supervisor.pop(_CPU, 0.0) if supervisor is not None else 0.0
        for snapshot in self._read_all("fast_*.json"):
            cpu_seconds += float(snapshot.get("cpu_seconds", 0.0))
            for name, rows in snapshot.get("counters", {}).items():
                merged = counters.get(name)
                if merged is None:
                    continue  # a family this version no longer has
                for labels, value in rows:
                    key = tuple(labels)
                    merged[key] = merged.get(key, 0.0) + value
            for name, rows in snapshot.get("histograms", {}).items():
                merged_series = histograms.get(name)
                if merged_series is None:
                    continue
                for labels, series in rows:
                    key = tuple(labels)
                    total = merged_series.get(key)
                    if total is None:
                        merged_series[key] = list(series)
                    elif len(total) == len(series):  # same buckets (same version)
                        merged_series[key] = [a + b for a, b in zip(total, series, strict=True)]
        families: list[Metric] = [
            self.counters[name].family(values) for name, values in counters.items()
        ]
        families += [self.histograms[name].family(series) for name, series in histograms.items()]
        families += self._process_families(cpu_seconds, supervisor or {})
        return families

    def _process_families(self, cpu_seconds: float, supervisor: dict[str, float]) -> list[Metric]:
        live = list(self._read_all("live_*.json"))
        live.append({name: supervisor[name] for name in SUMMED if name in supervisor})
        families: list[Metric] = []
        cpu = CounterMetricFamily(
            _CPU.removesuffix("_total"),
            "User and system CPU time of the supervisor and of every worker that ran, with their "
            "pool processes, in seconds.",
        )
        cpu.add_metric([], cpu_seconds)
        families.append(cpu)
        for name, (documentation, combine) in _LIVE_GAUGES.items():
            values = [float(entry[name]) for entry in live if name in entry]
            if values:
                families.append(GaugeMetricFamily(name, documentation, value=combine(values)))
        return families

    def _read_all(self, pattern: str) -> Iterable[dict[str, Any]]:
        for path in self.directory.glob(pattern):
            try:
                data = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # removed meanwhile (a reaped worker's live file)
            if isinstance(data, dict):
                yield data


def pod_registry(worker_metrics: WorkerMetrics, directory: Path) -> CollectorRegistry:
    """What ``/metrics`` exposes with several workers: prometheus_client's metrics of every
    worker (multi-process mode) plus our families and process metrics, summed."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    registry.register(worker_metrics)
    # python_info is the same in every worker; the garbage collector's counters are per process
    # and would jump between workers from scrape to scrape, so they are left out.
    PlatformCollector(registry=registry)
    return registry
