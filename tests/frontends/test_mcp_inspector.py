"""The official TypeScript client (MCP Inspector CLI 2.12.0) against our server, stdio and HTTP.

The TypeScript SDK validates a result's ``structuredContent`` against the tool's ``outputSchema``
even when ``isError`` is true; an error object there made it throw a schema error instead of
showing ours (issue 14).  Both protocol eras, both transports: a bad argument must come out as
``VALIDATION_ERROR`` with ``isError`` true, and a good call as the structured result.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.frontends.js_tools import INSPECTOR, require_js, run_js
from tests.support import ServerProcess, run_server

ERAS = ("legacy", "modern")
BAD_CALL = ["--tool-name", "crypto_hash", "--tool-arg", "content=x", "--tool-arg", "algorithm=md4"]
GOOD_CALL = [
    "--tool-name",
    "crypto_hash",
    "--tool-arg",
    "content=abc",
    "--tool-arg",
    "algorithm=md5",
]
TOOL_IS_ERROR_EXIT = 5  # the Inspector's exit code for an isError result


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    require_js(INSPECTOR)
    # Output schemas listed, so the TypeScript SDK's validation of results is exercised.
    env = {"LOG_LEVEL": "warn", "RATE_LIMIT_ENABLED": "false", "MCP_OUTPUT_SCHEMAS": "true"}
    with run_server(env) as running:
        yield running


def _stdio_target() -> list[str]:
    # The Inspector starts the server with a minimal environment; -e adds to it.
    return [
        "-e",
        "SECRETS_MOUNT_PATH=/nonexistent",
        "-e",
        "MCP_OUTPUT_SCHEMAS=true",
        sys.executable,
        "-m",
        "devutils",
        "mcp",
    ]


def _inspect(target: list[str], era: str, call: list[str], home: Path) -> tuple[int, Any]:
    require_js(INSPECTOR)
    args = [str(INSPECTOR), "--cli", "--format", "json", "-q", "--protocol-era", era]
    done = run_js([*args, *target, "--method", "tools/call", *call], home)
    assert done.stdout.strip(), done.stderr
    return done.returncode, orjson.loads(done.stdout)


def _assert_validation_error(code: int, output: Any) -> None:
    assert code == TOOL_IS_ERROR_EXIT, output
    result = output["result"]
    assert result["isError"] is True
    assert "structuredContent" not in result
    first, second = result["content"]
    assert first["text"].startswith("VALIDATION_ERROR: Invalid request format (algorithm:")
    error = orjson.loads(second["text"])
    assert error["code"] == "VALIDATION_ERROR"
    assert "algorithm" in error["details"]


def _assert_md5(code: int, output: Any) -> None:
    assert code == 0, output
    result = output["result"]
    assert result.get("isError") in (None, False)
    expected = {"hash": "900150983cd24fb0d6963f7d28e17f72", "algorithm": "md5"}
    assert result["structuredContent"] == expected


@pytest.mark.parametrize("era", ERAS)
def test_inspector_over_stdio_shows_validation_error(era: str, tmp_path: Path) -> None:
    _assert_validation_error(*_inspect(_stdio_target(), era, BAD_CALL, tmp_path))


@pytest.mark.parametrize("era", ERAS)
def test_inspector_over_stdio_reads_a_result(era: str, tmp_path: Path) -> None:
    _assert_md5(*_inspect(_stdio_target(), era, GOOD_CALL, tmp_path))


@pytest.mark.parametrize("era", ERAS)
def test_inspector_over_http_shows_validation_error(
    server: ServerProcess, era: str, tmp_path: Path
) -> None:
    _assert_validation_error(*_inspect([f"{server.base}/mcp"], era, BAD_CALL, tmp_path))


@pytest.mark.parametrize("era", ERAS)
def test_inspector_over_http_reads_a_result(
    server: ServerProcess, era: str, tmp_path: Path
) -> None:
    _assert_md5(*_inspect([f"{server.base}/mcp"], era, GOOD_CALL, tmp_path))
