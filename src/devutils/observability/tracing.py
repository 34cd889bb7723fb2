"""OpenTelemetry tracing: the tracer provider built from the settings, and tool-call spans.

- Sampler: parent-based, TRACING_SAMPLE_RATE for new traces (0 samples nothing new; a sampled
  incoming ``traceparent`` is still followed).  Unlike the reference, 0 means 0.
- Exporters: ``otlp`` (OTLP/HTTP protobuf, batched in a background thread), ``console`` (to stderr,
  so stdout stays one JSON log object per line) and ``none``/``noop`` (trace ids for logs and
  headers, nothing exported).
- TRACING_OTLP_ENDPOINT is the collector's base URL (``http://collector:4318``; ``/v1/traces`` is
  appended unless given; a bare ``host:port`` means https, as in the reference).  Unset, the
  exporter's standard ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`` applies; TRACING_OTLP_HEADERS
  (``k=v,k2=v2``, URL-encoded values) likewise falls back to ``OTEL_EXPORTER_OTLP_HEADERS``.  Other
  standard variables (``OTEL_BSP_*`` batching, ``OTEL_RESOURCE_ATTRIBUTES``, timeouts,
  certificates) are read by the SDK itself.
- The provider is ours, not the global one, so each application owns and shuts down its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from urllib.parse import unquote

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from devutils import __version__
from devutils.errors import ToolError
from devutils.http.asgi import CURRENT_REQUEST
from devutils.models import ToolOutput
from devutils.registry import CallInfo, ToolSpec
from devutils.settings import Settings, SettingsError

INSTRUMENTATION_NAME = "devutils"


def otlp_endpoint(value: str) -> str:
    url = value if "://" in value else f"https://{value}"
    url = url.rstrip("/")
    return url if url.endswith("/v1/traces") else f"{url}/v1/traces"


def otlp_headers(value: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, content = item.partition("=")
        if not sep or not name.strip():
            raise SettingsError("TRACING_OTLP_HEADERS: expected k=v pairs separated by commas")
        headers[unquote(name.strip())] = unquote(content.strip())
    return headers


def _exporter(settings: Settings) -> SpanExporter | None:
    if settings.tracing_exporter == "console":
        return ConsoleSpanExporter(out=sys.stderr)
    if settings.tracing_exporter != "otlp":
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(
        endpoint=otlp_endpoint(settings.tracing_otlp_endpoint)
        if settings.tracing_otlp_endpoint
        else None,
        headers=otlp_headers(settings.tracing_otlp_headers)
        if settings.tracing_otlp_headers
        else None,
    )


def build_tracer_provider(settings: Settings) -> TracerProvider | None:
    """None when TRACING_ENABLED is false: then no tracing code runs per request at all."""
    if not settings.tracing_enabled:
        return None
    resource = Resource.create(
        {
            "service.name": settings.tracing_service_name,
            "service.version": __version__,
            "deployment.environment": settings.tracing_environment,
        }
    )
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_rate)),
        resource=resource,
        shutdown_on_exit=False,
    )
    exporter = _exporter(settings)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def provider_lifespan(
    provider: TracerProvider,
) -> Callable[[], contextlib.AbstractAsyncContextManager[None]]:
    """Lifespan hook: export what is still queued and stop the exporter thread at shutdown."""

    @contextlib.asynccontextmanager
    async def hook() -> AsyncIterator[None]:
        try:
            yield
        finally:
            # Off the loop: a final export to a slow collector may take its full timeout.
            await asyncio.to_thread(provider.shutdown)

    return hook


class ToolSpans:
    """A child span per tool call (``execute_tool <name>``, GenAI semantic conventions).

    Started by a registry admission check installed first in line (so a call refused by the rate
    limiter is inside its span) and ended by a registry observer: no wrapping coroutine per call.
    Inside an unsampled request nothing is created.  Exceptions are not recorded as events (their
    text could echo input); the error code is the ``error.type``.  A call cancelled because its
    client went away ends no span, so none is exported for it.
    """

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def start(self, spec: ToolSpec, call: CallInfo) -> None:
        request = CURRENT_REQUEST.get()
        if request is not None and request.trace_sampled is False:
            return  # inside an unsampled request (see TracingMiddleware): no SDK work at all
        parent = trace.get_current_span().get_span_context()
        if parent.is_valid and not parent.trace_flags.sampled:
            return
        call.span = self.tracer.start_span(
            f"execute_tool {spec.name}",
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": spec.name,
                "devutils.frontend": call.frontend,
            },
            record_exception=False,
            set_status_on_exception=False,
        )

    def end(
        self,
        spec: ToolSpec,
        call: CallInfo,
        elapsed: float,
        result: ToolOutput | None,
        error: Exception | None,
    ) -> None:
        span = call.span
        if span is None:
            return
        call.span = None
        if error is not None:
            code = error.code if isinstance(error, ToolError) else type(error).__name__
            span.set_attribute("error.type", code)
            span.set_status(
                Status(StatusCode.ERROR, code if isinstance(error, ToolError) else "INTERNAL_ERROR")
            )
        span.end()


__all__ = [
    "INSTRUMENTATION_NAME",
    "ToolSpans",
    "build_tracer_provider",
    "otlp_endpoint",
    "otlp_headers",
    "provider_lifespan",
]
