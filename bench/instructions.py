"""Instructions per request under valgrind (callgrind): a cost figure the machine's load cannot move.

    .venv/bin/python -m bench.instructions --stacks default,full,full429,noauth
    .venv/bin/python -m bench.instructions --stacks default --scenario health

CPU time per request (bench/cpu_per_request.py) moves by several µs when other processes share the
machine (caches, frequency, the scheduler).  This runs each server (the bare app first, then the
stacks of bench/load.py, one worker) under ``valgrind --tool=callgrind`` with instrumentation off
while it starts, switches it on for a fixed wrk run (``-t1 -c16``), and divides the instructions
the server executed by the requests wrk saw answered.  The counts repeat to well under 1 % between
runs, so a change of a few hundred instructions shows; they are not time (a system call or a cache
miss costs far more than an instruction), so changes are confirmed with cpu_per_request.py too.
Valgrind runs the server about 50 times slower: a row takes start-up (~30-60 s) plus the run.

"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.load import API_KEY, ROOT, SCENARIOS, Scenario, _lua, free_port, stack_env, wait_ready

SECONDS = 8
CONNECTIONS = 16


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], capture_output=True, check=True)


def measure(cmd: list[str], env: dict[str, str], ready: str, url: str, lua: str) -> tuple[int, int]:
    """(requests answered, instructions the server executed while answering them)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        script = Path(tmp) / "load.lua"
        script.write_text(lua)
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        proc = subprocess.Popen(
            [*valgrind, f"--callgrind-out-file={out}", *cmd],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        try:
            wait_ready(ready, timeout=300)
            wrk = ["wrk", "-t1", f"-c{CONNECTIONS}", "-s", str(script)]
            subprocess.run([*wrk, "-d2s", url], capture_output=True, check=True)  # warm-up
            pid = str(proc.pid)
            _control("-i", "on", pid)
            text = subprocess.run(
                [*wrk, f"-d{SECONDS}s", url], capture_output=True, text=True, check=True
            ).stdout
            _control("-i", "off", pid)
            _control("-d", pid)
        finally:
            proc.terminate()
            proc.wait(60)
        dumps = sorted(Path(tmp).glob("callgrind.out.*"))
        totals = re.search(r"^totals:\s+(\d+)", dumps[0].read_text(), re.MULTILINE)
        requests = re.search(r"(\d+) requests in", text)
        assert totals is not None, dumps
        assert requests is not None, text
        return int(requests.group(1)), int(totals.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="default,full")
    parser.add_argument("--scenario", default="hash_sha256", choices=[s.name for s in SCENARIOS])
    args = parser.parse_args()
    scenario = next(s for s in SCENARIOS if s.name == args.scenario)
    rows: list[tuple[str, int, int]] = []
    for stack in ["bare", *args.stacks.split(",")]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        if stack == "bare":
            cmd = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
            lua = _lua(Scenario("bare", scenario.method, "/", scenario.body), {})
            requests, instructions = measure(cmd, dict(os.environ), f"{base}/", f"{base}/", lua)
        else:
            env = stack_env("full" if stack == "noauth" else stack, None)
            env.update(
                {"SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_WORKERS": "1"}
            )
            key = stack not in ("core", "default", "noauth")
            lua = _lua(scenario, {"X-API-Key": API_KEY} if key else {})
            cmd = [sys.executable, "-m", "devutils", "serve"]
            ready = f"{base}/health/live"
            requests, instructions = measure(cmd, env, ready, base + scenario.path, lua)
        rows.append((stack, requests, instructions))
        print(
            f"{stack}: {requests} requests, {instructions / requests:,.0f} instr/request",
            flush=True,
        )
    bare = rows[0][2] / rows[0][1]
    print(f"{scenario.name}, callgrind, wrk -t1 -c{CONNECTIONS} -d{SECONDS}s")
    print(f"{'stack':<10} {'instr/request':>14} {'ratio':>6}")
    for stack, requests, instructions in rows:
        per = instructions / requests
        print(f"{stack:<10} {per:>14,.0f} {bare / per:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
