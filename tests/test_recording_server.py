"""Batched recording on a real server: a scrape counts every finished request at once, and a
graceful stop writes every access line."""

from __future__ import annotations

import re
import signal

import orjson

from tests.middleware.raw_http import raw_request
from tests.support import run_server

REQUESTS = 37  # fewer than one batch: nothing is applied until a read, a tick or the stop
BODY = b'{"content":"a","algorithm":"md5"}'


def _counter(text: str, route: str) -> float:
    pattern = rf'^http_requests_total\{{method="POST",route="{re.escape(route)}",status_code="200"\}} (\S+)$'
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_scrape_sees_every_request_and_stop_writes_every_line() -> None:
    sent = [f"rec-{index:04d}" for index in range(REQUESTS)]
    # A long drain delay would only slow the stop down; the batch tick is not what is tested.
    env = {"SHUTDOWN_DRAIN_DELAY": "0", "LOG_LEVEL": "info", "RATE_LIMIT_ENABLED": "false"}
    with run_server(env) as server:
        for request_id in sent:
            response = raw_request(
                server.port, "POST", "/api/v1/crypto/hash", [f"X-Request-ID: {request_id}"], BODY
            )
            assert response.status == 200
        metrics = raw_request(server.port, "GET", "/metrics").body.decode()
        assert _counter(metrics, "/api/v1/crypto/hash") == REQUESTS
        tool_line = re.search(
            r'^tool_calls_total\{frontend="rest",status="success",tool="crypto_hash"\} (\S+)$'
            r'|^tool_calls_total\{tool="crypto_hash",frontend="rest",status="success"\} (\S+)$',
            metrics,
            re.MULTILINE,
        )
        assert tool_line is not None
        assert float(tool_line.group(1) or tool_line.group(2)) == REQUESTS
        assert server.stop(signal.SIGTERM) == 0
        logged = [
            line["request_id"]
            for line in map(orjson.loads, server.logs().splitlines())
            if line.get("msg") == "request" and line.get("route") == "/api/v1/crypto/hash"
        ]
    assert logged == sent  # every line, in order
