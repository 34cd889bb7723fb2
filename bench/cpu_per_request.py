"""Server CPU per request, pinned: the steadiest way to compare stacks on a noisy 2-core machine.

    .venv/bin/python -m bench.cpu_per_request --rounds 3 --stacks core,default,full,tracing0
    .venv/bin/python -m bench.cpu_per_request --stacks full,full429,noauth   # cost of refusals

``full429`` is the full stack with the crypto class at one request a minute (all but the first
answer 429); ``noauth`` is the full stack called without an API key (10 x 401, then the
failed-authentication class answers 429), what a key-guessing client costs.

The server runs on core 0 (``taskset -c 0``) and wrk on core 1 with one thread and 64
connections (``--connections``), so neither steals the other's CPU; the server's user+system CPU time over the run
divided by the requests answered is what one request costs it.  Stacks and their settings are
bench/load.py's (all but ``redis``); rounds alternate the stacks (bare app first), and the median of the rounds is
printed with the ratio against the bare app.  Complements bench/load.py (unpinned, the issues'
own method), whose ratios move by ±0.05 between runs.  ``--compare SRC`` alternates each stack
between another tree's ``src`` (via PYTHONPATH) and this checkout: an A/B within one run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

from bench.load import API_KEY, SCENARIOS, Scenario, _lua, free_port, stack_env, start

DURATION = 4


def _measure(
    cmd: list[str],
    env: dict[str, str],
    ready: str,
    url: str,
    scenario: Scenario,
    key: bool,
    connections: int,
) -> tuple[float, float]:
    """(requests/s, server CPU µs per request)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(scenario, {"X-API-Key": API_KEY} if key else {}))
    wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", "-s", script.name]
    try:
        with start(["taskset", "-c", "0", *cmd], env, ready) as proc:
            subprocess.run([*wrk, "-d1s", url], capture_output=True, check=True)  # warm-up
            before = sum(proc.cpu_times()[:2])
            out = subprocess.run(
                [*wrk, f"-d{DURATION}s", url], capture_output=True, text=True, check=True
            ).stdout
            spent = sum(proc.cpu_times()[:2]) - before
    finally:
        os.unlink(script.name)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match is not None, out
    rps = float(match.group(1))
    return rps, spent / (rps * DURATION) * 1e6


def measure_stack(
    stack: str, scenario: Scenario, pythonpath: str | None = None, connections: int = 64
) -> tuple[float, float]:
    """One run of ``stack`` (``bare`` for the bare app); ``pythonpath``: another tree's src."""
    port = free_port()
    extra = {} if pythonpath is None else {"PYTHONPATH": pythonpath}
    if stack == "bare":
        cmd = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
        bare = Scenario("bare", scenario.method, "/", scenario.body)
        base = f"http://127.0.0.1:{port}/"
        return _measure(cmd, {**os.environ, **extra}, base, base, bare, False, connections)
    env = stack_env("full" if stack == "noauth" else stack, None)
    env.update({"SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_WORKERS": "1"})
    env.update(extra)
    cmd = [sys.executable, "-m", "devutils", "serve"]
    key = stack not in ("core", "default", "noauth")
    ready = f"http://127.0.0.1:{port}/health/live"
    url = f"http://127.0.0.1:{port}{scenario.path}"
    return _measure(cmd, env, ready, url, scenario, key, connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stacks", default="core,default,full,tracing0")
    parser.add_argument("--scenario", default="hash_sha256", choices=[s.name for s in SCENARIOS])
    parser.add_argument(
        "--compare",
        metavar="SRC",
        help="another tree's src directory (git archive REV src | tar -x -C DIR): each stack "
        "is run from it and from this checkout in turn, and the CPU figures are compared",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="wrk's connection count (1: one request in flight, every request its own loop turn)",
    )
    args = parser.parse_args()
    scenario = next(s for s in SCENARIOS if s.name == args.scenario)
    stacks = ["bare", *args.stacks.split(",")]
    if "redis" in stacks:
        parser.error("the redis stack needs bench/load.py (it starts a redis-server)")
    trees: dict[str, str | None] = {"new": None}
    if args.compare:
        trees = {"old": args.compare, "new": None}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for stack in stacks:
            for tree, pythonpath in trees.items():
                run = measure_stack(stack, scenario, pythonpath, args.connections)
                results.setdefault((stack, tree), []).append(run)
    print(
        f"{scenario.name}, server on core 0, wrk -t1 -c{args.connections} on core 1, "
        f"median of {args.rounds}"
    )
    if args.compare:
        print(f"{'stack':<10} {'old µs/req':>11} {'new µs/req':>11} {'change':>7}")
        for stack in stacks:
            old = statistics.median(c for _, c in results[(stack, "old")])
            new = statistics.median(c for _, c in results[(stack, "new")])
            print(f"{stack:<10} {old:>11.1f} {new:>11.1f} {new - old:>+7.1f}")
        return 0
    bare_rps = statistics.median(rps for rps, _ in results[("bare", "new")])
    print(f"{'stack':<10} {'req/s':>8} {'ratio':>6} {'CPU µs/req':>11}")
    for stack in stacks:
        runs = results[(stack, "new")]
        rps = statistics.median(r for r, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{stack:<10} {rps:>8,.0f} {rps / bare_rps:>6.2f} {cpu:>11.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
