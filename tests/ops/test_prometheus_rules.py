"""Alert rules: the runbook's expressions, valid for promtool, unit-tested, using real metrics."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devutils.auth import AUTH_REASONS
from devutils.netpolicy.policy import SSRF_REASONS
from tests.ops.promql import exported_metric_names, metric_names
from tests.ops.tooling import require_tool
from tests.support import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"

# The runbook's alert table (shared/reference/runbook.md): name -> (expr, for).
RUNBOOK_ALERTS = {
    "HighErrorRate": (
        'rate(http_requests_total{status_code=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05',
        "2m",
    ),
    "ServiceDown": ('up{job="dev-utilities"} == 0', "1m"),
    "HighMemoryUsage": (
        "container_memory_usage_bytes / container_spec_memory_limit_bytes > 0.9",
        "5m",
    ),
    "HighResponseTime": (
        "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 1",
        "5m",
    ),
    "HighCPUUsage": ("rate(container_cpu_usage_seconds_total[5m]) > 0.8", "10m"),
    "AuthenticationFailures": ("rate(auth_failures_total[5m]) > 10", None),
    "SSRFAttempts": ("rate(ssrf_blocks_total[5m]) > 5", None),
    "UnusualTraffic": ("rate(http_requests_total[5m]) > 1000", None),
}
# Series that come from Prometheus itself or from cAdvisor, not from /metrics.
EXTERNAL_METRICS = {
    "up",
    "container_memory_usage_bytes",
    "container_spec_memory_limit_bytes",
    "container_cpu_usage_seconds_total",
    "container_spec_cpu_quota",
    "container_spec_cpu_period",
}


def rules() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return {rule["alert"]: rule for group in data["groups"] for rule in group["rules"]}


@pytest.mark.parametrize("name", sorted(RUNBOOK_ALERTS))
def test_alert_keeps_runbook_expression_and_duration(name: str) -> None:
    expr, duration = RUNBOOK_ALERTS[name]
    rule = rules()[name]
    assert rule["expr"] == expr
    assert rule.get("for") == duration
    assert rule["labels"]["severity"] in {"critical", "warning"}


def test_every_alert_links_an_existing_runbook_section() -> None:
    docs = (ROOT / "docs" / "operations.md").read_text()
    anchors = {
        "#"
        + "-".join(
            "".join(c for c in line.lstrip("#").strip().lower() if c.isalnum() or c in " -").split()
        )
        for line in docs.splitlines()
        if line.startswith("#")
    }
    for name, rule in rules().items():
        target = rule["annotations"]["runbook"]
        assert target.startswith("docs/operations.md#"), name
        assert target.removeprefix("docs/operations.md") in anchors, (name, target)


def test_alert_metrics_are_exported_or_external() -> None:
    exported = exported_metric_names()
    for name, rule in rules().items():
        unknown = metric_names(rule["expr"]) - exported - EXTERNAL_METRICS
        assert not unknown, (name, unknown)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool", "REQUIRE_PROMETHEUS")
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_check_rules() -> None:
    result = _promtool("check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_rule_unit_tests() -> None:
    result = _promtool("test", "rules", str(PROMETHEUS / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_cover_every_alert() -> None:
    data = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    tested = {
        case["alertname"]: bool(case["exp_alerts"])
        for test in data["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert set(tested) == set(rules())


def test_rule_unit_tests_use_label_values_the_service_emits() -> None:
    """A test series labelled with a reason the service never writes tests an alert nobody gets."""
    vocabulary = {"auth_failures_total": set(AUTH_REASONS), "ssrf_blocks_total": SSRF_REASONS}
    data = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    seen = 0
    for test in data["tests"]:
        for series in test["input_series"]:
            name, _, labels = series["series"].partition("{")
            if name in vocabulary:
                reason = re.search(r'reason="([^"]*)"', labels)
                assert reason is not None, series
                assert reason.group(1) in vocabulary[name], series
                seen += 1
    assert seen >= 2


def test_promtool_check_scrape_config(tmp_path: Path) -> None:
    """The scrape config is valid; Debian's promtool lacks Kubernetes discovery, so it is swapped."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert "dev-utilities" in jobs  # up{job="dev-utilities"} in ServiceDown
    assert config["rule_files"] == ["alerts.yml"]
    token = tmp_path / "token"
    token.write_text("x")
    for job in jobs.values():
        assert job.pop("kubernetes_sd_configs")
        job["static_configs"] = [{"targets": ["127.0.0.1:8080"]}]
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token)
        if "tls_config" in job:
            job["tls_config"]["ca_file"] = str(token)
    (tmp_path / "alerts.yml").write_text((PROMETHEUS / "alerts.yml").read_text())
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = _promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
