"""Every Prometheus metric the service exports, defined once.

Names and labels follow the operations runbook so its alert expressions and dashboards work
unchanged.  The series updated on every request or tool call are :mod:`fastmetrics` families (plain
numbers, exported through a custom collector); the rare ones are prometheus_client metrics.
Label values are always bounded: routes are templates (or "unmatched"), tools and
classes come from the registry, reasons from fixed vocabularies.  The process collector (memory,
CPU, open fds) comes with the default registry.
"""

from __future__ import annotations

import platform

from prometheus_client import Counter, Gauge

from devutils import __version__
from devutils.observability.fastmetrics import FastCounter, FastHistogram

HTTP_REQUESTS = FastCounter(
    "http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status_code"],
)
HTTP_DURATION = FastHistogram(
    "http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_BY_COUNTRY = FastCounter(
    "http_requests_by_country_total",
    "HTTP requests by client country (from GEO_COUNTRY_HEADER; 'unknown' when absent).",
    ["country"],
)
ERRORS = FastCounter(
    "errors_total",
    "Error responses by class (client_error 4xx, server_error 5xx) and code.",
    ["type", "code"],
)

TOOL_CALLS = FastCounter(
    "tool_calls_total",
    "Tool invocations by tool, front end and outcome (success or error code).",
    ["tool", "frontend", "status"],
)
TOOL_DURATION = FastHistogram(
    "tool_call_duration_seconds",
    "Tool run time (validation to result) by tool.",
    ["tool"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# Per-family counters, as the reference exports them (status: success | error | validation_error).
CRYPTO_OPERATIONS = FastCounter(
    "crypto_operations_total", "Crypto operations.", ["operation", "algorithm", "status"]
)
TEXT_OPERATIONS = FastCounter(
    "text_operations_total", "Text and data operations.", ["operation", "status"]
)
TRANSFORM_OPERATIONS = FastCounter(
    "transform_operations_total", "Transform operations.", ["operation", "format", "status"]
)
ID_OPERATIONS = FastCounter(
    "id_operations_total", "ID generation.", ["operation", "type", "status"]
)
TIME_OPERATIONS = FastCounter("time_operations_total", "Time operations.", ["operation", "status"])
NETWORK_OPERATIONS = FastCounter(
    "network_operations_total", "Network and URL operations.", ["operation", "status"]
)

# The hot-path families, which several workers pool through observability.multiproc.
FAST_COUNTERS = (
    HTTP_REQUESTS,
    HTTP_BY_COUNTRY,
    ERRORS,
    TOOL_CALLS,
    CRYPTO_OPERATIONS,
    TEXT_OPERATIONS,
    TRANSFORM_OPERATIONS,
    ID_OPERATIONS,
    TIME_OPERATIONS,
    NETWORK_OPERATIONS,
)
FAST_HISTOGRAMS = (HTTP_DURATION, TOOL_DURATION)

AUTH_FAILURES = Counter(
    "auth_failures_total",
    "Refused authentications by reason (missing, malformed, invalid_key, invalid_token, expired, "
    "not_yet_valid, wrong_issuer, wrong_audience, bad_algorithm).",
    ["reason"],
)
RATE_LIMIT_HITS = Counter(
    "rate_limit_hits_total", "Requests refused with 429, by limit class.", ["class"]
)
RATE_LIMIT_STORE_ERRORS = Counter(
    "rate_limit_store_errors_total",
    "Rate-limit store failures (Redis unreachable, timeout).",
    ["store"],
)
# Gauges say how several worker processes combine (prometheus_client's multi-process mode;
# ignored with one process): the live workers' max or sum, dead workers dropped.
RATE_LIMIT_DEGRADED = Gauge(
    "rate_limit_degraded",
    "1 while the shared rate-limit store is down and the fail mode applies.",
    multiprocess_mode="livemax",
)
SSRF_BLOCKS = Counter(
    "ssrf_blocks_total", "Outbound targets refused by the network policy, by reason.", ["reason"]
)
ARGON2_IN_FLIGHT = Gauge(
    "argon2_in_flight", "Argon2 computations running now.", multiprocess_mode="livesum"
)
ARGON2_REJECTED = Counter(
    "argon2_rejected_total", "Argon2 requests refused because the queue was full."
)
# Worker-process pools (devutils.execution.pool), by cost class.
POOL_BUSY = Gauge(
    "pool_busy_workers",
    "Pool processes running a call now, by cost class.",
    ["class"],
    multiprocess_mode="livesum",
)
POOL_QUEUED = Gauge(
    "pool_queued_calls",
    "Calls waiting for a pool process now, by cost class.",
    ["class"],
    multiprocess_mode="livesum",
)
POOL_TIMEOUTS = Counter(
    "pool_timeouts_total",
    "Pool calls that passed their deadline (504), waiting or running, by cost class.",
    ["class"],
)
POOL_KILLS = Counter(
    "pool_kills_total",
    "Pool processes killed or lost, by cost class and reason (timeout, cancelled, died, "
    "out_of_memory).",
    ["class", "reason"],
)
POOL_KILL_REASONS = ("timeout", "cancelled", "died", "out_of_memory")

BUILD_INFO = Gauge(
    "devutils_build_info",
    "Build information (always 1).",
    ["version", "python"],
    multiprocess_mode="livemax",
)
BUILD_INFO.labels(version=__version__, python=platform.python_version()).set(1)
