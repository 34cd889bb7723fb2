"""Worker processes: the default count, and the hooks the supervisor calls around its workers.

The server (devutils.http.server.supervisor) calls the hooks at fixed points; what they do for
metrics and the rate-limit store across workers lives here.  This minimal version only computes
the default worker count; the hooks do nothing yet.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from devutils.settings import Settings

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cpu_limit(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The CPUs this process may use: the cgroup CPU quota (v2 ``cpu.max``, else v1 CFS quota),
    capped by the CPU affinity mask, at least 1.  A fractional quota rounds down (1.5 CPUs -> 1
    worker): a second worker on half a CPU would only be throttled."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = available or 1
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        count = min(count, math.floor(quota))
    return max(1, count)


def _cgroup_quota(root: Path) -> float | None:
    """CPUs allowed by the quota, or None when there is none (or it cannot be read)."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        fields = v2.split()
        if len(fields) == 2 and fields[0] != "max":
            return _ratio(fields[0], fields[1])
        return None
    for directory in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        quota = _read(root / directory / "cpu.cfs_quota_us")
        period = _read(root / directory / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            return _ratio(quota, period)
    return None


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    if q <= 0 or p <= 0:  # v1 writes -1 for "no quota"
        return None
    return q / p


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def before_workers_start(settings: Settings, workers: int) -> None:
    """In the supervisor, before any worker starts."""


def after_worker_exit(pid: int) -> None:
    """In the supervisor, after a worker has been reaped."""


def in_worker(settings: Settings, workers: int, index: int) -> None:
    """In a worker process, first thing, before the application is imported."""
