"""HTTP metrics layer and the ``/metrics`` endpoint.

Routes are labelled by template (or "unmatched"), methods by a fixed set, countries by a
sanitised two-letter code: every label is bounded.  The service runs one process per container
(scale with replicas, as the runbook does), so the default in-process registry is exact and no
multiprocess directory is needed.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from devutils.http.asgi import (
    Receive,
    Scope,
    Send,
    header,
    send_bytes,
    state_of,
)
from devutils.http.router import UNMATCHED
from devutils.observability.metrics import (
    ERRORS,
    HTTP_BY_COUNTRY,
    HTTP_DURATION,
    HTTP_REQUESTS,
)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()


def country_label(value: bytes | None) -> str:
    """ISO 3166 alpha-2 from the load balancer's header, else "unknown" (bounded: 677 values)."""
    if value is not None and len(value) == 2 and value.isalpha() and value.isascii():
        return value.decode().upper()
    return "unknown"


class HttpMetrics:
    """Request recorder (see RequestContextMiddleware): ``http_requests_total``, the latency histogram, errors by
    code and requests by country."""

    def __init__(self, country_header: str | None = None) -> None:
        self.country_header = country_header.lower().encode() if country_header else None
        # Label children cached per label tuple: .labels() on every request costs a lock.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._error_children: dict[tuple[int, str], Any] = {}
        self._country_children: dict[str, Any] = {}

    def record(self, scope: Scope, status: int, code: str | None, elapsed: float) -> None:
        state = state_of(scope)
        route = state.route if state is not None else UNMATCHED
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(method=method, route=route, status_code=str(status)),
                HTTP_DURATION.labels(method=method, route=route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(elapsed)
        if status >= 400:
            code = code or (state.error_code if state is not None else None) or "UNKNOWN"
            error_key = (status, code)
            error_child = self._error_children.get(error_key)
            if error_child is None:
                kind = "server_error" if status >= 500 else "client_error"
                error_child = self._error_children[error_key] = ERRORS.labels(type=kind, code=code)
            error_child.inc()
        if self.country_header is not None:
            country = country_label(header(scope, self.country_header))
            country_child = self._country_children.get(country)
            if country_child is None:
                country_child = self._country_children[country] = HTTP_BY_COUNTRY.labels(country)
            country_child.inc()


async def metrics_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Prometheus text exposition of the default registry (process and build info included)."""
    await send_bytes(send, 200, generate_latest(REGISTRY), content_type=_CONTENT_TYPE)
