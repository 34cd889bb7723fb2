"""Server spans: one per request, named ``<METHOD> <route template>``, kept lean.

The generic OpenTelemetry ASGI instrumentation costs 54–88 µs per request even unsampled (it makes
receive/send spans and decodes every header; perf-anchors §3), so this layer does only what a
server span needs: read ``traceparent``/``tracestate`` (W3C), start one span through the SDK's
parent-based sampler, make it current for the tool-call child span, put the trace id in the
request state (access log) and in an ``X-Trace-ID`` response header, and set attributes only when
the span is actually recorded.  Unknown paths are named by method alone (bounded span names).

When the parent-based sampler's answer is known to be "drop" without asking it (an unsampled
incoming parent, or no parent at TRACING_SAMPLE_RATE=0) the SDK is skipped altogether: the request
gets a trace id (the parent's, or a fresh one) for its log line and ``X-Trace-ID``, and
``trace_sampled`` False in its state, which tells the tool-call span to stay away.  Nothing in the
service propagates context outwards, so no span object is needed for an unsampled request.
"""

from __future__ import annotations

import asyncio
from random import getrandbits

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    SpanKind,
    Status,
    StatusCode,
    Tracer,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from devutils.errors import ToolError
from devutils.http.asgi import (
    ASGIApp,
    ClientDisconnected,
    Message,
    Receive,
    Scope,
    Send,
    header,
    state_of,
)
from devutils.http.router import UNMATCHED

_PROPAGATOR = TraceContextTextMapPropagator()
_ROOT = Context()


def incoming_context(scope: Scope) -> Context:
    parent = header(scope, b"traceparent")
    if parent is None:
        return _ROOT
    carrier = {"traceparent": parent.decode("latin-1")}
    state = header(scope, b"tracestate")
    if state is not None:
        carrier["tracestate"] = state.decode("latin-1")
    return _PROPAGATOR.extract(carrier, context=_ROOT)


_INVALID_TRACE_ID = "0" * 32


def _random_trace_id() -> str:
    while True:
        trace_id = getrandbits(128).to_bytes(16).hex()  # the SDK's own ids come from this PRNG
        if trace_id != _INVALID_TRACE_ID:  # all zeros is the invalid id
            return trace_id


class TracingMiddleware:
    def __init__(self, app: ASGIApp, tracer: Tracer, sample_roots: bool = True) -> None:
        self.app = app
        self.tracer = tracer
        self.sample_roots = sample_roots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = state_of(scope) if scope["type"] == "http" else None
        if state is None:
            await self.app(scope, receive, send)
            return
        parent_context = incoming_context(scope)
        # The parent-based sampler's answer known without asking it: drop (see the module text).
        dropped: str | None = None
        if parent_context is _ROOT:
            if not self.sample_roots:
                dropped = _random_trace_id()
        else:
            parent = trace.get_current_span(parent_context).get_span_context()
            if parent.is_valid and not parent.trace_flags.sampled:
                dropped = format(parent.trace_id, "032x")
        if dropped is not None:
            state.trace_id = dropped
            state.trace_sampled = False  # tells the tool-call span to stay away
            state.extra_headers.append((b"x-trace-id", dropped.encode()))
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        name = method if state.route == UNMATCHED else f"{method} {state.route}"
        span = self.tracer.start_span(name, context=parent_context, kind=SpanKind.SERVER)
        trace_id = format(span.get_span_context().trace_id, "032x")
        state.trace_id = trace_id
        state.trace_sampled = span.is_recording()
        state.extra_headers.append((b"x-trace-id", trace_id.encode()))
        token = otel_context.attach(trace.set_span_in_context(span, _ROOT))
        try:
            if not span.is_recording():
                await self.app(scope, receive, send)
                return
            await self._recorded(span, state.route, scope, receive, send)
        finally:
            otel_context.detach(token)
            span.end()

    async def _recorded(
        self, span: trace.Span, route: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        span.set_attributes(
            {
                "http.request.method": scope["method"],
                "url.path": scope["path"],
                "url.scheme": scope.get("scheme", "http"),
                "network.protocol.version": scope.get("http_version", "1.1"),
            }
        )
        if route != UNMATCHED:
            span.set_attribute("http.route", route)
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except ToolError as exc:
            status = status or exc.status
            span.set_attribute("error.type", exc.code)
            raise
        except ClientDisconnected as exc:
            # As the request context records it: not a server error.
            status = status or (exc.answered[0] if exc.answered is not None else 499)
            span.set_attribute("error.type", "ClientDisconnected")
            raise
        except asyncio.CancelledError:
            # The client left while its call ran, and the server cancelled the request's task:
            # 499 when no answer started, as the request context records it.
            status = status or 499
            span.set_attribute("error.type", "ClientDisconnected")
            raise
        except Exception as exc:
            status = status or 500
            span.set_attribute("error.type", type(exc).__name__)
            raise
        finally:
            state = state_of(scope)
            if state is not None:
                if state.principal is not None:
                    span.set_attribute("enduser.id", state.principal)
                if state.client_ip is not None:
                    span.set_attribute("client.address", state.client_ip)
                if state.error_code is not None:
                    span.set_attribute("error.type", state.error_code)
            span.set_attribute("http.response.status_code", status)
            # Server spans are errors only for 5xx (OpenTelemetry HTTP semantic conventions).
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
