"""requirements/*.lock agree with pyproject.toml: every direct dependency is pinned, in range, hashed.

The locks are written by `bash scripts/lock.sh`; when this file fails after a change to
pyproject.toml, run that command and commit both locks.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import ROOT

PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
TEST_LOCK = ROOT / "requirements" / "test.lock"
# The line uv writes under a package that pyproject.toml asks for directly.
VIA_PYPROJECT = "dev-utilities (pyproject.toml)"
# Where the locks must install: Python 3.11 on Linux, both CPU families (Debian ships 3.11.2,
# below redis' async-timeout marker at 3.11.3, so both sides of it are checked).
TARGETS = [
    {
        "python_version": "3.11",
        "python_full_version": full,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    for full in ("3.11.2", "3.11.9")
    for machine in ("x86_64", "aarch64")
]


@dataclass
class Pin:
    requirement: Requirement
    hashes: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)

    @property
    def version(self) -> Version:
        (spec,) = self.requirement.specifier
        return Version(spec.version)


def parse_lock(text: str) -> dict[str, Pin]:
    """The pins of a `uv pip compile --generate-hashes` file, with their hashes and `# via` lines."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for raw in text.splitlines():
        line = raw.strip().removesuffix("\\").strip()
        if not line:
            continue
        if not raw[0].isspace() and not line.startswith("#"):
            requirement = Requirement(line)
            specs = list(requirement.specifier)
            if len(specs) != 1 or specs[0].operator != "==":
                raise AssertionError(f"not an exact pin: {line}")
            current = pins.setdefault(canonicalize_name(requirement.name), Pin(requirement))
        elif current is not None and line.startswith("--hash="):
            current.hashes.append(line.removeprefix("--hash="))
        elif current is not None and line.startswith("#"):
            via = line.removeprefix("#").strip().removeprefix("via").strip()
            if via:
                current.via.add(via)
        elif not line.startswith("#"):
            raise AssertionError(f"unexpected lock line: {raw!r}")
    return pins


def applies(marker: Marker | None, environment: dict[str, str]) -> bool:
    return marker is None or marker.evaluate(environment)


def disagreements(wanted: list[str], lock_text: str) -> list[str]:
    """Why the lock does not satisfy these pyproject requirements; empty when it does."""
    pins = parse_lock(lock_text)
    problems = []
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{name}: in pyproject.toml, missing from the lock")
            continue
        if not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{name}: locked {pin.version} is outside {requirement.specifier}")
        for environment in TARGETS:
            if applies(requirement.marker, environment) and not applies(
                pin.requirement.marker, environment
            ):
                problems.append(f"{name}: the lock skips it on {environment['platform_machine']}")
                break
    direct = {canonicalize_name(Requirement(line).name) for line in wanted}
    for pinned, pin in pins.items():
        if VIA_PYPROJECT in pin.via and pinned not in direct:
            problems.append(f"{pinned}: the lock says pyproject.toml asks for it; it does not")
        if not pin.hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes):
            problems.append(f"{pinned}: no sha256 hashes")
    return problems


RUNTIME: list[str] = PYPROJECT["project"]["dependencies"]
TEST_EXTRA: list[str] = PYPROJECT["project"]["optional-dependencies"]["test"]
BUILD: list[str] = PYPROJECT["build-system"]["requires"]


@pytest.mark.parametrize(
    ("lock", "wanted", "build"),
    [(RUNTIME_LOCK, RUNTIME, BUILD), (TEST_LOCK, RUNTIME + TEST_EXTRA, BUILD)],
    ids=["runtime", "test"],
)
def test_the_lock_agrees_with_pyproject(lock: Path, wanted: list[str], build: list[str]) -> None:
    text = lock.read_text()
    assert disagreements(wanted, text) == [], "run: bash scripts/lock.sh"
    # The build backend is pinned too (installs use --no-build-isolation), though no `via` names it.
    pins = parse_lock(text)
    for line in build:
        requirement = Requirement(line)
        pin = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pin.version, prereleases=True), line


def test_every_lock_line_carries_hashes() -> None:
    for lock in (RUNTIME_LOCK, TEST_LOCK):
        pins = parse_lock(lock.read_text())
        assert len(pins) >= len(RUNTIME)
        for name, pin in pins.items():
            assert pin.hashes, f"{lock.name}: {name} has no hash"
            assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes), name


def test_the_service_runs_the_versions_the_tests_ran() -> None:
    runtime = parse_lock(RUNTIME_LOCK.read_text())
    tested = parse_lock(TEST_LOCK.read_text())
    assert {name: pin.version for name, pin in runtime.items()} == {
        name: tested[name].version for name in runtime if name in tested
    }
    assert set(runtime) <= set(tested)


def test_locks_name_their_refresh_command() -> None:
    for lock in (RUNTIME_LOCK, TEST_LOCK):
        assert "#    bash scripts/lock.sh\n" in lock.read_text()


# The checker itself must be able to fail: each kind of disagreement is reported.
GOOD_LOCK = """\
# This file was autogenerated by uv via the following command:
#    bash scripts/lock.sh
anyio==4.4.0 \\
    --hash=sha256:{a}
    # via httpx
httpx==0.28.1 \\
    --hash=sha256:{a} \\
    --hash=sha256:{b}
    # via
    #   dev-utilities (pyproject.toml)
    #   mcp
uvloop==0.21.0 ; sys_platform != 'win32' \\
    --hash=sha256:{b}
    # via dev-utilities (pyproject.toml)
""".format(a="a" * 64, b="b" * 64)
GOOD_WANTED = ["httpx>=0.27,<1", "uvloop>=0.19,<1; sys_platform != 'win32'"]


def test_a_lock_that_agrees_has_no_disagreements() -> None:
    pins = parse_lock(GOOD_LOCK)
    assert sorted(pins) == ["anyio", "httpx", "uvloop"]
    assert pins["httpx"].via == {"dev-utilities (pyproject.toml)", "mcp"}
    assert pins["httpx"].hashes == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    assert disagreements(GOOD_WANTED, GOOD_LOCK) == []


@pytest.mark.parametrize(
    ("wanted", "lock", "problem"),
    [
        (["httpx>=0.29,<1", GOOD_WANTED[1]], GOOD_LOCK, "httpx: locked 0.28.1 is outside"),
        ([*GOOD_WANTED, "redis>=5"], GOOD_LOCK, "redis: in pyproject.toml, missing from the lock"),
        (GOOD_WANTED[:1], GOOD_LOCK, "uvloop: the lock says pyproject.toml asks for it"),
        (
            GOOD_WANTED,
            GOOD_LOCK.replace("; sys_platform != 'win32'", "; platform_machine == 'x86_64'"),
            "uvloop: the lock skips it on aarch64",
        ),
        (
            GOOD_WANTED,
            GOOD_LOCK.replace("anyio==4.4.0 \\\n    --hash=sha256:" + "a" * 64, "anyio==4.4.0"),
            "anyio: no sha256 hashes",
        ),
    ],
    ids=["out-of-range", "missing", "removed-from-pyproject", "marker-narrower", "no-hash"],
)
def test_each_kind_of_disagreement_is_reported(wanted: list[str], lock: str, problem: str) -> None:
    problems = disagreements(wanted, lock)
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_an_inexact_pin_is_refused() -> None:
    with pytest.raises(AssertionError, match="not an exact pin"):
        parse_lock("anyio>=4 \\\n    --hash=sha256:" + "a" * 64 + "\n")
