"""The runbook's alert and dashboard expressions, evaluated by a real Prometheus server.

Prometheus scrapes a real ``devutils serve`` process every second (with METRICS_REQUIRE_AUTH and a
bearer key in the scrape config, the setup docs/operations describes), traffic is generated, and
each expression must evaluate without error and, where the traffic makes it so, return data.
The ``container_*`` expressions (HighMemoryUsage, HighCPUUsage) read cAdvisor's metrics from the
kubelet, not ours, so they are not evaluated here.  A 5xx cannot be caused on purpose, so the
HighErrorRate expression is checked to evaluate (to an empty, not-firing result), and its
denominator to carry data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.middleware.raw_http import raw_request
from tests.support import ServerProcess, free_port, run_server, wait_for_http

KEY = "promql-test-key-" + "c" * 24
ALERTS = {
    "HighErrorRate": 'rate(http_requests_total{status_code=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05',
    "ServiceDown": 'up{job="dev-utilities"} == 0',
    "HighResponseTime": "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 1",
    "AuthenticationFailures": "rate(auth_failures_total[5m]) > 10",
    "SSRFAttempts": "rate(ssrf_blocks_total[5m]) > 5",
    "UnusualTraffic": "rate(http_requests_total[5m]) > 1000",
}
# Expressions that must return data after the traffic below (application metrics, dashboards).
POPULATED = {
    "request rate": "rate(http_requests_total[5m]) > 0",
    "up": 'up{job="dev-utilities"} == 1',
    "p95 latency": "histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))",
    "error rate by endpoint": 'sum by (route) (rate(http_requests_total{status_code=~"4.."}[5m])) > 0',
    "auth failures": 'rate(auth_failures_total{reason="invalid_key"}[5m]) > 0',
    "ssrf blocks": "ssrf_blocks_total",
    "rate limit hits": "rate_limit_hits_total",
    "crypto operations": 'crypto_operations_total{operation="hash",status="success"}',
    "top endpoints": "topk(5, sum by (route) (rate(http_requests_total[5m])))",
    "geography": 'http_requests_by_country_total{country="DE"}',
    "memory": "process_resident_memory_bytes",
    "build": "devutils_build_info",
}


def require_prometheus() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("REQUIRE_PROMETHEUS"):
            pytest.fail("prometheus is required (REQUIRE_PROMETHEUS is set) but not installed")
        pytest.skip("prometheus not installed")
    return binary


@contextlib.contextmanager
def run_prometheus(target_port: int) -> Iterator[str]:
    binary = require_prometheus()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="devutils-prom-") as workdir:
        config = Path(workdir, "prometheus.yml")
        config.write_text(
            "global: {scrape_interval: 500ms, scrape_timeout: 400ms, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: dev-utilities\n"
            f"    authorization: {{type: Bearer, credentials: {KEY}}}\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
        )
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir}/data",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/-/ready", timeout=30, proc=proc)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def query(base: str, expression: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", (expression, body)
    assert body["data"]["resultType"] == "vector"
    return list(body["data"]["result"])


def traffic(server: ServerProcess) -> None:
    port = server.port
    auth = [f"X-API-Key: {KEY}", "X-Country: de"]
    for _ in range(4):
        assert raw_request(
            port, "POST", "/api/v1/crypto/hash", auth, b'{"content":"a","algorithm":"sha256"}'
        ).status in (200, 429)
        assert (
            raw_request(
                port,
                "POST",
                "/api/v1/text/case",
                auth,
                b'{"text":"hello world","caseType":"UPPERCASE"}',
            ).status
            == 200
        )
        assert raw_request(port, "GET", "/api/v1/nope", auth).status == 404
        assert raw_request(port, "GET", "/api/v1/status", ["X-API-Key: wrong"]).status == 401
    blocked = raw_request(
        port, "POST", "/api/v1/network/headers", auth, b'{"url":"http://127.0.0.1:1/"}'
    )
    assert blocked.status in (403, 429), blocked.body


def wait_until(base: str, expression: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        result = query(base, expression)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def test_runbook_expressions_evaluate_against_our_metrics() -> None:
    require_prometheus()
    env = {
        "AUTH_METHOD": "api_key",
        "AUTH_API_KEYS": KEY,
        "METRICS_REQUIRE_AUTH": "true",
        "GEO_COUNTRY_HEADER": "X-Country",
        "RATE_LIMIT_CRYPTO_BURST": "1",
    }
    port = free_port()
    # Prometheus first: its target discovery takes ~5 s to start scraping, overlapping our start.
    with run_prometheus(port) as prometheus, run_server(env, port=port) as server:
        traffic(server)
        # rate() needs two successful scrapes that saw the counters, with traffic between them.
        assert wait_until(prometheus, 'sum_over_time(up{job="dev-utilities"}[1m]) >= 1')
        traffic(server)
        assert wait_until(prometheus, "rate(http_requests_total[5m]) > 0")
        for name, expression in ALERTS.items():
            assert query(prometheus, expression) == [], name  # evaluates, and nothing fires
        empty = [
            name for name, expression in POPULATED.items() if not query(prometheus, expression)
        ]
        assert empty == []
        latencies = query(prometheus, POPULATED["p95 latency"])
        assert all(
            float(sample["value"][1]) < 1 for sample in latencies if sample["value"][1] != "NaN"
        )
