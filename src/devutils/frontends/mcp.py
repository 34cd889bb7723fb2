"""MCP front end (stdio and Streamable HTTP at /mcp), generated from the registry."""

from __future__ import annotations

import sys

from devutils.settings import Settings


def run_stdio(settings: Settings) -> int:
    print("devutils: MCP is not available in this build yet", file=sys.stderr)
    return 69
