"""Tracing settings: endpoint and header parsing, sampler, exporter choice."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from devutils.observability.tracing import (
    build_tracer_provider,
    otlp_endpoint,
    otlp_headers,
)
from devutils.settings import SettingsError
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http://collector:4318/v1/traces"),
        ("https://c.example/v1/traces", "https://c.example/v1/traces"),
        ("collector:4318", "https://collector:4318/v1/traces"),
        ("http://c.example/otlp", "http://c.example/otlp/v1/traces"),
    ],
    ids=["base", "trailing-slash", "full-path", "host-port-means-tls", "prefix-path"],
)
def test_otlp_endpoint(given: str, expected: str) -> None:
    assert otlp_endpoint(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("a=1", {"a": "1"}),
        ("a=1, b = x%3Dy ,", {"a": "1", "b": "x=y"}),
        ("Authorization=Bearer%20t", {"Authorization": "Bearer t"}),
        ("empty=", {"empty": ""}),
    ],
    ids=["one", "several-url-encoded", "space-encoded", "empty-value"],
)
def test_otlp_headers(given: str, expected: dict[str, str]) -> None:
    assert otlp_headers(given) == expected


@pytest.mark.parametrize("given", ["novalue", "=x"], ids=["no-equals", "no-name"])
def test_bad_otlp_headers_stop_start_up(given: str) -> None:
    with pytest.raises(SettingsError, match="TRACING_OTLP_HEADERS"):
        otlp_headers(given)


def test_disabled_builds_nothing() -> None:
    assert build_tracer_provider(make_settings()) is None


def test_sampler_is_parent_based_ratio() -> None:
    provider = build_tracer_provider(
        make_settings(tracing_enabled=True, tracing_exporter="none", tracing_sample_rate=0.25)
    )
    assert provider is not None
    description = provider.sampler.get_description()
    assert description.startswith("ParentBased{root:TraceIdRatioBased{0.25}")
    provider.shutdown()


def test_console_exporter_writes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """stdout stays one JSON log object per line."""
    provider = build_tracer_provider(
        make_settings(tracing_enabled=True, tracing_exporter="console")
    )
    assert provider is not None
    provider.get_tracer("test").start_span("console-span-check").end()
    provider.shutdown()
    out, err = capsys.readouterr()
    assert "console-span-check" in err
    assert "console-span-check" not in out


def test_otlp_exporter_is_batched() -> None:
    provider = build_tracer_provider(
        make_settings(
            tracing_enabled=True,
            tracing_exporter="otlp",
            tracing_otlp_endpoint="http://127.0.0.1:9/",
        )
    )
    assert provider is not None
    processors = provider._active_span_processor._span_processors
    assert [type(processor) for processor in processors] == [BatchSpanProcessor]
    provider.shutdown()
