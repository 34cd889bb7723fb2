"""What the server's worker processes share: how many there are, who each one is, and the
directory where they pool their metrics.

The server (``devutils serve --workers N``) calls, in this order: :func:`before_workers_start` in
the parent before any worker exists, :func:`in_worker` first thing in each worker (before the
application is imported), and :func:`after_worker_exit` in the parent for every reaped worker.
This module imports nothing of the application, so the parent stays free of it.

With more than one worker:

- metrics: the parent owns a directory (``METRICS_MULTIPROC_DIR``, else a temporary one removed at
  exit) and exports it as ``PROMETHEUS_MULTIPROC_DIR`` so every worker's prometheus_client metrics
  use the library's multi-process mode; our own hot-path families are published there as
  snapshots (:mod:`devutils.observability.multiproc`).  A scrape of any worker shows the pod.
- memory rate limits: each worker enforces its share of every limit (:func:`current` tells the
  limiter which share), so the pod as a whole admits the configured limit.

With one worker nothing of this applies: no directory, no snapshots, full limits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devutils.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Files this service writes into the metrics directory: prometheus_client's (*.db) and ours.
_METRICS_FILE_PATTERNS = ("*.db", "fast_*.json", "live_*.json", ".*.tmp")


@dataclass(frozen=True)
class WorkerContext:
    """This process's place among the server's workers."""

    workers: int = 1
    index: int = 0
    metrics_dir: Path | None = None  # set when metrics are pooled across workers
    supervisor_pid: int | None = None  # the parent of the workers, when there are several


_context = WorkerContext()
_parent_metrics_dir: Path | None = None


def current() -> WorkerContext:
    """Set by :func:`in_worker`; one worker of one (the default) otherwise."""
    return _context


# --- how many workers -------------------------------------------------------------------------


def cpu_limit(cgroup_root: Path = CGROUP_ROOT) -> int:
    """CPUs this process may use: the cgroup CPU quota (v2 ``cpu.max``, v1 CFS quota), rounded
    down, capped by the CPUs it may be scheduled on; at least 1.

    Rounded down because a worker more than the quota only adds throttling: 500m gives 1 worker,
    2500m gives 2.
    """
    try:
        schedulable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        schedulable = os.cpu_count() or 1
    quota = _cgroup_cpus(cgroup_root)
    cpus = schedulable if quota is None else min(schedulable, quota)
    return max(1, cpus)


def _cgroup_cpus(root: Path) -> int | None:
    """Whole CPUs of the quota, or None when there is no quota (or no cgroup files)."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        parts = v2.split()
        if len(parts) == 2 and parts[0] != "max":
            return _whole_cpus(parts[0], parts[1])
        return None
    for directory in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        quota = _read(root / directory / "cpu.cfs_quota_us")
        period = _read(root / directory / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            return _whole_cpus(quota, period)
    return None


def _whole_cpus(quota: str, period: str) -> int | None:
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:
        return None
    if quota_us <= 0 or period_us <= 0:  # v1 writes -1 for "no quota"
        return None
    return quota_us // period_us


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


# --- parent side ------------------------------------------------------------------------------


def before_workers_start(settings: Settings, workers: int) -> None:
    """In the parent, before any worker starts: prepare the shared metrics directory and export
    it to the workers (they inherit the environment).  Nothing with one worker."""
    global _parent_metrics_dir
    if workers <= 1:
        return
    if settings.metrics_multiproc_dir:
        directory = _prepare_metrics_dir(Path(settings.metrics_multiproc_dir))
    else:
        directory = Path(tempfile.mkdtemp(prefix="devutils-metrics-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    _parent_metrics_dir = directory
    os.environ[MULTIPROC_ENV] = str(directory)


def _prepare_metrics_dir(directory: Path) -> Path:
    """Create ``directory``, empty it of metric files and make sure files can be created in it.

    Raises SettingsError naming METRICS_MULTIPROC_DIR (exit 78, the supervisor starts no worker):
    a directory that cannot be used would otherwise fail here with a traceback, or in every
    worker.  The message gives the reason, not the path, as for every other setting.
    """
    from devutils.settings import SettingsError

    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Files of an earlier run would be added to this run's counters.
        for pattern in _METRICS_FILE_PATTERNS:
            for stale in directory.glob(pattern):
                stale.unlink(missing_ok=True)
        # Every worker writes its metric files here; named like our temporary files, so a probe
        # left by a crash is removed by the next start.
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-", suffix=".tmp"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SettingsError(
            f"METRICS_MULTIPROC_DIR: the directory cannot be created or written: {reason}"
        ) from None
    return directory


def after_worker_exit(pid: int) -> None:
    """In the parent, after a worker was reaped: its live gauges leave the pod's totals.

    Its counters and histograms stay (their files are kept), so the pod's totals never go
    backwards when a worker dies or is replaced.
    """
    directory = _parent_metrics_dir
    if directory is None:
        return
    from prometheus_client import multiprocess

    from devutils.observability.multiproc import mark_worker_dead

    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    mark_worker_dead(directory, pid)


# --- worker side ------------------------------------------------------------------------------


def in_worker(settings: Settings, workers: int, index: int) -> None:
    """First thing in each worker, before the application is imported: record who this is."""
    global _context
    if workers < 1 or not 0 <= index < workers:
        raise ValueError(f"worker index {index} out of range for {workers} workers")
    metrics_dir: Path | None = None
    if workers > 1 and settings.metrics_enabled:
        exported = os.environ.get(MULTIPROC_ENV)
        if not exported:
            # Metrics of one worker passed off as the pod's would be silently wrong.
            raise RuntimeError(f"{MULTIPROC_ENV} is not set: call before_workers_start first")
        metrics_dir = Path(exported)
    supervisor = os.getppid() if workers > 1 else None
    _context = WorkerContext(workers, index, metrics_dir, supervisor)
