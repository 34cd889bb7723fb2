"""A pool process killed mid-call (out of memory, deadline) leaves one WARNING JSON log line on a
real server, with the class, the reason and the limit, and nothing of the request."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess, run_server

pytestmark = pytest.mark.slow

ENV = {"AUTH_METHOD": "none", "RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "info"}
MARKER = "zz-request-marker"


def kill_lines(server: ServerProcess, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The "pool process killed" lines logged so far (waits for at least one)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = []
        for line in server.logs().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("msg") == "pool process killed":
                    lines.append(entry)
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_out_of_memory_kill_is_logged() -> None:
    with run_server({**ENV, "POOL_MEMORY_LIMIT_MB": "16"}) as server:
        # Under the 1 MiB body limit, over 16 MiB once sorted naturally (the runbook's case).
        content = "\n".join(f"l{index} xx" for index in range(90_000))
        response = httpx.post(
            f"{server.base}/api/v1/text/sort",
            json={"content": content, "order": "desc", "sortType": "natural"},
            timeout=30,
        )
        assert response.status_code == 413, response.text
        [entry] = kill_lines(server)
        assert entry["level"] == "WARNING"
        assert entry["class"] == "cpu"
        assert entry["reason"] == "out_of_memory"
        assert entry["limit"] == "16 MiB"
        assert entry["tool"] == "text_sort"
        logs = server.logs()
    assert "l4242 xx" not in logs  # never the request's content


def test_deadline_kill_is_logged() -> None:
    env = {**ENV, "TOOL_TIMEOUT": "0.5", "ARGON_ITERATIONS": "100", "ARGON_MEMORY": "262144"}
    with run_server(env) as server:
        response = httpx.post(
            f"{server.base}/api/v1/crypto/password/hash",
            json={"password": MARKER},
            timeout=30,
        )
        assert response.status_code == 504, response.text
        [entry] = kill_lines(server)
        assert entry["level"] == "WARNING"
        assert entry["class"] == "argon2"
        assert entry["reason"] == "timeout"
        assert entry["limit"] == "0.5 s"
        logs = server.logs()
    assert MARKER not in logs
