"""The official MCP conformance suite's ``dns-rebinding-protection`` scenario, both spec versions.

The scenario sends an MCP request with a foreign ``Host``/``Origin`` (must be refused) and one
with ``Host: localhost:<port>`` and ``Origin: http://localhost:<port>`` (must be served; issue 14:
an empty allow-list refused every Origin).  It runs against a real server on 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.frontends.js_tools import CONFORMANCE, NODE22, require_js, run_js
from tests.support import ServerProcess, run_server


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    require_js(NODE22, CONFORMANCE)
    with run_server({"LOG_LEVEL": "warn", "RATE_LIMIT_ENABLED": "false"}) as running:
        yield running


@pytest.mark.parametrize("spec_version", ["2025-11-25", "2026-07-28"])
def test_dns_rebinding_scenario_passes(
    server: ServerProcess, spec_version: str, tmp_path: Path
) -> None:
    url = f"http://localhost:{server.port}/mcp"
    done = run_js(
        [
            str(NODE22),
            str(CONFORMANCE),
            "server",
            "--url",
            url,
            "--scenario",
            "dns-rebinding-protection",
            "--spec-version",
            spec_version,
        ],
        tmp_path,
    )
    output = done.stdout + done.stderr
    assert "localhost-host-rebinding-rejected" in output, output
    assert "localhost-host-valid-accepted" in output, output
    assert re.search(r"Passed: (\d+)/\1, 0 failed", output), output
    assert done.returncode == 0, output
