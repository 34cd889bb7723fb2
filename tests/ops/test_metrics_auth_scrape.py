"""METRICS_REQUIRE_AUTH=true: the commented ``authorization`` block of
deploy/prometheus/prometheus.yml, uncommented, lets a real Prometheus scrape a real server; without
it the scrape fails (401)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devutils import __version__
from tests.ops.prom import run_prometheus, wait_for
from tests.ops.test_prometheus_rules import PROMETHEUS
from tests.support import run_server

pytestmark = pytest.mark.slow

SCRAPE_KEY = "scrape-key-" + "0123456789abcdef" * 2
USER_KEY = "user-key-" + "fedcba9876543210" * 2


def shipped_authorization() -> dict[str, Any]:
    """The commented example under the dev-utilities job, uncommented."""
    lines = (PROMETHEUS / "prometheus.yml").read_text().splitlines()
    start = lines.index("    # authorization:")
    block: list[str] = []
    for line in lines[start:]:
        if not line.startswith("    #   ") and block:
            break
        block.append(line.replace("    # ", "", 1))
    parsed = yaml.safe_load("\n".join(block))
    assert isinstance(parsed, dict)
    authorization: dict[str, Any] = parsed["authorization"]
    return authorization


def test_prometheus_scrapes_protected_metrics_with_the_shipped_example(tmp_path: Path) -> None:
    authorization = shipped_authorization()
    assert authorization["type"] == "Bearer"
    key_file = tmp_path / "api-key"
    key_file.write_text(SCRAPE_KEY + "\n")  # as a Secret mounted from a file with a newline
    authorization["credentials_file"] = str(key_file)
    env = {
        "AUTH_METHOD": "api_key",
        "AUTH_API_KEYS": f"{USER_KEY},{SCRAPE_KEY}",
        "METRICS_REQUIRE_AUTH": "true",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
    }
    with run_server(env) as server:
        target = {"targets": [f"127.0.0.1:{server.port}"]}
        scrape: list[dict[str, Any]] = [
            {"job_name": "with-key", "static_configs": [target], "authorization": authorization},
            {"job_name": "without-key", "static_configs": [target]},
        ]
        with run_prometheus(scrape, []) as prometheus:

            def up() -> dict[str, float] | None:
                values = {
                    result["metric"]["job"]: float(result["value"][1])
                    for result in prometheus.query("up")
                }
                return values if len(values) == 2 else None

            assert wait_for(up, 30, "both scrapes") == {"with-key": 1.0, "without-key": 0.0}
            samples = wait_for(
                lambda: prometheus.query('process_cpu_seconds_total{job="with-key"}'),
                30,
                "a scraped series",
            )
            assert samples


def test_the_shipped_relabelling_keeps_the_running_version(tmp_path: Path) -> None:
    """The dev-utilities job's relabel_configs, on a static target carrying the Kubernetes
    discovery labels a pod would have (Debian's Prometheus has no Kubernetes discovery): the
    pod's blue-green label must not take ``version`` from devutils_build_info, the release the
    pod runs (a target label wins over a scraped one: it became ``exported_version``)."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "dev-utilities")
    pod = {
        "__meta_kubernetes_pod_label_app": "dev-utilities",
        "__meta_kubernetes_pod_container_port_name": "http",
        "__meta_kubernetes_namespace": "dev-utilities",
        "__meta_kubernetes_pod_name": "dev-utilities-7d9f-abcde",
        "__meta_kubernetes_pod_label_version": "v1.0.0",
    }
    env = {"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "warning"}
    with run_server(env) as server:
        target = {"targets": [f"127.0.0.1:{server.port}"], "labels": pod}
        scrape = [
            {
                "job_name": "dev-utilities",
                "static_configs": [target],
                "relabel_configs": job["relabel_configs"],
            }
        ]
        with run_prometheus(scrape, []) as prometheus:
            samples = wait_for(
                lambda: prometheus.query("devutils_build_info"), 30, "devutils_build_info"
            )
    labels = samples[0]["metric"]
    assert labels["version"] == __version__
    assert labels["pod_version"] == "v1.0.0"
    assert "exported_version" not in labels
    assert (labels["namespace"], labels["pod"]) == ("dev-utilities", "dev-utilities-7d9f-abcde")
