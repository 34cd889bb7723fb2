"""HTTP metrics and /metrics: template labels, error classes, tool counters, countries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from devutils.http.app import Application
from tests.middleware.asgi_client import in_process

HASH = "/api/v1/crypto/hash"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_exposition_has_runbook_process_and_build_metrics(
    make_app: Callable[..., Application],
) -> None:
    app = make_app(mcp_enabled=False)
    async with in_process(app) as client:
        await client.post(HASH, json={"content": "x", "algorithm": "sha256"})
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    for expected in (
        "http_requests",  # counters are listed without _total by the parser
        "http_request_duration_seconds",
        "rate_limit_hits",
        "crypto_operations",
        "auth_failures",
        "ssrf_blocks",
        "tool_calls",
        "errors",
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "process_open_fds",
        "devutils_build_info",
    ):
        assert expected in names, expected


async def test_requests_are_labelled_by_template_never_raw_path(
    make_app: Callable[..., Application],
) -> None:
    app = make_app(mcp_enabled=False)
    ok = ("POST", HASH, "200")
    missing = ("GET", "unmatched", "404")
    bad = ("POST", HASH, "400")
    labels = ("method", "route", "status_code")
    before = {
        key: value("http_requests_total", **dict(zip(labels, key, strict=True)))
        for key in (ok, missing, bad)
    }
    duration_before = value("http_request_duration_seconds_count", method="POST", route=HASH)
    async with in_process(app) as client:
        await client.post(HASH, json={"content": "x", "algorithm": "sha256"})
        await client.post(HASH, json={"content": "x", "algorithm": "sha256"})
        await client.get("/api/v1/secret-path-4c7f")
        await client.post(HASH, content=b"{", headers={"Content-Type": "application/json"})
        exposition = (await client.get("/metrics")).text
    after = {
        key: value("http_requests_total", **dict(zip(labels, key, strict=True)))
        for key in (ok, missing, bad)
    }
    assert after[ok] - before[ok] == 2
    assert after[missing] - before[missing] == 1
    assert after[bad] - before[bad] == 1
    assert (
        value("http_request_duration_seconds_count", method="POST", route=HASH) - duration_before
        == 3
    )
    assert "secret-path-4c7f" not in exposition


async def test_error_classes_and_codes(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False)
    keys = [
        ("client_error", "VALIDATION_ERROR"),  # raised by the tool call, rendered further out
        ("client_error", "NOT_FOUND"),  # sent by the router
        ("client_error", "METHOD_NOT_ALLOWED"),
    ]
    before = [value("errors_total", type=kind, code=code) for kind, code in keys]
    async with in_process(app) as client:
        await client.post(HASH, json={"algorithm": "sha3"})
        await client.get("/nope")
        await client.get(HASH)
    after = [value("errors_total", type=kind, code=code) for kind, code in keys]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]


async def test_tool_and_family_counters(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False)
    samples = [
        ("tool_calls_total", {"tool": "crypto_hash", "frontend": "rest", "status": "success"}),
        (
            "tool_calls_total",
            {"tool": "crypto_hash", "frontend": "rest", "status": "VALIDATION_ERROR"},
        ),
        (
            "crypto_operations_total",
            {"operation": "hash", "algorithm": "sha512", "status": "success"},
        ),
        (
            "crypto_operations_total",
            {"operation": "hash", "algorithm": "unknown", "status": "validation_error"},
        ),
        (
            "crypto_operations_total",
            {"operation": "hmac", "algorithm": "sha256", "status": "success"},
        ),
        ("tool_call_duration_seconds_count", {"tool": "crypto_hash"}),
    ]
    before = [value(name, **labels) for name, labels in samples]
    async with in_process(app) as client:
        await client.post(HASH, json={"content": "x", "algorithm": "sha512"})
        await client.post(HASH, json={"content": "x", "algorithm": "sha3"})
        await client.post(
            "/api/v1/crypto/hmac", json={"content": "x", "key": "k", "algorithm": "sha256"}
        )
    after = [value(name, **labels) for name, labels in samples]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1, 1, 2]


@pytest.mark.parametrize(
    ("sent", "label"),
    [
        (b"de", "DE"),
        (b"US", "US"),
        (b"XYZ", "unknown"),
        (b"1A", "unknown"),
        ("é".encode(), "unknown"),  # two bytes, neither an ASCII letter
        (None, "unknown"),
    ],
    ids=["lower", "upper", "three-letters", "digit", "non-ascii", "absent"],
)
async def test_country_label_is_sanitised(
    make_app: Callable[..., Application], sent: bytes | None, label: str
) -> None:
    app = make_app(mcp_enabled=False, geo_country_header="CF-IPCountry")
    before = value("http_requests_by_country_total", country=label)
    headers = {b"CF-IPCountry": sent} if sent is not None else {}
    async with in_process(app) as client:
        await client.get("/health", headers=headers)
    assert value("http_requests_by_country_total", country=label) - before == 1


async def test_metrics_disabled(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False, metrics_enabled=False)
    before = value("http_requests_total", method="GET", route="/health", status_code="200")
    async with in_process(app) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/health")).status_code == 200
    assert value("http_requests_total", method="GET", route="/health", status_code="200") == before
