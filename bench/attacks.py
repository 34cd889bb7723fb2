"""The attacks of issue #13 against a server started as the pod runs it; prints what they did.

    .venv/bin/python -m bench.attacks [--only regex-freeze,json-nesting,...] [--set NAME=VALUE]

The server gets the shipped ConfigMap's settings (deploy/k8s/base/configmap.yaml: API keys, rate
limits on, Argon2 2 x 64 MiB) and the deployment's worker count (one, from its 500m CPU limit),
and is run like the container (``devutils serve``); ``--set NAME=VALUE`` changes a setting.  For each
attack: the status codes the attacker got, ``/health/live`` latency percentiles while it ran (a
probe every 50 ms), the peak RSS of the server and its pool processes (sampled every 50 ms) and
the RSS after it, and for the starvation attack how long the other tool classes took to answer.
Each attack is a few seconds of machine time.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from bench.load import PeakRss, free_port, start

API_KEY = "bench-attack-key-0123456789abcdef"
SHIPPED = {
    "LOG_LEVEL": "error",
    "AUTH_METHOD": "api_key",
    "AUTH_API_KEYS": API_KEY,
    "SECRETS_MOUNT_PATH": "/nonexistent",
    "RATE_LIMIT_STORE": "memory",
    "ARGON_MEMORY": "65536",
    "ARGON_MAX_CONCURRENCY": "2",
    "MCP_ALLOWED_HOSTS": "127.0.0.1:*",
    # What `serve` derives from the deployment's CPU limit (500m): one worker, and one process per
    # pool class.  On this host it would derive them from the host's CPUs instead.
    # `--set SERVER_WORKERS=2 --set POOL_CPU_WORKERS=1 ...` shows another pod size.
    "SERVER_WORKERS": "1",
    "POOL_CPU_WORKERS": "1",
    "POOL_REGEX_WORKERS": "1",
}
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
CGROUP_V2 = Path("/sys/fs/cgroup")


@contextlib.contextmanager
def cpu_quota(cpus: float | None) -> Iterator[list[str]]:
    """A command prefix that runs the server in a fresh cgroup with a CFS quota of ``cpus``, as
    the pod's CPU limit throttles it (root only); an empty prefix for None."""
    if cpus is None:
        yield []
        return
    period = 100_000
    quota = int(cpus * period)
    if (CGROUP_V1 / "cpu.cfs_quota_us").exists():
        group = CGROUP_V1 / f"devutils-bench-{os.getpid()}"
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text(str(period))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
    else:
        group = CGROUP_V2 / f"devutils-bench-{os.getpid()}"
        group.mkdir()
        (group / "cpu.max").write_text(f"{quota} {period}")
    try:
        yield ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh"]
    finally:
        for _ in range(50):  # the server's processes leave the group as they exit
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


MIB = 1024 * 1024


def _request(base: str, path: str, body: Any, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY, **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            payload = json.loads(response.read())
            status = response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # no answer at all
    if path == "/mcp" and payload.get("result", {}).get("isError"):
        # MCP tool errors are text, "<CODE>: <message>" (docs/api-deltas.md D10).
        code = str(payload["result"]["content"][0]["text"]).partition(":")[0]
        return {"REQUEST_TOO_LARGE": 413, "TIMEOUT": 504, "SERVICE_UNAVAILABLE": 503}.get(code, 400)
    return int(status)


def _mcp(name: str, arguments: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
    }
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": meta},
    }
    return headers, body


class Probe:
    def __init__(self, base: str) -> None:
        self.url = base + "/health/live"
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=30):
                    pass
                self.latencies.append(time.perf_counter() - started)
            except OSError:
                self.latencies.append(float("inf"))
            self._stop.wait(0.05)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        ms = sorted(value * 1000 for value in self.latencies)
        if not ms:
            return "no probes"
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms ({len(ms)} probes)"


def _rss_mib(process: psutil.Process, children: bool = True) -> float:
    total = process.memory_info().rss
    if not children:
        return total / MIB
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / MIB


Attack = Callable[[str], dict[str, Any]]


def _flood(base: str, calls: list[tuple[str, Any, dict[str, str] | None]]) -> list[int]:
    with ThreadPoolExecutor(len(calls)) as executor:
        return list(executor.map(lambda call: _request(base, *call), calls))


def regex_freeze(base: str) -> dict[str, Any]:
    # Issue #13 attack 1 verbatim (499 groups: refused by REGEX_MAX_GROUPS), then the heaviest
    # pattern the shipped limit lets through, three at once.
    verbatim = {"content": "a" * 60_000, "pattern": "(" * 499 + ".*" + ")" * 499, "flags": "s"}
    allowed = {"content": "a" * 300_000, "pattern": "(" * 100 + ".*" + ")" * 100, "flags": "s"}
    calls: list[tuple[str, Any, dict[str, str] | None]] = [("/api/v1/text/regex", verbatim, None)]
    calls += [("/api/v1/text/regex", allowed, None)] * 3
    return {"statuses": _flood(base, calls)}


def json_nesting(base: str) -> dict[str, Any]:
    # Issue #13 attack 2: 400 arrays nested 255 deep (204 KB) and a 511 KB variant, indent 8.
    small = "[" + ",".join(["[" * 254 + "]" * 254] * 400) + "]"
    large = "[" + ",".join(["[" * 254 + "]" * 254] * 1000) + "]"
    calls: list[tuple[str, Any, dict[str, str] | None]] = [
        ("/api/v1/data/json/format", {"content": doc, "action": "format", "indent": 8}, None)
        for doc in (small, large)
    ]
    return {"statuses": _flood(base, calls)}


def regex_amplification(base: str) -> dict[str, Any]:
    # Issue #13 attack 3: ~1 MiB in, nested groups repeating the match; REST and 4 MCP at once.
    args = {"content": "a" * 1_000_000, "pattern": "(" * 20 + "a+" + ")" * 20}
    headers, body = _mcp("text_regex", args)
    calls: list[tuple[str, Any, dict[str, str] | None]] = [("/api/v1/text/regex", args, None)]
    calls += [("/mcp", body, headers)] * 4
    return {"statuses": _flood(base, calls)}


def timeout_starvation(base: str) -> dict[str, Any]:
    # Issue #13 attack 4: six calls past their deadline at once, then the other classes.
    slow = {"content": "a" * 1_000_000, "pattern": "(" * 100 + ".*" + ")" * 100, "flags": "s"}
    others: dict[str, Any] = {
        "/api/v1/network/dns": {"domain": "localhost", "recordType": "A"},
        "/api/v1/text/case": {"content": "hello world", "caseType": "UPPERCASE"},
        "/api/v1/crypto/hash": {"content": "x" * 1024, "algorithm": "sha256"},
        "/api/v1/crypto/password/hash": {"password": "correct horse battery staple"},
    }
    with ThreadPoolExecutor(6) as attackers:
        attacks = [attackers.submit(_request, base, "/api/v1/text/regex", slow) for _ in range(6)]
        time.sleep(0.5)
        answered = {}
        for path, body in others.items():
            started = time.perf_counter()
            status = _request(base, path, body)
            answered[path.removeprefix("/api/v1/")] = (
                f"{status} in {time.perf_counter() - started:.2f} s"
            )
        statuses = [future.result() for future in attacks]
    return {"statuses": statuses, "others": answered}


ATTACKS: dict[str, tuple[Attack, dict[str, str]]] = {
    "regex-freeze": (regex_freeze, {}),
    "json-nesting": (json_nesting, {}),
    "regex-amplification": (regex_amplification, {}),
    # The shipped 10 s deadline is longer than any regex the limits allow: 2 s makes calls pass it.
    "timeout-starvation": (timeout_starvation, {"TOOL_TIMEOUT": "2"}),
}


def run(
    name: str, attack: Attack, extra: dict[str, str], override: dict[str, str], prefix: list[str]
) -> None:
    port = free_port()
    env = {**SHIPPED, **extra, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port)}
    env.update(override)
    env["PATH"] = "/usr/bin:/bin"
    base = f"http://127.0.0.1:{port}"
    cmd = [*prefix, sys.executable, "-m", "devutils", "serve"]
    with start(cmd, env, base + "/health/live") as process:
        idle = _rss_mib(process)
        idle_server = _rss_mib(process, children=False)
        with PeakRss(process) as peak, Probe(base) as probe:
            started = time.perf_counter()
            outcome = attack(base)
            seconds = time.perf_counter() - started
        time.sleep(1.0)
        after = _rss_mib(process)
        server_after = _rss_mib(process, children=False)
        server_idle = idle_server
    counts: dict[int, int] = dict(sorted(collections.Counter(outcome["statuses"]).items()))
    print(f"== {name}  ({seconds:.1f} s; settings: shipped{' + ' + str(extra) if extra else ''})")
    print(f"   attacker got:     {counts}")
    print(f"   /health/live:     {probe.summary()}")
    print(
        f"   RSS server+pools: idle {idle:.0f} MiB, peak {peak.peak / MIB:.0f} MiB, "
        f"1 s after {after:.0f} MiB (server alone: idle {server_idle:.0f}, after "
        f"{server_after:.0f} MiB)"
    )
    if "others" in outcome:
        print(f"   other classes:    {outcome['others']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ATTACKS))
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--cpu-quota",
        type=float,
        metavar="CPUS",
        help="run the server in a cgroup with this CPU quota, like the pod's limit (root; 0.5)",
    )
    args = parser.parse_args()
    override = dict(item.split("=", 1) for item in args.set)
    if args.cpu_quota is not None:
        print(f"server throttled to {args.cpu_quota:g} CPU (cgroup CFS quota)")
    with cpu_quota(args.cpu_quota) as prefix:
        for name in args.only.split(","):
            attack, extra = ATTACKS[name]
            run(name, attack, extra, override, prefix)


if __name__ == "__main__":
    main()
