"""Tool-call spans: opened before the rate limiter, closed with the call's outcome."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from devutils.errors import RateLimitError, ValidationError
from devutils.observability.tracing import ToolSpans
from devutils.registry import CallInfo, Registry, ToolSpec


@pytest.fixture
def traced(registry: Registry) -> tuple[Registry, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans = ToolSpans(provider.get_tracer("test"))
    registry.admission.insert(0, spans.start)
    registry.observers.append(spans.end)
    return registry, exporter


def _hash(registry: Registry) -> ToolSpec:
    spec = registry.get("crypto_hash")
    assert spec is not None
    return spec


async def test_a_successful_call_has_one_ended_span(
    traced: tuple[Registry, InMemorySpanExporter],
) -> None:
    registry, exporter = traced
    call = CallInfo("mcp")
    await registry.invoke(_hash(registry), {"content": "a", "algorithm": "md5"}, call)
    (span,) = exporter.get_finished_spans()
    assert span.name == "execute_tool crypto_hash"
    assert span.attributes is not None
    assert span.attributes["devutils.frontend"] == "mcp"
    assert "error.type" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET
    assert call.span is None  # nothing left open on the call


async def test_a_bad_input_is_an_error_span(traced: tuple[Registry, InMemorySpanExporter]) -> None:
    registry, exporter = traced
    with pytest.raises(ValidationError):
        await registry.invoke(
            _hash(registry), {"content": "a", "algorithm": "nope"}, CallInfo("rest")
        )
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "VALIDATION_ERROR"
    assert span.status.status_code is StatusCode.ERROR


async def test_a_call_refused_by_a_later_admission_check_is_inside_its_span(
    traced: tuple[Registry, InMemorySpanExporter],
) -> None:
    registry, exporter = traced

    def refuse(spec: ToolSpec, call: CallInfo) -> None:
        raise RateLimitError("Rate limit exceeded", "test")

    registry.admission.append(refuse)
    with pytest.raises(RateLimitError):
        await registry.invoke(_hash(registry), {"content": "a"}, CallInfo("rest"))
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "RATE_LIMIT_ERROR"
