"""Access log: one JSON line per request on stdout.

Fields: time, level, msg "request", request_id, method, route (template), status, latency_ms,
principal (key fingerprint or JWT subject), client_ip, trace_id, error_code, user_agent (cut to
256 bytes).  Never bodies, query strings, raw paths, headers carrying credentials, or anything a
tool received: only what the request-context and authentication layers already reduced to safe
values.  Level: INFO below 400, WARNING for 4xx, ERROR for 5xx; lines below LOG_LEVEL cost only the
status check.
"""

from __future__ import annotations

import logging

import orjson

from devutils.http.asgi import RequestState, Scope
from devutils.http.middleware.recording import Outcome
from devutils.observability.logging import Clock, LineWriter, level_for_status

USER_AGENT_BYTES = 256

log = logging.getLogger("devutils.observability")


class AccessLog:
    """Request recorder (see RequestContextMiddleware): one JSON line per request."""

    def __init__(self, writer: LineWriter, min_level: int = logging.INFO) -> None:
        self.writer = writer
        self.min_level = min_level
        # The lowest status whose line passes min_level (statuses start at 100; 1000: none).
        self.min_status = next(
            (status for status in (100, 400, 500) if level_for_status(status)[1] >= min_level),
            1000,
        )
        self.clock = Clock()
        # Most lines repeat the previous line's user agent (one client, many requests).
        self._agent: tuple[bytes | None, str | None] = (None, None)

    def record(
        self, scope: Scope, state: RequestState, status: int, elapsed: float, at: float
    ) -> None:
        self.record_many([(scope, state, status, elapsed, at)])

    def record_many(self, outcomes: list[Outcome]) -> None:
        """The batch's lines, written to the buffer at once."""
        lines: list[bytes] = []
        now, min_level = self.clock.now, self.min_level
        for scope, state, status, elapsed, at in outcomes:
            try:
                level, number = level_for_status(status)
                if number < min_level:
                    continue
                raw_agent = state.user_agent
                last_raw, agent = self._agent
                if raw_agent != last_raw:
                    agent = (
                        raw_agent[:USER_AGENT_BYTES].decode("utf-8", "replace")
                        if raw_agent
                        else None
                    )
                    self._agent = (raw_agent, agent)
                entry = {
                    "time": now(at),
                    "level": level,
                    "msg": "request",
                    "request_id": state.request_id,
                    "method": scope["method"],
                    "route": state.route,
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 3),
                    "principal": state.principal,
                    "client_ip": state.client_ip,
                    "trace_id": state.trace_id,
                    "error_code": state.error_code,
                    "user_agent": agent,
                }
                lines.append(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
            except Exception:
                log.exception("recording failed")
        if lines:
            self.writer.write(b"".join(lines))
