"""HTTP load benchmark: dev-utilities against a bare ASGI app, as ratios measured in one run.

Starts each server as a real process on 127.0.0.1 (our server: uvloop, httptools), loads it with
wrk and prints requests/s, p50, p99, the ratio against the bare app run the same way in the same
run, and the server's peak RSS.  Modes (issue 13, item 5): ``machine`` = the whole machine, both
servers with two workers, wrk -t2 -c64, nothing pinned; ``core`` = one worker pinned to core 0,
wrk -t1 pinned to core 1; ``single`` = one worker unpinned (the method up to the sixth session).

    .venv/bin/python -m bench.load --stacks default,full     # machine and core modes
    .venv/bin/python -m bench.load --modes single --stacks core,full,tracing0,tracing100,redis

Stacks: ``core`` = the core issue's layers only (request id, security headers, body limit, error
envelope; metrics, access log and rate limits off); ``default`` = out-of-the-box settings with rate
limiting off (metrics and access log on); ``full`` = API-key auth + memory rate limiting
(limits high enough never to trigger) + metrics + access log, tracing off; ``tracing0`` / ``tracing100``
= full + tracing at sample rate 0 / 1 (console exporter to /dev/null); ``redis`` = full with the
Redis rate-limit store (a redis-server is started on a free port).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key-0123456789abcdef"


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    body: bytes | None = None
    connections: int = 64


@dataclass(frozen=True)
class Mode:
    """How the machine is shared: both servers (bare app and service) run the same way."""

    name: str
    workers: int
    server_cpus: str | None  # taskset list for the server, None: unpinned
    wrk_cpus: str | None
    wrk_threads: int


MODES = {
    # Issue 13's "whole machine": two workers, wrk -t2 -c64, nothing pinned.
    "machine": Mode("machine", 2, None, None, 2),
    # Per core: one worker pinned to core 0, wrk (one thread) pinned to core 1.
    "core": Mode("core", 1, "0", "1", 1),
    # Up to the sixth session: one worker, wrk -t2 -c64, nothing pinned.
    "single": Mode("single", 1, None, None, 2),
}


def pinned(cpus: str | None, cmd: list[str]) -> list[str]:
    return cmd if cpus is None else ["taskset", "-c", cpus, *cmd]


SCENARIOS = (
    Scenario("health", "GET", "/health"),
    Scenario(
        "hash_sha256",
        "POST",
        "/api/v1/crypto/hash",
        orjson.dumps({"content": "hello world", "algorithm": "sha256"}),
    ),
    Scenario(
        "base64_1k",
        "POST",
        "/api/v1/transform/base64",
        orjson.dumps({"content": base64.b64encode(os.urandom(768)).decode(), "action": "encode"}),
    ),
    Scenario(
        "case_camel",
        "POST",
        "/api/v1/text/case",
        orjson.dumps({"content": "hello big wide world", "caseType": "camelCase"}),
    ),
    Scenario("uuid", "POST", "/api/v1/id/uuid", orjson.dumps({"version": 4})),
    Scenario(
        "argon2_c4",
        "POST",
        "/api/v1/crypto/password/hash",
        orjson.dumps({"password": "correct horse"}),
        4,
    ),
    Scenario(
        "argon2_c16",
        "POST",
        "/api/v1/crypto/password/hash",
        orjson.dumps({"password": "correct horse"}),
        16,
    ),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1):
            return
        time.sleep(0.05)
    raise TimeoutError(url)


@contextlib.contextmanager
def start(cmd: list[str], env: dict[str, str], ready_url: str) -> Iterator[psutil.Process]:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    try:
        wait_ready(ready_url)
        yield psutil.Process(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throw-away redis-server on a free port: the tests' launcher (it waits until the server
    accepts connections), from a checkout with the test dependencies installed."""
    from tests.support import run_redis

    with run_redis() as server:
        yield server.url


class PeakRss:
    """Samples the process tree's RSS every 50 ms while a run lasts."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                rss = self.process.memory_info().rss + sum(
                    child.memory_info().rss for child in self.process.children(recursive=True)
                )
                self.peak = max(self.peak, rss)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _lua(scenario: Scenario, headers: dict[str, str]) -> str:
    lines = [f'wrk.method = "{scenario.method}"']
    if scenario.body is not None:
        lines.append(f"wrk.body = [==[{scenario.body.decode()}]==]")
        headers = {**headers, "Content-Type": "application/json"}
    lines += [f'wrk.headers["{key}"] = "{value}"' for key, value in headers.items()]
    return "\n".join(lines) + "\n"


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    url: str,
    scenario: Scenario,
    headers: dict[str, str],
    duration: float,
    mode: Mode = MODES["single"],
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(scenario, headers))
    threads = min(mode.wrk_threads, scenario.connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{scenario.connections}",
        f"-d{int(duration)}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        script.name,
        url,
    ]
    out = subprocess.run(
        pinned(mode.wrk_cpus, cmd), capture_output=True, text=True, check=True
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def stack_env(stack: str, redis_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUTH_", "RATE_LIMIT_", "TRACING_"))
    }
    env.update({"SECRETS_MOUNT_PATH": "/nonexistent", "LOG_LEVEL": "info"})
    if stack == "core":
        # The core issue's own layers: request id, security headers, limits, error envelope.
        # Metrics and the access log (issue 6) off; errors still logged at WARNING.
        env.update({"RATE_LIMIT_ENABLED": "false", "METRICS_ENABLED": "false", "LOG_LEVEL": "warn"})
        return env
    if stack == "default":
        # Out of the box, with rate limiting off so the benchmark is not refused.
        env["RATE_LIMIT_ENABLED"] = "false"
        return env
    high = "100000000"
    env.update(
        {
            "AUTH_METHOD": "api_key",
            "AUTH_API_KEYS": API_KEY,
            "RATE_LIMIT_ENABLED": "true",
            "RATE_LIMIT_AUTHENTICATED_PER_MINUTE": high,
            "RATE_LIMIT_AUTHENTICATED_BURST": high,
            "RATE_LIMIT_ANONYMOUS_PER_MINUTE": high,
            "RATE_LIMIT_ANONYMOUS_BURST": high,
            "RATE_LIMIT_CRYPTO_PER_MINUTE": high,
            "RATE_LIMIT_CRYPTO_BURST": high,
            "RATE_LIMIT_NETWORK_PER_MINUTE": high,
            "RATE_LIMIT_NETWORK_BURST": high,
        }
    )
    if stack.startswith("tracing"):
        env.update(
            {
                "TRACING_ENABLED": "true",
                "TRACING_EXPORTER": "console",
                "TRACING_SAMPLE_RATE": "0" if stack == "tracing0" else "1",
            }
        )
    if stack == "full429":
        # Refusals: the full stack with the crypto class at 1 request a minute, so all but the
        # first answer 429 (issue 13: a refusal should cost a fraction of a served call).
        env.update({"RATE_LIMIT_CRYPTO_PER_MINUTE": "1", "RATE_LIMIT_CRYPTO_BURST": "1"})
    if stack == "redis":
        assert redis_url
        env.update({"RATE_LIMIT_STORE": "redis", "RATE_LIMIT_REDIS_URL": redis_url})
    return env


def run_stack(
    stack: str, scenarios: list[Scenario], duration: float, redis_url: str | None, mode: Mode
) -> dict[str, dict[str, float]]:
    port = free_port()
    env = stack_env(stack, redis_url)
    # The bare app's worker count: the ratio compares request paths, not process counts.
    env.update(
        {"SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_WORKERS": str(mode.workers)}
    )
    headers = {} if stack in ("core", "default") else {"X-API-Key": API_KEY}
    results: dict[str, dict[str, float]] = {}
    cmd = pinned(mode.server_cpus, [sys.executable, "-m", "devutils", "serve"])
    with start(cmd, env, f"http://127.0.0.1:{port}/health/live") as proc:
        for scenario in scenarios:
            url = f"http://127.0.0.1:{port}{scenario.path}"
            wrk(url, scenario, headers, 1, mode)  # warm-up
            with PeakRss(proc) as rss:
                result = wrk(url, scenario, headers, duration, mode)
            result["rss_mib"] = rss.peak / 2**20
            results[scenario.name] = result
    return results


def bare_command(server: str, port: int, workers: int) -> list[str]:
    """The bare app on our server, or on uvicorn (uvloop + httptools, its fastest documented
    setting): the baseline issue 13 was measured against, kept as a second reference."""
    if server == "ours":
        return [sys.executable, "-m", "bench.bare_app", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers)]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http",
            "httptools", "--no-access-log", "--log-level", "warning"]  # fmt: skip


def run_bare(
    duration: float, scenarios: list[Scenario], mode: Mode = MODES["single"], server: str = "ours"
) -> dict[str, dict[str, float]]:
    """The bare app under the same requests: a GET, and each POST scenario's own body (so a
    1 KiB request is compared with reading a 1 KiB request)."""
    port = free_port()
    cmd = pinned(mode.server_cpus, bare_command(server, port, mode.workers))
    results = {}
    with start(cmd, dict(os.environ), f"http://127.0.0.1:{port}/") as proc:
        plan = [("bare_get", Scenario("bare_get", "GET", "/"))]
        plan += [
            (f"bare_{s.name}", Scenario(f"bare_{s.name}", "POST", "/", s.body, s.connections))
            for s in scenarios
            if s.method == "POST"
        ]
        for name, scenario in plan:
            wrk(f"http://127.0.0.1:{port}/", scenario, {}, 1, mode)
            with PeakRss(proc) as rss:
                result = wrk(f"http://127.0.0.1:{port}/", scenario, {}, duration, mode)
            result["rss_mib"] = rss.peak / 2**20
            results[name] = result
    return results


def run_mode(
    mode: Mode, stacks: list[str], scenarios: list[Scenario], duration: float, uvicorn: bool = False
) -> dict[str, object]:
    """The bare app, then each stack, run the same way; prints the table of ratios."""
    bare = run_bare(duration, scenarios, mode)
    on_uvicorn = run_bare(duration, scenarios, mode, "uvicorn") if uvicorn else None
    base_rps = bare["bare_get"]["rps"]
    post = bare.get("bare_hash_sha256") or next(
        (value for key, value in bare.items() if key != "bare_get"), bare["bare_get"]
    )
    print(
        f"\n{mode.name}: {mode.workers} worker(s), server CPUs {mode.server_cpus or 'any'}, "
        f"wrk -t{mode.wrk_threads} on CPUs {mode.wrk_cpus or 'any'}"
    )
    print(
        f"bare ASGI app: GET {base_rps:,.0f} req/s (p99 {bare['bare_get']['p99']:.2f} ms), "
        f"POST (hash body) {post['rps']:,.0f} req/s (p99 {post['p99']:.2f} ms)"
    )
    if on_uvicorn is not None:
        print(f"bare ASGI app on uvicorn: GET {on_uvicorn['bare_get']['rps']:,.0f} req/s")
    print()
    extra = " vs bare on uvicorn |" if on_uvicorn is not None else ""
    print(
        "| stack | scenario | conns | req/s | ratio vs bare | p50 ms | p99 ms | non-2xx | "
        f"peak RSS MiB |{extra}"
    )
    print("|---|---|---|---|---|---|---|---|---|" + ("---|" if extra else ""))
    raw: dict[str, object] = {"bare": bare, "bare_uvicorn": on_uvicorn}
    for stack in stacks:
        redis_ctx = redis_server() if stack == "redis" else contextlib.nullcontext(None)
        with redis_ctx as redis_url:
            results = run_stack(stack, scenarios, duration, redis_url, mode)
        raw[stack] = results
        for scenario in scenarios:
            r = results[scenario.name]
            # Compare like with like: GET against the bare GET, each POST against the bare app
            # reading the same request body.
            key = "bare_get" if scenario.method == "GET" else f"bare_{scenario.name}"
            ratio = r["rps"] / bare[key]["rps"]
            also = f" {r['rps'] / on_uvicorn[key]['rps']:.2f} |" if on_uvicorn is not None else ""
            print(
                f"| {stack} | {scenario.name} | {scenario.connections} | {r['rps']:,.0f} | {ratio:.2f} | "
                f"{r['p50']:.2f} | {r['p99']:.2f} | {r['non2xx']:.0f} | {r['rss_mib']:.0f} |{also}",
                flush=True,
            )
    return raw


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument(
        "--stacks",
        default="core",
        help="comma list: core,default,full,tracing0,tracing100,redis",
    )
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument(
        "--modes",
        default="machine,core",
        help="comma list: machine (2 workers, wrk -t2, unpinned), core (1 worker on core 0, wrk -t1 on core 1)",
    )
    parser.add_argument("--json", action="store_true", help="also print raw results as JSON")
    parser.add_argument(
        "--also-uvicorn",
        action="store_true",
        help="also measure the bare app on uvicorn (the server issue 13 was measured on)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is required (apt-get install wrk)", file=sys.stderr)
        return 2
    wanted = set(args.scenarios.split(","))
    scenarios = [s for s in SCENARIOS if s.name in wanted]
    raw: dict[str, object] = {}
    for mode_name in args.modes.split(","):
        raw[mode_name] = run_mode(
            MODES[mode_name], args.stacks.split(","), scenarios, args.duration, args.also_uvicorn
        )
    if args.json:
        print(orjson.dumps(raw, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
