"""The default worker count: the container's CPU quota, capped by the schedulable CPUs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devutils.workers import cpu_limit

SCHEDULABLE = len(os.sched_getaffinity(0))


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("50000 100000", 1),  # 500m: one worker, never zero
        ("100000 100000", 1),
        ("150000 100000", 1),  # rounded down: a second worker would only be throttled
        ("10000 100000", 1),
    ],
    ids=["500m", "1cpu", "1500m", "100m"],
)
def test_cgroup_v2_quota(tmp_path: Path, cpu_max: str, expected: int) -> None:
    _write(tmp_path, "cpu.max", cpu_max)
    assert cpu_limit(tmp_path) == expected


def test_cgroup_v2_quota_above_the_schedulable_cpus_is_capped(tmp_path: Path) -> None:
    _write(tmp_path, "cpu.max", f"{(SCHEDULABLE + 3) * 100000} 100000")
    assert cpu_limit(tmp_path) == SCHEDULABLE


def test_cgroup_v2_two_cpus(tmp_path: Path) -> None:
    _write(tmp_path, "cpu.max", "200000 100000")
    assert cpu_limit(tmp_path) == min(2, SCHEDULABLE)


def test_cgroup_v2_without_quota_uses_the_schedulable_cpus(tmp_path: Path) -> None:
    _write(tmp_path, "cpu.max", "max 100000")
    assert cpu_limit(tmp_path) == SCHEDULABLE


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    _write(tmp_path, "cpu,cpuacct/cpu.cfs_quota_us", "50000")
    _write(tmp_path, "cpu,cpuacct/cpu.cfs_period_us", "100000")
    assert cpu_limit(tmp_path) == 1


def test_cgroup_v1_no_quota(tmp_path: Path) -> None:
    _write(tmp_path, "cpu/cpu.cfs_quota_us", "-1")
    _write(tmp_path, "cpu/cpu.cfs_period_us", "100000")
    assert cpu_limit(tmp_path) == SCHEDULABLE


def test_no_cgroup_files_uses_the_schedulable_cpus(tmp_path: Path) -> None:
    assert cpu_limit(tmp_path) == SCHEDULABLE


def test_garbage_in_the_cgroup_file_is_no_quota(tmp_path: Path) -> None:
    _write(tmp_path, "cpu.max", "lots 100000")
    assert cpu_limit(tmp_path) == SCHEDULABLE
