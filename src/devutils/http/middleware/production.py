"""Wiring of the part-A production layers: authentication, tracing, metrics, access log, CORS.

Called from ``devutils.http.stack.install`` after the rate limiter has added its router guard, so
the order outermost → innermost is: request context (which hands each request's outcome to the
metrics and access-log recorders) → CORS → tracing → router [guards: authentication, rate
limiting].  Recording happens outermost, so the log line carries the trace id, and 401s, 413s and
429s are logged and counted with the status actually sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from devutils.auth import AUTH_REASONS, build_authenticator
from devutils.execution.pool import live_pids
from devutils.http.asgi import ASGIApp
from devutils.http.middleware.access_log import AccessLog
from devutils.http.middleware.auth import FailureThrottle, auth_guard, open_routes
from devutils.http.middleware.cors import CorsMiddleware
from devutils.http.middleware.metrics import HttpMetrics, metrics_endpoint, registry_endpoint
from devutils.http.middleware.recording import BatchedRecorders, BatchRecorder
from devutils.http.middleware.tool_metrics import ToolMetrics
from devutils.http.middleware.tracing import TracingMiddleware
from devutils.observability import processes
from devutils.observability.batching import periodically
from devutils.observability.logging import LineWriter
from devutils.observability.metrics import AUTH_FAILURES, FAST_COUNTERS, FAST_HISTOGRAMS
from devutils.observability.tracing import (
    INSTRUMENTATION_NAME,
    ToolSpans,
    build_tracer_provider,
    provider_lifespan,
)
from devutils.workers import current

if TYPE_CHECKING:
    from devutils.http.app import Application


def install_production_layers(
    app: Application, failure_throttle: FailureThrottle | None = None
) -> None:
    settings = app.settings
    # The tool-call span and the metrics observer see every outcome, so calls refused by the
    # rate-limit admission check still get a span and a tool_calls_total sample.

    authenticator = build_authenticator(settings)
    if authenticator is not None:
        # The playground's pages and files are public; the API calls they make carry the key.
        routes = open_routes(settings.metrics_require_auth) | app.public_routes
        # Before the rate-limit guard: limits are per principal.
        app.router.guards.insert(0, auth_guard(authenticator, routes, failure_throttle))
    # Every reason exists from the start at 0, so rate() in the runbook's alert has a series.
    for reason in AUTH_REASONS:
        AUTH_FAILURES.labels(reason=reason)

    provider = build_tracer_provider(settings)
    if provider is not None:
        tracer = provider.get_tracer(INSTRUMENTATION_NAME)
        sample_roots = settings.tracing_sample_rate > 0
        app.wrap(lambda inner: TracingMiddleware(inner, tracer, sample_roots))
        spans = ToolSpans(tracer)
        # First admission check: a call refused by the rate limiter is still inside its span.
        app.registry.admission.insert(0, spans.start)
        app.registry.observers.append(spans.end)
        app.lifespan_hooks.append(provider_lifespan(provider))

    recorders: list[BatchRecorder] = []
    if settings.metrics_enabled:
        app.router.add("/metrics", ("GET",), _metrics_endpoint(app))
        recorders.append(HttpMetrics(settings.geo_country_header))
        metrics = ToolMetrics()
        app.registry.observers.append(metrics.observe)
        app.lifespan_hooks.append(metrics.batch.running)

    writer = LineWriter()
    level = logging.getLevelNamesMapping().get(settings.python_log_level, logging.INFO)
    recorders.append(AccessLog(writer, level))
    app.lifespan_hooks.append(writer.running)
    # After the writer's hook, so at shutdown the last batch is applied before the last flush.
    batched = BatchedRecorders(recorders)
    app.recorders.append(batched)
    app.lifespan_hooks.append(batched.batch.running)

    if settings.cors_allow_origins:
        origins = settings.cors_allow_origins
        app.wrap(lambda inner: CorsMiddleware(inner, origins))


def _metrics_endpoint(app: Application) -> ASGIApp:
    """This process's registry with one worker; the pod's sum over every worker with several
    (this worker publishes its hot-path families every second while it serves, and at exit)."""
    context = current()
    directory = context.metrics_dir
    if directory is None:
        processes.install(live_pids)
        return metrics_endpoint
    from devutils.observability.multiproc import PUBLISH_INTERVAL, WorkerMetrics, pod_registry

    worker_metrics = WorkerMetrics(
        directory, FAST_COUNTERS, FAST_HISTOGRAMS, live_pids, context.supervisor_pid
    )
    app.lifespan_hooks.append(lambda: periodically(worker_metrics.publish, PUBLISH_INTERVAL))
    return registry_endpoint(pod_registry(worker_metrics, directory))
