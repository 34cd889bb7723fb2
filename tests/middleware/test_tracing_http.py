"""Server-span layer in process: trace ids in headers and logs, W3C propagation, off = absent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devutils.http.app import Application
from devutils.http.asgi import STATE_KEY, Message, Receive, RequestState, Scope, Send
from devutils.http.middleware.tracing import TracingMiddleware
from tests.middleware.asgi_client import in_process
from tests.middleware.log_capture import access_lines, start_capture

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
OTHER_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
UNSAMPLED = f"00-{OTHER_TRACE_ID}-b7ad6b7169203331-00"


@pytest.mark.parametrize("rate", [1.0, 0.0], ids=["sampled", "rate-0"])
async def test_trace_id_in_header_and_access_log(
    make_app: Callable[..., Application], capfd: pytest.CaptureFixture[str], rate: float
) -> None:
    app = make_app(
        mcp_enabled=False,
        tracing_enabled=True,
        tracing_exporter="none",
        tracing_sample_rate=rate,
    )
    start_capture(capfd)
    async with in_process(app) as client:
        fresh = await client.post("/api/v1/crypto/hash", json={"algorithm": "md5"})
        followed = await client.post(
            "/api/v1/crypto/hash", json={"algorithm": "md5"}, headers={"traceparent": PARENT}
        )
        garbage = await client.get("/health", headers={"traceparent": "00-zz-yy-01"})
        unsampled = await client.get("/health", headers={"traceparent": UNSAMPLED})
    lines, _ = access_lines(capfd)
    responses = (fresh, followed, garbage, unsampled)
    ids = [response.headers["x-trace-id"] for response in responses]
    assert ids[1] == TRACE_ID
    assert ids[3] == OTHER_TRACE_ID  # an unsampled parent is followed too
    assert all(len(value) == 32 and int(value, 16) for value in ids)
    assert len(set(ids)) == 4  # a malformed traceparent starts a new trace
    assert [line["trace_id"] for line in lines] == ids


async def test_tracing_off_adds_nothing(
    make_app: Callable[..., Application], capfd: pytest.CaptureFixture[str]
) -> None:
    app = make_app(mcp_enabled=False)
    start_capture(capfd)
    async with in_process(app) as client:
        response = await client.get("/health", headers={"traceparent": PARENT})
    lines, _ = access_lines(capfd)
    assert "x-trace-id" not in response.headers
    assert lines[0]["trace_id"] is None


async def test_a_call_cancelled_when_its_client_left_is_a_499_span() -> None:
    """The server cancels the task of a request whose client went away: the span records the
    499 the access log and metrics record, not a status of 0."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    started = asyncio.Event()

    async def waits_for_ever(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        await asyncio.Event().wait()

    layer = TracingMiddleware(waits_for_ever, provider.get_tracer("test"))
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/crypto/password/hash",
        "headers": [],
        STATE_KEY: RequestState("req-1", "/api/v1/crypto/password/hash"),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    task = asyncio.create_task(layer(scope, receive, send))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 499
    assert span.attributes["error.type"] == "ClientDisconnected"
