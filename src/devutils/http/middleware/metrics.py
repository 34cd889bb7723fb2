"""HTTP metrics layer and the ``/metrics`` endpoint.

Routes are labelled by template (or "unmatched"), methods by a fixed set, countries by a
sanitised two-letter code: every label is bounded.  With one worker process the default
in-process registry is exact; with several, ``/metrics`` answers from the pod-wide registry of
:mod:`devutils.observability.multiproc` (the sum over every worker, from any worker).
"""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from devutils.http.asgi import (
    ASGIApp,
    Receive,
    RequestState,
    Scope,
    Send,
    header,
    send_bytes,
)
from devutils.http.middleware.recording import Outcome
from devutils.observability.metrics import (
    ERRORS,
    HTTP_BY_COUNTRY,
    HTTP_DURATION,
    HTTP_REQUESTS,
)

log = logging.getLogger("devutils.observability")

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()


def country_label(value: bytes | None) -> str:
    """ISO 3166 alpha-2 from the load balancer's header, else "unknown" (bounded: 677 values)."""
    if value is not None and len(value) == 2 and value.isalpha() and value.isascii():
        return value.decode().upper()
    return "unknown"


class HttpMetrics:
    """Request recorder (see RequestContextMiddleware): ``http_requests_total``, the latency
    histogram, errors by code and requests by country."""

    min_status = 0  # every request is counted

    def __init__(self, country_header: str | None = None) -> None:
        self.country_header = country_header.lower().encode() if country_header else None

    def record(
        self, scope: Scope, state: RequestState, status: int, elapsed: float, at: float
    ) -> None:
        self.record_many([(scope, state, status, elapsed, at)])

    def record_many(self, outcomes: list[Outcome]) -> None:
        requests, duration, country = HTTP_REQUESTS, HTTP_DURATION, self.country_header
        for scope, state, status, elapsed, _ in outcomes:
            try:
                route = state.route
                method = scope["method"]
                if method not in KNOWN_METHODS:
                    method = "OTHER"
                requests.inc((method, route, _status_text(status)))
                duration.observe((method, route), elapsed)
                if status >= 400:
                    code = state.error_code or "UNKNOWN"
                    ERRORS.inc(("server_error" if status >= 500 else "client_error", code))
                if country is not None:
                    HTTP_BY_COUNTRY.inc((country_label(header(scope, country)),))
            except Exception:
                log.exception("recording failed")


_STATUS_TEXT = {status: str(status) for status in range(100, 600)}


def _status_text(status: int) -> str:
    return _STATUS_TEXT.get(status) or str(status)


async def metrics_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Prometheus text exposition of the default registry (process and build info included)."""
    await send_bytes(send, 200, generate_latest(REGISTRY), content_type=_CONTENT_TYPE, scope=scope)


def registry_endpoint(registry: CollectorRegistry) -> ASGIApp:
    """``/metrics`` from another registry (the pod-wide one when several workers serve)."""

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        body = generate_latest(registry)
        await send_bytes(send, 200, body, content_type=_CONTENT_TYPE, scope=scope)

    return endpoint
