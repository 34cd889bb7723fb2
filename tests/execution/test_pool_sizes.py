"""Default cpu and regex pool sizes: the worker's share of the CPUs the process may use."""

from __future__ import annotations

import os

import pytest

from devutils import workers
from devutils.execution.executors import Executors
from tests.conftest import make_settings


def sizes() -> tuple[int, int]:
    executors = Executors(make_settings())
    try:
        return executors.pool("cpu").size, executors.pool("regex").size
    finally:
        executors.close()


def test_default_pools_share_the_cpus_among_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    try:
        os.sched_setaffinity(0, allowed[:1])  # one CPU (this thread, which cpu_limit asks about)
        assert workers.cpu_limit() == 1
        assert sizes() == (1, 1)
        if len(allowed) >= 2:
            os.sched_setaffinity(0, allowed[:2])
            cpus = workers.cpu_limit()  # 2, or 1 under a cgroup quota of one CPU
            assert sizes() == (cpus, cpus)  # a single worker has them all
            monkeypatch.setattr(workers, "_context", workers.WorkerContext(2, 1))
            assert sizes() == (1, 1)  # two workers: one process per class each
            monkeypatch.setattr(workers, "_context", workers.WorkerContext(4, 3))
            assert sizes() == (1, 1)  # never none
    finally:
        os.sched_setaffinity(0, allowed)


def test_explicit_pool_sizes_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "_context", workers.WorkerContext(4, 0))
    executors = Executors(make_settings(pool_cpu_workers=3, pool_regex_workers=5))
    try:
        assert (executors.pool("cpu").size, executors.pool("regex").size) == (3, 5)
    finally:
        executors.close()
