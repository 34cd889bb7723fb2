"""The hooks the server calls around its worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devutils import workers
from tests.conftest import make_settings


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workers.MULTIPROC_ENV, "unset")
    monkeypatch.delenv(workers.MULTIPROC_ENV)
    monkeypatch.setattr(workers, "_parent_metrics_dir", None)
    monkeypatch.setattr(workers, "_context", workers.WorkerContext())


def test_one_worker_changes_nothing() -> None:
    settings = make_settings()
    workers.before_workers_start(settings, 1)
    assert workers.MULTIPROC_ENV not in os.environ
    workers.in_worker(settings, 1, 0)
    assert workers.current() == workers.WorkerContext(1, 0, None)
    workers.after_worker_exit(12345)  # nothing to clean


def test_several_workers_get_a_temporary_metrics_directory() -> None:
    workers.before_workers_start(make_settings(), 3)
    directory = Path(os.environ[workers.MULTIPROC_ENV])
    try:
        assert directory.is_dir()
        assert directory.name.startswith("devutils-metrics-")
        workers.in_worker(make_settings(), 3, 2)
        assert workers.current() == workers.WorkerContext(3, 2, directory, os.getppid())
    finally:
        directory.rmdir()


def test_the_configured_directory_is_created_and_only_our_files_are_removed(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "a" / "metrics"
    directory.mkdir(parents=True)
    for name in ("counter_1.db", "gauge_livesum_2.db", "fast_3_ab.json", "live_3.json", "notes"):
        (directory / name).write_text("x")
    workers.before_workers_start(make_settings(metrics_multiproc_dir=str(directory)), 2)
    assert os.environ[workers.MULTIPROC_ENV] == str(directory)
    assert sorted(path.name for path in directory.iterdir()) == ["notes"]


def test_after_worker_exit_drops_the_live_gauges_of_that_worker_only(tmp_path: Path) -> None:
    workers.before_workers_start(make_settings(metrics_multiproc_dir=str(tmp_path)), 2)
    for name in ("gauge_livesum_41.db", "live_41.json", "counter_41.db", "fast_41_ab.json"):
        (tmp_path / name).write_text("x")
    (tmp_path / "live_42.json").write_text("x")
    workers.after_worker_exit(41)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "counter_41.db",
        "fast_41_ab.json",
        "live_42.json",
    ]


def test_in_worker_refuses_a_bad_index_or_a_missing_directory() -> None:
    with pytest.raises(ValueError, match="out of range"):
        workers.in_worker(make_settings(), 2, 2)
    with pytest.raises(RuntimeError, match="before_workers_start"):
        workers.in_worker(make_settings(), 2, 0)
    # Without metrics there is nothing to pool.
    workers.in_worker(make_settings(metrics_enabled=False), 2, 1)
    assert workers.current() == workers.WorkerContext(2, 1, None, os.getppid())


@pytest.mark.parametrize("name", ["file/metrics", "file"], ids=["under-a-file", "is-a-file"])
def test_a_metrics_directory_that_cannot_be_made_is_a_settings_error(
    tmp_path: Path, name: str
) -> None:
    from devutils.settings import SettingsError

    (tmp_path / "file").write_text("x")
    directory = tmp_path / name
    with pytest.raises(SettingsError, match=r"^METRICS_MULTIPROC_DIR: ") as caught:
        workers.before_workers_start(make_settings(metrics_multiproc_dir=str(directory)), 2)
    assert str(tmp_path) not in str(caught.value)
    assert workers.MULTIPROC_ENV not in os.environ  # no worker is told to use it


def test_a_metrics_directory_without_write_access_is_a_settings_error() -> None:
    from devutils.settings import SettingsError

    # /proc exists and no one (root included) may create files in it.
    with pytest.raises(
        SettingsError, match=r"^METRICS_MULTIPROC_DIR: .*cannot be created or written"
    ):
        workers.before_workers_start(make_settings(metrics_multiproc_dir="/proc"), 2)


def test_the_write_probe_leaves_nothing_behind(tmp_path: Path) -> None:
    workers.before_workers_start(make_settings(metrics_multiproc_dir=str(tmp_path)), 2)
    assert list(tmp_path.iterdir()) == []
