"""What pooling metrics and limits across worker processes costs, in one process, in one run.

1. Metrics: the hot path is unchanged (a dict update per series); the price is one snapshot
   publish per worker per second and the merge at scrape time.  Prints the publish cost with the
   series a busy server has, and the scrape cost with 1, 2, 4 and 8 workers' snapshots, next to a
   single-process scrape of the same families.
2. Memory rate limits: the per-request cost of the memory store (what each worker runs with its
   share of the limit) next to a sketch of the alternative, a table shared by the workers (an
   mmap'ed file with an flock around each read-modify-write, the cheapest lock two unrelated
   processes can share without inheriting it; a ``multiprocessing.Lock`` cannot be handed to a
   worker started by fork+exec).

    .venv/bin/python bench/workers_bench.py
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from devutils.observability.fastmetrics import FastCounter, FastHistogram
from devutils.observability.multiproc import WorkerMetrics
from devutils.ratelimit.gcra import Limit, gcra
from devutils.ratelimit.memory import MemoryStore

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def per_call(action: Callable[[], object], calls: int) -> float:
    """Microseconds per call, best of three runs."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            action()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def busy_families() -> tuple[list[FastCounter], list[FastHistogram]]:
    """About what a server that served every tool on every front end holds."""
    requests = FastCounter("http_requests_total", ".", ["method", "route", "status"], None)
    tools = FastCounter("tool_calls_total", ".", ["tool", "frontend", "status"], None)
    latency = FastHistogram(
        "http_request_duration_seconds", ".", ["method", "route"], BUCKETS, None
    )
    tool_time = FastHistogram("tool_call_duration_seconds", ".", ["tool"], BUCKETS, None)
    for tool in range(60):
        route = f"/api/v1/family/op{tool}"
        for status in ("200", "400", "429"):
            requests.inc(("POST", route, status), 1000)
        for frontend in ("rest", "mcp", "cli"):
            tools.inc((f"tool_{tool}", frontend, "success"), 1000)
        latency.observe(("POST", route), 0.003)
        tool_time.observe((f"tool_{tool}",), 0.0004)
    return [requests, tools], [latency, tool_time]


def metrics_costs() -> None:
    counters, histograms = busy_families()
    series = sum(len(c.values) for c in counters) + sum(len(h.series) for h in histograms)
    single = CollectorRegistry()
    for family in (*counters, *histograms):
        single.register(family)
    print(f"metrics: {series} series per worker")
    print(
        f"  single-process scrape             {per_call(lambda: generate_latest(single), 50):9.0f} µs"
    )
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        worker = WorkerMetrics(directory, counters, histograms)
        publish = per_call(worker.publish, 200)
        print(
            f"  publish one snapshot              {publish:9.0f} µs  (once a second per worker:"
            f" {publish / 1e4:.3f}% of a core)"
        )
        registry = CollectorRegistry()
        registry.register(worker)
        for workers in (1, 2, 4, 8):
            for other in range(len(list(directory.glob("fast_*.json"))), workers):
                (directory / f"fast_{other + 100}_x.json").write_bytes(
                    worker.snapshot_path.read_bytes()
                )
            cost = per_call(lambda: generate_latest(registry), 20)
            print(f"  scrape with {workers} worker(s)' snapshots  {cost:9.0f} µs")


def shared_table_check(table: mmap.mmap, fd: int, slot: int, limit: Limit, now: float) -> bool:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        (tat,) = struct.unpack_from("d", table, slot * 8)
        decision, new_tat = gcra(tat or None, now, limit)
        if new_tat is not None:
            struct.pack_into("d", table, slot * 8, new_tat)
        return decision.allowed
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def ratelimit_costs() -> None:
    limit = Limit("anonymous", 10**9, 10**9)  # never refuses: measures the admit path
    store = MemoryStore(100_000, time.monotonic)
    identities = [f"ip:10.0.{i // 256}.{i % 256}" for i in range(1000)]
    index = [0]

    def memory() -> object:
        index[0] = (index[0] + 1) % 1000
        return store.admit(identities[index[0]], limit)

    print("memory rate limits, per request:")
    print(f"  memory store, this worker's share {per_call(memory, 200_000):9.2f} µs")
    with tempfile.NamedTemporaryFile() as backing:
        backing.truncate(8 * 65536)
        fd = backing.fileno()
        table = mmap.mmap(fd, 8 * 65536)

        def shared() -> object:
            index[0] = (index[0] + 1) % 1000
            slot = hash(identities[index[0]]) % 65536
            return shared_table_check(table, fd, slot, limit, time.monotonic())

        cost = per_call(shared, 200_000)
        table.close()
    print(f"  shared mmap table + flock (sketch) {cost:8.2f} µs  (uncontended, pid {os.getpid()})")


def main() -> int:
    metrics_costs()
    ratelimit_costs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
