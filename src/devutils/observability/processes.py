"""The ``process_*`` metrics of every Python process of the pod, not only the server's own.

Argon2 and the heavy tools run in pool processes (:mod:`devutils.execution.pool`), so the
server process's own CPU and memory miss most of the work.  The values here keep
prometheus_client's names and add, to this process's own:

- CPU: the children it has reaped (``RUSAGE_CHILDREN``: pool processes that exited, were killed
  or replaced) and its live pool processes (``/proc/<pid>/stat``);
- memory and open descriptors: its live pool processes.

A pool process being stopped can for a moment be neither live nor reaped; the CPU counter
reports the highest value it reported so far, so it never goes backwards.  Under a supervisor
(several workers) the supervisor's own values are added once per scrape by
:mod:`devutils.observability.multiproc`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable

from prometheus_client import PROCESS_COLLECTOR, REGISTRY, ProcessCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CPU = "process_cpu_seconds_total"
# The live values that add up over processes (the others, max fds and start time, stay this
# process's own).
SUMMED = ("process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds")
_TICKS = float(os.sysconf("SC_CLK_TCK"))
_PAGE = float(os.sysconf("SC_PAGE_SIZE"))

_GAUGE_HELP = {
    "process_resident_memory_bytes": "Resident memory of the server and its pool processes.",
    "process_virtual_memory_bytes": "Virtual memory of the server and its pool processes.",
    "process_open_fds": "Open file descriptors of the server and its pool processes.",
    "process_max_fds": "Maximum open file descriptors of the server process.",
    "process_start_time_seconds": "Start of the server process, Unix seconds.",
}
CPU_HELP = "User and system CPU time of the server and its pool processes (live and ended)."


def usage(pid: int) -> dict[str, float] | None:
    """CPU seconds, memory and open descriptors of another process; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # The command name (in parentheses) may hold spaces: count fields after it.
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return None
    values = {
        CPU: (float(fields[11]) + float(fields[12])) / _TICKS,
        "process_virtual_memory_bytes": float(fields[20]),
        "process_resident_memory_bytes": float(fields[21]) * _PAGE,
    }
    with contextlib.suppress(OSError):  # exited meanwhile, or not ours to read
        values["process_open_fds"] = float(len(os.listdir(f"/proc/{pid}/fd")))
    return values


class ProcessTotals:
    """This process plus its pool processes, in prometheus_client's process metric names."""

    def __init__(self, children: Callable[[], Iterable[int]]) -> None:
        self._own = ProcessCollector(registry=None)
        self._children = children
        self._lock = threading.Lock()
        self._cpu_reported = 0.0

    def values(self) -> dict[str, float]:
        # Reaped children first: one reaped after this read is then read live or missed once
        # (the high-water mark below covers that), never counted twice.
        times = os.times()
        values: dict[str, float] = {}
        for family in self._own.collect():
            for sample in family.samples:
                values[sample.name] = float(sample.value)
        cpu = values.get(CPU, 0.0) + times.children_user + times.children_system
        for pid in self._children():
            child = usage(pid)
            if child is None:
                continue
            cpu += child[CPU]
            for name in SUMMED:
                if name in child and name in values:
                    values[name] += child[name]
        with self._lock:
            self._cpu_reported = max(self._cpu_reported, cpu)
            values[CPU] = self._cpu_reported
        return values


class PodProcessCollector(Collector):
    """The ``process_*`` families of a single-process server, pool processes included."""

    def __init__(self, totals: ProcessTotals) -> None:
        self.totals = totals

    def collect(self) -> Iterable[Metric]:
        values = self.totals.values()
        families: list[Metric] = []
        if CPU in values:
            families.append(
                CounterMetricFamily(CPU.removesuffix("_total"), CPU_HELP, value=values[CPU])
            )
        for name, documentation in _GAUGE_HELP.items():
            if name in values:
                families.append(GaugeMetricFamily(name, documentation, value=values[name]))
        return families


_installed: PodProcessCollector | None = None


def install(children: Callable[[], Iterable[int]]) -> None:
    """Replace prometheus_client's process collector in the default registry (once)."""
    global _installed
    if _installed is not None:
        return
    with contextlib.suppress(KeyError):  # already replaced
        REGISTRY.unregister(PROCESS_COLLECTOR)
    _installed = PodProcessCollector(ProcessTotals(children))
    REGISTRY.register(_installed)
