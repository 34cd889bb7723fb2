"""Grafana dashboard: the runbook's six panels, querying only metrics the service exports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ops.exposition import sample_names, scrape
from tests.ops.promql import exported_metric_names, metric_names
from tests.support import ROOT, run_server

DASHBOARD = ROOT / "deploy" / "grafana" / "dev-utilities.json"
RUNBOOK_PANELS = [
    "Request rate and latency",
    "Error rate by endpoint",
    "Resource usage (CPU, memory)",
    "Rate limiting",
    "Top endpoints by usage",
    "Geographic distribution",
]


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def expressions() -> list[str]:
    data = dashboard()
    exprs = [target["expr"] for panel in data["panels"] for target in panel["targets"]]
    for variable in data["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(variable["definition"].removeprefix("label_values(").split(",")[0])
    return exprs


def used_metrics() -> set[str]:
    return set().union(*(metric_names(expr) for expr in expressions()))


def test_panels_are_the_runbook_six() -> None:
    panels = dashboard()["panels"]
    assert [panel["title"] for panel in panels] == RUNBOOK_PANELS
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert all(target["expr"] for target in panel["targets"])


def test_geographic_panel_uses_the_country_counter() -> None:
    panel = dashboard()["panels"][RUNBOOK_PANELS.index("Geographic distribution")]
    assert panel["type"] == "geomap"
    assert any("http_requests_by_country_total" in t["expr"] for t in panel["targets"])
    assert "by (country)" in panel["targets"][0]["expr"]
    assert panel["options"]["layers"][0]["location"]["lookup"] == "country"


def test_every_panel_filters_by_the_job_variable() -> None:
    for expr in expressions()[:-1]:
        assert 'job="$job"' in expr, expr


def test_metric_names_are_defined_by_the_service() -> None:
    used = used_metrics()
    assert {
        "http_requests_total",
        "http_requests_by_country_total",
        "rate_limit_hits_total",
    } <= used
    assert used - exported_metric_names() == set()


@pytest.mark.slow
def test_metric_names_appear_in_a_live_scrape() -> None:
    with run_server() as server:
        names = sample_names(scrape(server.base))
    missing = used_metrics() - names
    assert not missing, f"/metrics lacks {sorted(missing)}"
