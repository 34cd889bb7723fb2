"""Dockerfile, .dockerignore and compose: the invariants the runbook and the install check rely on.

No Docker engine runs in CI, so these are static checks; tests/ops/test_install.py exercises the
same install path (wheel -> venv from wheels only -> non-root, read-only cwd) for real.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from typing import Any

import yaml

from tests.support import ROOT

DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def test_multi_stage_on_a_slim_python_base() -> None:
    build, runtime = stages()
    assert build[0][1].endswith("AS build")
    assert runtime[0][1].endswith("AS runtime")
    base = next(args for word, args in instructions() if word == "ARG" and "PYTHON_IMAGE" in args)
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim-\w+", base)
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime


def test_installs_the_runtime_lock_then_the_project_without_dependencies() -> None:
    runs = [args for word, args in stages()[0] if word == "RUN"]
    build = " ".join(runs)
    assert "/opt/venv/bin/pip install --require-hashes -r requirements/runtime.lock" in build
    assert "/opt/venv/bin/pip install --no-deps --no-build-isolation ." in build
    # The dependency layer comes first, so a source change does not reinstall every dependency.
    assert build.index("runtime.lock") < build.index("--no-deps")
    # Nothing else installs packages: no resolver runs, so nothing outside the lock gets in.
    assert build.count("pip install") == 2
    assert "pip wheel" not in build


def test_runtime_is_non_root_with_healthcheck_and_entrypoint() -> None:
    runtime = dict(stages()[1])
    user = runtime["USER"].split(":")
    assert user[0] not in ("0", "root")
    assert int(user[0]) >= 10000
    assert runtime["HEALTHCHECK"].endswith('CMD ["devutils", "healthcheck"]')
    assert runtime["ENTRYPOINT"] == '["devutils"]'
    assert runtime["CMD"] == '["serve"]'
    assert runtime["EXPOSE"] == "8080"
    assert runtime["WORKDIR"] == "/tmp"  # the only writable place under a read-only root


def test_oci_labels_carry_the_package_version() -> None:
    labels = " ".join(args for word, args in stages()[1] if word == "LABEL")
    for key in ("title", "version", "revision", "created", "source", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    # The build fails when VERSION disagrees with the package metadata.
    build = " ".join(args for word, args in stages()[0] if word == "RUN")
    assert 'm.version("dev-utilities")' in build


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").rstrip("/")
        if (
            fnmatch.fnmatch(path, body)
            or path.startswith(body + "/")
            or fnmatch.fnmatch(path, body.replace("**/", "*/"))
        ):
            ignored = not negated
    return ignored


def test_dockerignore_sends_only_what_copy_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copied = [
        src
        for word, args in instructions()
        if word == "COPY" and not args.startswith("--from")
        for src in shlex.split(args)[:-1]
    ]
    assert copied == ["requirements/runtime.lock", "pyproject.toml", "README.md", "src"]
    for path in ["requirements/runtime.lock", "pyproject.toml", "README.md", "src/devutils/cli.py"]:
        assert not _ignored(path, patterns), path
    for path in [
        ".venv/bin/python",
        "tests/conftest.py",
        "deploy/compose.yaml",
        ".git/HEAD",
        "src/devutils/__pycache__",
        "requirements/test.lock",
    ]:
        assert _ignored(path, patterns), path


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    return data


def test_compose_service_is_hardened_with_a_healthcheck() -> None:
    service = compose()["services"]["dev-utilities"]
    assert service["read_only"] is True
    assert any(mount.startswith("/tmp:") for mount in service["tmpfs"])
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["healthcheck"]["test"] == ["CMD", "devutils", "healthcheck"]
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert "profiles" not in service


def test_compose_redis_profile_is_private_with_password_and_aof() -> None:
    services = compose()["services"]
    redis = services["redis"]
    assert redis["profiles"] == ["redis"]
    assert "ports" not in redis
    command = " ".join(redis["command"])
    assert "--requirepass" in command
    assert "--appendonly yes" in command
    assert 'test -n "$$REDIS_PASSWORD"' in command  # refuses to start without a password
    client = services["dev-utilities-redis"]
    assert client["profiles"] == ["redis"]
    assert client["environment"]["RATE_LIMIT_STORE"] == "redis"
    assert client["environment"]["RATE_LIMIT_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
    assert client["depends_on"]["redis"]["condition"] == "service_healthy"
