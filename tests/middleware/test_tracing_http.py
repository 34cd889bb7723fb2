"""Server-span layer in process: trace ids in headers and logs, W3C propagation, off = absent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devutils.http.app import Application
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
