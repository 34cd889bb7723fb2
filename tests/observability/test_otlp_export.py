"""Spans from a real server process reach a real OTLP/HTTP receiver, linked and named."""

from __future__ import annotations

import secrets

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.middleware.raw_http import raw_request
from tests.observability.otlp_receiver import run_receiver
from tests.support import run_server

HASH_BODY = b'{"content":"a","algorithm":"sha256"}'


def traceparent(sampled: bool = True) -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-{'01' if sampled else '00'}", trace_id, parent_id


def tracing_env(endpoint: str, rate: str) -> dict[str, str]:
    return {
        "TRACING_ENABLED": "true",
        "TRACING_EXPORTER": "otlp",
        "TRACING_OTLP_ENDPOINT": endpoint,
        "TRACING_OTLP_HEADERS": "x-collector-token=abc%3D1",
        "TRACING_SAMPLE_RATE": rate,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "RATE_LIMIT_ENABLED": "false",
    }


def test_server_and_tool_spans_are_exported_and_linked() -> None:
    header, trace_id, parent_id = traceparent()
    with run_receiver() as receiver, run_server(tracing_env(receiver.endpoint, "1")) as server:
        response = raw_request(
            server.port, "POST", "/api/v1/crypto/hash", [f"traceparent: {header}"], HASH_BODY
        )
        assert response.status == 200
        assert response.header("X-Trace-ID") == trace_id
        missing = raw_request(server.port, "GET", "/no/such/path")
        assert missing.status == 404
        # The readiness probe's own span may come in any batch: wait by name, not by count.
        by_name = receiver.wait_for_names(
            "POST /api/v1/crypto/hash", "execute_tool crypto_hash", "GET"
        )
    server_span = by_name["POST /api/v1/crypto/hash"]
    tool_span = by_name["execute_tool crypto_hash"]
    unmatched = by_name["GET"]  # unknown paths: method only, bounded names
    assert server_span.trace_id == trace_id
    assert server_span.parent_span_id == parent_id  # the incoming traceparent is honoured
    assert server_span.kind == Span.SPAN_KIND_SERVER
    assert server_span.attributes["http.route"] == "/api/v1/crypto/hash"
    assert server_span.attributes["http.response.status_code"] == 200
    assert tool_span.trace_id == trace_id
    assert tool_span.parent_span_id == server_span.span_id
    assert tool_span.attributes["gen_ai.tool.name"] == "crypto_hash"
    assert unmatched.trace_id == missing.header("X-Trace-ID")
    assert unmatched.parent_span_id == ""
    assert unmatched.attributes["http.response.status_code"] == 404
    assert "http.route" not in unmatched.attributes
    assert server_span.resource["service.name"] == "dev-utilities"
    assert server_span.resource["deployment.environment"] == "development"
    assert receiver.headers[0]["x-collector-token"] == "abc=1"
    assert receiver.headers[0]["content-type"] == "application/x-protobuf"


def test_sample_rate_zero_follows_a_sampled_parent_only() -> None:
    sampled, sampled_id, _ = traceparent(sampled=True)
    unsampled, unsampled_id, _ = traceparent(sampled=False)
    with run_receiver() as receiver:
        with run_server(tracing_env(receiver.endpoint, "0")) as server:
            seen = []
            for line in (sampled, unsampled, None):
                lines = [f"traceparent: {line}"] if line else []
                response = raw_request(server.port, "POST", "/api/v1/crypto/hash", lines, HASH_BODY)
                assert response.status == 200
                seen.append(response.header("X-Trace-ID"))
            assert seen[:2] == [sampled_id, unsampled_id]  # both parents are followed
            assert seen[2] is not None
            assert len(seen[2]) == 32
            assert seen[2] not in seen[:2]
            receiver.wait_for(2)
        # The server has stopped: its final export has been made.
        exported = {span.trace_id for span in receiver.spans}
    assert exported == {sampled_id}
    assert sorted(span.name for span in receiver.spans) == [
        "POST /api/v1/crypto/hash",
        "execute_tool crypto_hash",
    ]
