"""Access log: one JSON line per request, safe fields only, level by status."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from devutils.http.app import Application
from devutils.http.asgi import Receive, Scope, Send
from tests.middleware.asgi_client import in_process
from tests.middleware.log_capture import access_lines, start_capture

FIELDS = {
    "time",
    "level",
    "msg",
    "request_id",
    "method",
    "route",
    "status",
    "latency_ms",
    "principal",
    "client_ip",
    "trace_id",
    "error_code",
    "user_agent",
}


async def test_one_line_per_request_with_the_agreed_fields(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    start_capture(capfd)
    ok = await client.post(
        "/api/v1/crypto/hash",
        json={"content": "x", "algorithm": "md5"},
        headers={"User-Agent": "agent/" + "u" * 400, "X-Request-ID": "req-1"},
    )
    missing = await client.get("/nowhere?token=abc")
    invalid = await client.post("/api/v1/crypto/hash", json={"algorithm": "sha3"})
    lines, _ = access_lines(capfd)
    assert [line["status"] for line in lines] == [200, 404, 400]
    assert all(set(line) == FIELDS for line in lines)
    first, second, third = lines
    assert first["level"] == "INFO"
    assert first["request_id"] == "req-1" == ok.headers["x-request-id"]
    assert first["route"] == "/api/v1/crypto/hash"
    assert first["method"] == "POST"
    assert first["client_ip"] == "127.0.0.1"
    assert first["principal"] is None
    assert first["error_code"] is None
    assert first["user_agent"] == ("agent/" + "u" * 400)[:256]
    assert isinstance(first["latency_ms"], float)
    assert first["latency_ms"] >= 0
    assert first["time"].endswith("Z")
    assert len(first["time"]) == len("2026-01-01T00:00:00.000Z")
    assert second["level"] == "WARNING"
    assert second["route"] == "unmatched"  # never the raw path or query
    assert second["error_code"] == "NOT_FOUND"
    assert second["request_id"] == missing.headers["x-request-id"]
    assert third["error_code"] == "VALIDATION_ERROR"
    assert third["request_id"] == invalid.headers["x-request-id"]


async def test_canaries_never_reach_the_logs(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    canary = f"CANARY-{uuid.uuid4()}"
    jwt_canary = (
        "eyJhbGciOiJIUzI1NiJ9."
        + orjson.dumps({"sub": canary}).hex()
        + "."
        + canary.replace("-", "_")
    )
    pem = f"-----BEGIN CERTIFICATE-----\n{canary}\n-----END CERTIFICATE-----\n"
    start_capture(capfd)
    requests: list[tuple[str, str, Any]] = [
        ("POST", "/api/v1/crypto/password/hash", {"password": canary}),
        ("POST", "/api/v1/crypto/password/verify", {"password": canary, "hash": canary}),
        ("POST", "/api/v1/crypto/hmac", {"content": canary, "key": canary, "algorithm": "sha256"}),
        ("POST", "/api/v1/transform/jwt/decode", {"token": jwt_canary}),
        ("POST", "/api/v1/crypto/cert/decode", {"certificate": pem}),
        ("POST", "/api/v1/crypto/hash", {"content": canary, "algorithm": "nope"}),
        ("GET", f"/api/v1/status?api_key={canary}", None),
        ("GET", f"/api/v1/{canary}", None),
    ]
    for method, path, body in requests:
        await client.request(
            method,
            path,
            json=body,
            headers={"X-API-Key": canary, "Authorization": f"Bearer {jwt_canary}"},
        )
    lines, everything = access_lines(capfd)
    assert len(lines) == len(requests)
    assert canary not in everything
    assert canary.replace("-", "_") not in everything


async def test_key_is_logged_as_fingerprint_only(
    make_app: Callable[..., Application], capfd: pytest.CaptureFixture[str]
) -> None:
    key = f"CANARY-{uuid.uuid4()}"
    app = make_app(auth_method="api_key", auth_api_keys=key, mcp_enabled=False)
    start_capture(capfd)
    async with in_process(app) as client:
        await client.post(
            "/api/v1/crypto/hash",
            json={"content": "", "algorithm": "md5"},
            headers={"X-API-Key": key},
        )
        await client.get("/api/v1/status", headers={"X-API-Key": key + "x"})
    lines, everything = access_lines(capfd)
    assert [line["status"] for line in lines] == [200, 401]
    assert lines[0]["principal"].startswith("key:")
    assert len(lines[0]["principal"]) == 16
    assert lines[1]["principal"] is None
    assert lines[1]["error_code"] == "AUTHENTICATION_ERROR"
    assert key not in everything


@pytest.mark.parametrize("metrics", [True, False], ids=["with-metrics", "log-only"])
async def test_log_level_filters_by_status(
    make_app: Callable[..., Application], capfd: pytest.CaptureFixture[str], metrics: bool
) -> None:
    async def boom(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("CANARY-boom")

    # log-only: successes are not even queued for recording (the recorders' min_status).
    app = make_app(log_level="warn", mcp_enabled=False, metrics_enabled=metrics)
    app.router.add("/boom", ("GET",), boom)
    start_capture(capfd)
    async with in_process(app) as client:
        await client.get("/health")
        await client.get("/nowhere")
        assert (await client.get("/boom")).status_code == 500
    lines, _ = access_lines(capfd)
    assert [(line["status"], line["level"]) for line in lines] == [(404, "WARNING"), (500, "ERROR")]
    assert lines[1]["error_code"] == "INTERNAL_ERROR"


@pytest.mark.parametrize(
    ("method", "path", "body", "pattern"),
    [
        (
            "POST",
            "/api/v1/network/headers",
            {"url": "http://127.0.0.1:1/"},
            r"ssrf\|blocked\|private",
        ),
        (
            "POST",
            "/api/v1/crypto/hash",
            {"content": "x", "algorithm": "md5"},
            r"crypto\|hash\|password",
        ),
    ],
    ids=["ssrf-investigation", "cpu-investigation"],
)
async def test_runbook_grep_queries_find_the_lines(
    client: httpx.AsyncClient,
    capfd: pytest.CaptureFixture[str],
    method: str,
    path: str,
    body: dict[str, str],
    pattern: str,
) -> None:
    """The runbook's ``kubectl logs | grep -i "<a>\\|<b>"`` queries match our access lines."""
    start_capture(capfd)
    await client.request(method, path, json=body)
    lines, _ = access_lines(capfd)
    words = pattern.split(r"\|")
    matching = [
        line for line in lines if any(w in orjson.dumps(line).decode().lower() for w in words)
    ]
    assert len(matching) == 1


def test_the_line_carries_the_time_the_request_ended_not_when_the_batch_was_written() -> None:
    import os

    from devutils.http.asgi import RequestState
    from devutils.http.middleware.access_log import AccessLog
    from devutils.observability.logging import LineWriter

    read_fd, write_fd = os.pipe()
    writer = LineWriter(fd=write_fd)
    state = RequestState(request_id="r1", route="/health")
    scope: dict[str, Any] = {"method": "GET", "headers": []}
    # 2026-01-02T03:04:05.678Z, recorded (as a drained batch would be) long after that.
    AccessLog(writer).record(scope, state, 200, 0.002, 1767323045.678)
    writer.flush()
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        line = orjson.loads(pipe.read())
    assert line["time"] == "2026-01-02T03:04:05.678Z"
    assert line["latency_ms"] == 2.0


async def test_each_line_carries_its_own_user_agent(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    """The decoded agent is reused from line to line only while it stays the same."""
    start_capture(capfd)
    agents = ["a/1", "a/1", "b/2", None, "a/1", "caf\u00e9/1"]
    for agent in agents:
        headers = {b"User-Agent": agent.encode()} if agent is not None else {}
        request = client.build_request("GET", "/health/live", headers=headers)
        if agent is None:
            del request.headers["User-Agent"]
        await client.send(request)
    lines, _ = access_lines(capfd)
    assert [line["user_agent"] for line in lines] == agents
