"""Cost of the Redis rate-limit store next to the memory store, in one run.

Runs the production stack (API-key auth, metrics, access log, limits too high to trigger) with the
memory store and with the Redis store, under wrk at 64 connections on ``hash_sha256``, and prints
requests/s, the ratio to the bare ASGI app and to the memory-store stack, p50/p99, how many checks
each Redis script call carried (checks are batched while a round trip is in flight) and whether
any check fell back because of a store error.

    .venv/bin/python bench/ratelimit_bench.py [--duration 5]

Reuses the server/wrk helpers of ``bench/load.py``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import urllib.request

import redis

from bench import load


def scrape(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for match in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.MULTILINE):
        total += float(match.group(1))
    return total


def evalsha_calls(url: str) -> int:
    stats = redis.Redis.from_url(url).info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def run(stack: str, duration: float, redis_url: str | None) -> dict[str, float]:
    scenario = next(s for s in load.SCENARIOS if s.name == "hash_sha256")
    port = load.free_port()
    env = load.stack_env("redis" if stack == "redis" else "full", redis_url)
    env.update(
        {
            "SERVER_HOST": "127.0.0.1",
            "SERVER_PORT": str(port),
            "SERVER_WORKERS": "1",
            "LOG_LEVEL": "info",
        }
    )
    headers = {"X-API-Key": load.API_KEY}
    cmd = [sys.executable, "-m", "devutils", "serve"]
    url = f"http://127.0.0.1:{port}{scenario.path}"
    with load.start(cmd, env, f"http://127.0.0.1:{port}/health/live"):
        load.wrk(url, scenario, headers, 1)
        calls_before = evalsha_calls(redis_url) if redis_url else 0
        result = load.wrk(url, scenario, headers, duration)
        calls = (evalsha_calls(redis_url) - calls_before) if redis_url else 0
        result["checks_per_call"] = result["rps"] * duration / calls if calls else 0.0
        result["store_errors"] = scrape(port, "rate_limit_store_errors_total")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("redis-server") is None:
        print("wrk and redis-server are required", file=sys.stderr)
        return 2
    hash_scenario = [s for s in load.SCENARIOS if s.name == "hash_sha256"]
    bare = load.run_bare(args.duration, hash_scenario)["bare_hash_sha256"]["rps"]
    memory = run("memory", args.duration, None)
    with load.redis_server() as url:
        shared = run("redis", args.duration, url)
    print(f"bare ASGI app POST: {bare:,.0f} req/s\n")
    print("| store | req/s | vs bare | vs memory | p50 ms | p99 ms | checks/script call | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in (("memory", memory), ("redis", shared)):
        print(
            f"| {name} | {result['rps']:,.0f} | {result['rps'] / bare:.2f} | "
            f"{result['rps'] / memory['rps']:.2f} | {result['p50']:.2f} | {result['p99']:.2f} | "
            f"{result['checks_per_call']:.1f} | {result['store_errors']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
