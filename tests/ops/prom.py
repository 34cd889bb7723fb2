"""A real Prometheus server (Debian's package) on loopback, and a fake cAdvisor exporter."""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import psutil
import yaml

from tests.ops.tooling import require_tool
from tests.support import free_port, wait_for_http

T = TypeVar("T")


@dataclass
class Prometheus:
    base: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def alert_states(self) -> dict[str, set[str]]:
        states: dict[str, set[str]] = {}
        for alert in self.api("alerts")["alerts"]:
            states.setdefault(alert["labels"]["alertname"], set()).add(alert["state"])
        return states

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.25)


@contextlib.contextmanager
def run_prometheus(
    scrape_configs: list[dict[str, Any]], rule_files: list[Path]
) -> Iterator[Prometheus]:
    """Prometheus scraping and evaluating every second, data in a temporary directory."""
    binary = require_tool("prometheus", "REQUIRE_PROMETHEUS")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="devutils-prometheus-") as tmp:
        config = {
            "global": {
                "scrape_interval": "1s",
                "evaluation_interval": "1s",
                "scrape_timeout": "900ms",
            },
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": scrape_configs,
        }
        config_path = Path(tmp) / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        log_path = Path(tmp) / "prometheus.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={tmp}/data",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--web.enable-lifecycle",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            server = Prometheus(f"http://127.0.0.1:{port}", proc, log_path)
            try:
                wait_for_http(f"{server.base}/-/ready", timeout=30, proc=proc)
                yield server
            finally:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextlib.contextmanager
def fake_cadvisor(pid: int, memory_limit_ratio: float) -> Iterator[str]:
    """A stand-in for the kubelet's cAdvisor endpoint (not present outside a cluster).

    It reports the REAL resident memory and CPU time of process ``pid`` as the container's
    ``container_memory_usage_bytes`` and ``container_cpu_usage_seconds_total``, and a simulated
    ``container_spec_memory_limit_bytes`` of usage / ``memory_limit_ratio``, i.e. a container whose
    limit is tight, so the runbook's memory expression has something to evaluate and alert on.
    """
    process = psutil.Process(pid)
    labels = 'namespace="default",pod="dev-utilities-live",container="dev-utilities"'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            rss = process.memory_info().rss
            cpu = process.cpu_times()
            body = (
                "# TYPE container_memory_usage_bytes gauge\n"
                f"container_memory_usage_bytes{{{labels}}} {rss}\n"
                "# TYPE container_spec_memory_limit_bytes gauge\n"
                f"container_spec_memory_limit_bytes{{{labels}}} {int(rss / memory_limit_ratio)}\n"
                "# TYPE container_cpu_usage_seconds_total counter\n"
                f"container_cpu_usage_seconds_total{{{labels}}} {cpu.user + cpu.system}\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
