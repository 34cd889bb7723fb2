"""`devutils serve` refuses unusable settings at start: exit 78, one JSON line naming the
variable the operator set, never its value, with one worker and with several (no restart loop)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import DEVUTILS

# '/', '#' and '?' end a URL's authority: redis-py's parser used to quote what came before them.
PASSWORD = "CANARY9/Pass#wo?rd"
REDIS_URL = f"redis://:{PASSWORD}@127.0.0.1:19690/0"


def serve(env: dict[str, str], workers: int | None) -> subprocess.CompletedProcess[bytes]:
    argv = [*DEVUTILS, "serve", "--host", "127.0.0.1", "--port", "0"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return subprocess.run(
        argv,
        env={"PATH": "/usr/bin:/bin", "SECRETS_MOUNT_PATH": "/nonexistent", **env},
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
        # A restart loop never ends by itself: the timeout fails the test.
        timeout=60,
    )


def assert_refused(result: subprocess.CompletedProcess[bytes], named: str) -> str:
    """Exit 78 and one refusal line naming ``named``; returns its error text."""
    output = result.stdout + result.stderr
    assert result.returncode == 78, output
    assert b"Traceback" not in output
    assert b"CANARY" not in output
    assert b"Pass" not in output
    entries = [json.loads(line) for line in output.decode().splitlines()]  # all JSON lines
    assert not [entry for entry in entries if entry["msg"] == "worker died, restarting"]
    [refusal] = [e for e in entries if e["msg"] == "invalid configuration, not starting"]
    assert (refusal["level"], refusal["exit_code"]) == ("ERROR", 78)
    error = str(refusal["error"])
    assert f"{named}: " in error
    return error


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RATE_LIMIT_STORE": "redis", "RATE_LIMIT_REDIS_URL": REDIS_URL}, "RATE_LIMIT_REDIS_URL"),
        ({"CORS_ALLOW_ORIGINS": "https://ok.example,notanorigin"}, "CORS_ALLOW_ORIGINS"),
        ({"DNS_RESOLVERS": "notanip"}, "DNS_RESOLVERS"),
        ({"TRACING_ENABLED": "true", "TRACING_OTLP_ENDPOINT": "notaurl"}, "TRACING_OTLP_ENDPOINT"),
    ],
    ids=["redis-url", "cors-origins", "dns-resolvers", "otlp-endpoint"],
)
def test_unusable_setting_stops_start_up(env: dict[str, str], variable: str, workers: int) -> None:
    error = assert_refused(serve(env, workers), variable)
    assert "(value not shown)" in error


def test_a_redis_url_from_the_secret_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "redis-url").write_text(REDIS_URL + "\n")
    env = {"SECRETS_MOUNT_PATH": str(tmp_path), "RATE_LIMIT_STORE": "redis"}
    assert_refused(serve(env, 2), f"RATE_LIMIT_REDIS_URL (secret file {tmp_path / 'redis-url'})")


@pytest.mark.parametrize("value", ["abc", "0"])
def test_web_concurrency_is_named_when_it_sets_the_workers(value: str) -> None:
    error = assert_refused(serve({"WEB_CONCURRENCY": value}, None), "WEB_CONCURRENCY")
    assert "SERVER_WORKERS" not in error


@pytest.mark.parametrize(
    "directory",
    ["/proc/nope", "/proc", "{tmp}/a-file/metrics"],
    ids=["cannot-create", "not-writable", "under-a-file"],
)
def test_unusable_metrics_directory_stops_several_workers(directory: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    path = directory.format(tmp=tmp_path)
    error = assert_refused(serve({"METRICS_MULTIPROC_DIR": path}, 2), "METRICS_MULTIPROC_DIR")
    assert path not in error
