"""The runbook's alerts and dashboard against a real Prometheus scraping real service processes.

Targets of job ``dev-utilities`` (the job the ServiceDown alert selects):
- ``main``: API-key auth, a tiny crypto rate limit, geo header; gets errors (404, 400), rate-limit
  hits, auth failures, SSRF refusals and slow requests;
- ``degraded``: Redis rate-limit store unreachable with RATE_LIMIT_FAIL_MODE=deny, so it answers
  503 (the 5xx the error-rate alert needs);
- a closed loopback port (a replica that is down).
``container_*`` series come from a fake cAdvisor exporter (tests.ops.prom.fake_cadvisor) that reports
the main process's real memory and CPU against a simulated tight memory limit.

Alerts whose thresholds are absolute rates over ``[5m]`` divide by the whole five minutes, so the
traffic is sized to cross them within seconds (e.g. > 3000 auth failures for "> 10/s").  Two cannot
be crossed in a short test and are checked by their expression returning data only (firing is
covered by ``promtool test rules``): UnusualTraffic (> 1000 req/s for 5 minutes) and HighCPUUsage
(> 0.8 cores over 5 minutes).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.ops.load import Call, send_many, slow_requests
from tests.ops.prom import Prometheus, fake_cadvisor, run_prometheus, wait_for
from tests.ops.test_dashboard import dashboard
from tests.ops.test_prometheus_rules import PROMETHEUS, RUNBOOK_ALERTS
from tests.support import ServerProcess, free_port, run_server

pytestmark = pytest.mark.slow

KEY = {"X-API-Key": "good-key-0123456789abcdef"}
MAIN_ENV = {
    "AUTH_METHOD": "api_key",
    "AUTH_API_KEYS": "good-key-0123456789abcdef",
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_AUTHENTICATED_PER_MINUTE": "100000",
    "RATE_LIMIT_AUTHENTICATED_BURST": "10000",
    "RATE_LIMIT_NETWORK_PER_MINUTE": "100000",
    "RATE_LIMIT_NETWORK_BURST": "10000",
    "RATE_LIMIT_CRYPTO_PER_MINUTE": "1",
    "RATE_LIMIT_CRYPTO_BURST": "1",
    "GEO_COUNTRY_HEADER": "X-Client-Country",
    "LOG_LEVEL": "info",
}
EXPECTED_ACTIVE = {
    "ServiceDown",
    "HighErrorRate",
    "HighMemoryUsage",
    "HighResponseTime",
    "AuthenticationFailures",
    "SSRFAttempts",
}
AUTH_FAILURES = 3300  # rate over [5m] > 10/s
SSRF_REFUSALS = 1700  # rate over [5m] > 5/s

SSRF = Call("POST", "/api/v1/network/headers", b'{"url": "http://127.0.0.1/"}', KEY)
SLOW = Call(
    "POST", "/api/v1/text/case", b'{"content": "hello world", "caseType": "camelCase"}', KEY
)


@dataclass
class Stack:
    main: ServerProcess
    degraded: ServerProcess
    prometheus: Prometheus


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    degraded_env = {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_STORE": "redis",
        "RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "RATE_LIMIT_FAIL_MODE": "deny",
    }
    with (
        run_server(MAIN_ENV) as main,
        run_server(degraded_env) as degraded,
        fake_cadvisor(main.proc.pid, memory_limit_ratio=0.95) as cadvisor,
    ):
        scrape = [
            {
                "job_name": "dev-utilities",
                "static_configs": [
                    {
                        "targets": [
                            f"127.0.0.1:{main.port}",
                            f"127.0.0.1:{degraded.port}",
                            f"127.0.0.1:{free_port()}",
                        ]
                    }
                ],
            },
            {"job_name": "kubernetes-cadvisor", "static_configs": [{"targets": [cadvisor]}]},
        ]
        with run_prometheus(scrape, [PROMETHEUS / "alerts.yml"]) as prometheus:
            generate_traffic(main, degraded, prometheus)
            yield Stack(main, degraded, prometheus)


def _series_seen(prometheus: Prometheus, expr: str) -> bool:
    return bool(prometheus.query(expr))


def generate_traffic(main: ServerProcess, degraded: ServerProcess, prometheus: Prometheus) -> None:
    # Phase 1: one request of each kind, then wait until Prometheus holds a sample of every series:
    # rate() only sees increases between samples, so a series born inside a burst would count 0.
    hash_call = Call("POST", "/api/v1/crypto/hash", b'{"content":"a","algorithm":"md5"}', KEY)
    wrong_key = Call("GET", "/api/v1/status", headers={"X-API-Key": "wrong"})
    unavailable = Call("GET", "/api/v1/status")
    primes = {
        'ssrf_blocks_total{reason!=""}': send_many(main.port, SSRF, 1, threads=1),
        'rate_limit_hits_total{class="crypto"}': send_many(main.port, hash_call, 3, threads=1),
        'auth_failures_total{reason="invalid_key"}': send_many(main.port, wrong_key, 1, threads=1),
        'http_requests_total{status_code="503"}': send_many(
            degraded.port, unavailable, 1, threads=1
        ),
        'http_request_duration_seconds_count{route="/api/v1/text/case"}': send_many(
            main.port, SLOW, 1, threads=1
        ),
    }
    assert primes['rate_limit_hits_total{class="crypto"}'][429] >= 1, primes
    assert primes['http_requests_total{status_code="503"}'][503] == 1, primes
    for expr in primes:
        wait_for(functools.partial(_series_seen, prometheus, expr), 20, f"{expr} in Prometheus")

    # Phase 2: the traffic the alerts and panels look at.
    for country in ("DE", "US", "JP"):
        call = Call("GET", "/api/v1/time/now", headers={**KEY, "X-Client-Country": country})
        assert send_many(main.port, call, 5, threads=1)[200] == 5
    assert send_many(main.port, Call("GET", "/api/v1/nope", headers=KEY), 20, 2)[404] == 20
    bad = Call("POST", "/api/v1/transform/base64", b"{not json", KEY)
    assert send_many(main.port, bad, 20, 2)[400] == 20
    assert send_many(main.port, hash_call, 20, 2)[429] == 20
    assert send_many(degraded.port, unavailable, 30, 2)[503] == 30
    assert send_many(degraded.port, Call("GET", "/health/ready"), 10, 1)[503] == 10
    # Only slow requests on this route after its prime: its p95 is above 1 s.
    assert slow_requests(main.port, SLOW, seconds=1.3, count=4) == [200] * 4
    failures = send_many(main.port, wrong_key, AUTH_FAILURES)
    # Past the failure burst the answers are 429 (auth_failure class); every one still counts in
    # auth_failures_total, which is what the alert watches.
    assert failures[401] + failures[429] == AUTH_FAILURES, failures
    assert failures[429] > failures[401], failures
    refused = send_many(main.port, SSRF, SSRF_REFUSALS)
    assert sum(n for status, n in refused.items() if 400 <= status < 500) == SSRF_REFUSALS, refused


def lhs(expr: str) -> str:
    """The expression without its final threshold comparison."""
    return re.split(r"\s(?:>|==|<)\s[\d.]+$", expr)[0]


@pytest.mark.parametrize("alert", sorted(RUNBOOK_ALERTS))
def test_runbook_alert_expression_returns_data(stack: Stack, alert: str) -> None:
    expr = lhs(RUNBOOK_ALERTS[alert][0])
    assert expr != RUNBOOK_ALERTS[alert][0]

    def numbers() -> list[float]:
        values = [float(sample["value"][1]) for sample in stack.prometheus.query(expr)]
        # NaN is possible per series (the runbook's per-series ratio of a counter at rest is 0/0).
        return [value for value in values if not math.isnan(value)]

    assert wait_for(numbers, 30, f"a numeric sample of {expr}")


def test_expected_alerts_go_pending_or_firing(stack: Stack) -> None:
    def active() -> dict[str, set[str]] | None:
        states = stack.prometheus.alert_states()
        return states if set(states) >= EXPECTED_ACTIVE else None

    states = wait_for(active, 45, f"alerts {sorted(EXPECTED_ACTIVE)} active")
    for name in EXPECTED_ACTIVE:
        assert states[name] <= {"pending", "firing"}, (name, states[name])
    # Alerts without `for` fire at once.
    assert "firing" in states["AuthenticationFailures"]
    assert "firing" in states["SSRFAttempts"]


def test_service_down_names_the_closed_port_only(stack: Stack) -> None:
    down = stack.prometheus.query('up{job="dev-utilities"} == 0')
    up = stack.prometheus.query('up{job="dev-utilities"} == 1')
    assert len(down) == 1
    assert {s["metric"]["instance"] for s in up} == {
        f"127.0.0.1:{stack.main.port}",
        f"127.0.0.1:{stack.degraded.port}",
    }


def _grafana_to_promql(expr: str) -> str:
    return (
        expr.replace("$job", "dev-utilities")
        .replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
    )


def _dashboard_queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard()["panels"]
        for target in panel["targets"]
    ]


@pytest.mark.parametrize(("panel", "expr"), _dashboard_queries(), ids=lambda v: str(v)[:60])
def test_dashboard_query_returns_data(stack: Stack, panel: str, expr: str) -> None:
    query = _grafana_to_promql(expr)
    wait_for(lambda: stack.prometheus.query(query), 30, f"{panel}: {query}")


def test_geographic_panel_sees_the_countries(stack: Stack) -> None:
    result = stack.prometheus.query("sum by (country) (http_requests_by_country_total)")
    assert {"DE", "US", "JP"} <= {s["metric"]["country"] for s in result}


def _log_entries(server: ServerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]


def test_logs_carry_the_fields_the_runbook_queries(stack: Stack) -> None:
    entries = _log_entries(stack.main)
    ssrf = [e for e in entries if "ssrf blocked" in e.get("msg", "")]
    assert ssrf
    assert all(e["level"] == "WARNING" and e["reason"] for e in ssrf)
    refused = [e for e in entries if e.get("status") == 401]
    assert refused
    fields = {"route", "method", "latency_ms", "client_ip", "error_code", "request_id"}
    assert fields <= set(refused[0])
    assert any(e.get("status") == 429 and e.get("error_code") for e in entries)
