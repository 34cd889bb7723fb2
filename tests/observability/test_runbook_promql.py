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
from typing import Any

from tests.middleware.raw_http import raw_request
from tests.ops.prom import Prometheus, run_prometheus, wait_for
from tests.ops.tooling import require_tool
from tests.support import ServerProcess, run_server

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


def query(prometheus: Prometheus, expression: str) -> list[dict[str, Any]]:
    data = prometheus.api("query", query=expression)
    assert data["resultType"] == "vector", (expression, data)
    return list(data["result"])


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
                b'{"content":"hello world","caseType":"UPPERCASE"}',
            ).status
            == 200
        )
        assert raw_request(port, "GET", "/api/v1/nope", auth).status == 404
        assert raw_request(port, "GET", "/api/v1/status", ["X-API-Key: wrong"]).status == 401
    blocked = raw_request(
        port, "POST", "/api/v1/network/headers", auth, b'{"url":"http://127.0.0.1:1/"}'
    )
    assert blocked.status in (403, 429), blocked.body


def test_runbook_expressions_evaluate_against_our_metrics() -> None:
    require_tool("prometheus", "REQUIRE_PROMETHEUS")
    env = {
        "AUTH_METHOD": "api_key",
        "AUTH_API_KEYS": KEY,
        "METRICS_REQUIRE_AUTH": "true",
        "GEO_COUNTRY_HEADER": "X-Country",
        "RATE_LIMIT_CRYPTO_BURST": "1",
    }
    # Our server first, on a port the kernel chooses: Prometheus takes up to 30 s to start, and
    # a port chosen free before that could be taken by then.
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(run_server(env, port=0))
        scrape = {
            "job_name": "dev-utilities",
            "scrape_interval": "500ms",
            "scrape_timeout": "400ms",
            "authorization": {"type": "Bearer", "credentials": KEY},
            "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}],
        }
        prometheus = stack.enter_context(run_prometheus([scrape], []))
        traffic(server)
        # rate() needs two successful scrapes that saw the counters, with traffic between them.
        up = 'sum_over_time(up{job="dev-utilities"}[1m]) >= 1'
        wait_for(lambda: query(prometheus, up), 30, up)
        traffic(server)
        rate = "rate(http_requests_total[5m]) > 0"
        wait_for(lambda: query(prometheus, rate), 30, rate)
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
