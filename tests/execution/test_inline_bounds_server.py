"""The hunt's loop-blocking calls against a real server: /health/live keeps answering while they
run, and a call that cannot finish within TOOL_TIMEOUT answers 504.

The liveness bound (1 s) is a behaviour bound, not a benchmark: a blocked loop made each of these
probes wait 5-6 s, a free one answers in milliseconds.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import ServerProcess, run_server

TOOL_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "error", "TOOL_TIMEOUT": str(TOOL_TIMEOUT)}
    with run_server(env, port=0) as running:  # one server for the module
        yield running


def post(server: ServerProcess, path: str, body: Any) -> int:
    request = urllib.request.Request(
        server.base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


def while_probing(server: ServerProcess, path: str, body: Any) -> tuple[int, float, float]:
    """POST ``body`` and probe /health/live from this thread until it is answered: (status,
    seconds it took, slowest probe)."""
    answer: list[tuple[int, float]] = []

    def call() -> None:
        started = time.monotonic()
        status = post(server, path, body)
        answer.append((status, time.monotonic() - started))

    caller = threading.Thread(target=call)
    caller.start()
    slowest = 0.0
    while True:
        time.sleep(0.05)  # the call reaches the server first
        started = time.monotonic()
        with urllib.request.urlopen(server.base + "/health/live", timeout=30) as live:
            assert live.status == 200
        slowest = max(slowest, time.monotonic() - started)
        if not caller.is_alive():
            break
    caller.join()
    status, took = answer[0]
    return status, took, slowest


def test_a_pipeline_of_inline_sized_steps_leaves_the_loop_free(server: ServerProcess) -> None:
    """Ten text/info steps that each fit INLINE_MAX_WORK (0.5 s each of them on the loop before):
    once the first has spent the steps' one inline budget the rest run in the pool."""
    content = "x" + "!" * 8190 + "x"
    body = {"steps": [{"tool": "text_info", "args": {"content": content}}] * 10}
    status, took, slowest = while_probing(server, "/api/v1/pipeline", body)
    assert slowest < 1.0
    assert status == 504 or (status == 200 and took < TOOL_TIMEOUT), (status, took)


def test_a_replace_expanding_a_long_template_at_every_match_is_stopped(
    server: ServerProcess,
) -> None:
    """The hunt's 4 KB replace (5.5 s of work): in the regex pool, stopped at TOOL_TIMEOUT."""
    body = {"content": "a" * 3000, "pattern": "|", "action": "replace", "replacement": "$0" * 500}
    status, took, slowest = while_probing(server, "/api/v1/text/regex", body)
    assert slowest < 1.0
    assert status == 504
    assert took < TOOL_TIMEOUT + 1.5
