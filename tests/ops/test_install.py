"""The container's install path without Docker: wheel -> fresh venv -> non-root, read-only cwd."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devutils import __version__
from tests.support import ROOT, free_port

SCRIPT = ROOT / "scripts" / "install_check.sh"


@pytest.fixture(scope="module")
def report() -> Iterator[dict[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("the install check switches to a non-root user, so it must start as root")
    # Not under pytest's tmp_path: that lives in a root-only directory the user cannot enter.
    work = Path(tempfile.mkdtemp(prefix="devutils-install-", dir="/tmp"))
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT), str(work)],
            env={**os.environ, "PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        lines = [line.partition("=") for line in result.stdout.splitlines() if "=" in line]
        yield {key: value for key, _, value in lines}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _http(value: str) -> tuple[int, object]:
    status, _, body = value.partition(" ")
    return int(status), json.loads(body)


@pytest.mark.slow
def test_installed_by_and_running_as_a_non_root_user(report: dict[str, str]) -> None:
    assert report["installed_by"] == "nobody"
    assert report["serve_user"] == "nobody"
    assert report["serve_cwd"].endswith("/readonly-cwd")
    assert report["write_errors"] == "no"


@pytest.mark.slow
def test_installs_only_what_the_runtime_lock_pins(report: dict[str, str]) -> None:
    # --require-hashes refuses anything unpinned; this proves the install really went that way.
    assert "unlocked" in report
    assert report["unlocked"] == ""


@pytest.mark.slow
def test_version_comes_from_the_package(report: dict[str, str]) -> None:
    assert report["wheel"] == f"dev_utilities-{__version__}-py3-none-any.whl"
    assert report["version"] == f"dev-utilities {__version__}"
    assert report["metadata_version"] == __version__
    assert _http(report["status"]) == (
        200,
        {"service": "dev-utilities", "version": __version__, "status": "running"},
    )


@pytest.mark.slow
def test_probe_healthcheck_and_a_tool_answer(report: dict[str, str]) -> None:
    assert _http(report["live"]) == (200, {"status": "alive"})
    assert report["healthcheck"] == "0"
    status, body = _http(report["tool"])
    assert status == 200
    assert body == {
        "success": True,
        "data": {"hash": hashlib.sha256(b"abc").hexdigest(), "algorithm": "sha256"},
    }


@pytest.mark.slow
def test_the_wheel_ships_the_playground(report: dict[str, str]) -> None:
    assert report["playground"] == "200"


@pytest.mark.slow
def test_sigterm_exits_zero(report: dict[str, str]) -> None:
    assert report["exit"] == "0"
