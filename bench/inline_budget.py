"""Where the inline budget (INLINE_MAX_WORK) comes from: tool time on the loop vs a pool hop.

    .venv/bin/python -m bench.inline_budget

For each input-proportional tool, the time one call takes on the event loop at growing input
sizes (its work estimate printed next to it), and the round trip of the same call through a warm
pool process.  The budget is the size below which running inline stalls the loop for well under
a millisecond and costs less than the hop; above it, the hop is cheap next to the work.  Also
prints the resident size of an idle pool process (VmRSS after one call), the figure the memory
budget of the pools is built from.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from devutils.registry import Registry, ToolSpec
from devutils.settings import load_settings

SIZES = (1024, 4096, 16384, 65536)


def _args(name: str, size: int) -> dict[str, Any]:
    text = ("hello world, " * (size // 13 + 1))[:size]
    if name == "text_case":
        return {"content": text, "caseType": "camelCase"}
    if name == "data_json_format":
        items = max(1, size // 12)
        return {"content": "[" + ",".join(['{"a":[1,2]}'] * items) + "]", "action": "format"}
    if name == "transform_base64":
        return {"content": text, "action": "encode"}
    if name == "transform_compress":
        return {"content": text, "action": "compress", "algorithm": "gzip"}
    if name == "text_regex":
        return {"content": text, "pattern": r"(\w+)\s(\w+)"}
    raise KeyError(name)


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def _inline(registry: Registry, spec: ToolSpec, args: dict[str, Any], rounds: int) -> float:
    parsed = registry.parse(spec, args)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        spec.func(parsed, registry.context)
        samples.append(time.perf_counter() - started)
    return _median_us(samples)


async def _pooled(registry: Registry, spec: ToolSpec, args: dict[str, Any], rounds: int) -> float:
    parsed = registry.parse(spec, args)
    pool = registry.executors.pool(spec.cost_class)
    await pool.run(spec, parsed, time.monotonic() + 30)  # warm: process started, module imported
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await pool.run(spec, parsed, time.monotonic() + 30)
        samples.append(time.perf_counter() - started)
    return _median_us(samples)


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def main() -> None:
    registry = Registry.default(load_settings({"SECRETS_MOUNT_PATH": "/nonexistent"}))
    names = (
        "text_case",
        "data_json_format",
        "transform_base64",
        "transform_compress",
        "text_regex",
    )
    print(f"{'tool':<20} {'bytes':>6} {'estimate':>9} {'inline µs':>10} {'pool µs':>8}")
    try:
        for name in names:
            spec = registry.get(name)
            assert spec is not None
            for size in SIZES:
                args = _args(name, size)
                parsed = registry.parse(spec, args)
                estimate = spec.estimate(parsed) if spec.estimate else size
                inline = _inline(registry, spec, args, 30)
                pooled = await _pooled(registry, spec, args, 30)
                print(f"{name:<20} {size:>6} {estimate:>9} {inline:>10.0f} {pooled:>8.0f}")
        for cost, pool in registry.executors.pools.items():
            sizes = ", ".join(f"{_rss_mib(pid):.1f}" for pid in pool.pids())
            print(f"pool {cost}: RSS of each idle process after its calls (MiB): {sizes}")
    finally:
        registry.close()


if __name__ == "__main__":
    asyncio.run(main())
