"""Bytes an agent downloads for ``tools/list``: the whole catalogue and each MCP toolset.

    .venv/bin/python -m bench.mcp_catalogue

Measured through the official MCP client in process (the same JSON a client receives, compact),
for no toolset (everything), every family and every preset.  The budget for the whole catalogue
is 45,000 bytes (issues #15 and #16; tests/frontends/test_mcp_catalogue.py enforces it).
"""

from __future__ import annotations

import asyncio

import orjson
from mcp import Client

from devutils.frontends.mcp import build_server
from devutils.frontends.toolsets import PRESETS
from devutils.registry import Registry
from devutils.settings import Settings


async def listing_bytes(registry: Registry, toolsets: str) -> tuple[int, int]:
    settings = Settings.model_validate({"MCP_TOOLSETS": toolsets})
    async with Client(build_server(registry, settings)) as mcp:
        tools = (await mcp.list_tools()).tools
    wire = orjson.dumps(
        [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]
    )
    return len(tools), len(wire)


async def main() -> None:
    registry = Registry.default(Settings())
    families = sorted({spec.family for spec in registry})
    print(f"{'toolset':<14} {'tools':>5} {'bytes':>7}")
    for toolset in ["", *sorted(PRESETS), *families]:
        count, size = await listing_bytes(registry, toolset)
        print(f"{toolset or '(all)':<14} {count:>5} {size:>7}")


if __name__ == "__main__":
    asyncio.run(main())
