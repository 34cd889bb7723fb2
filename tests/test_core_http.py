"""The HTTP core: envelopes, routing, limits, request ids, security headers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import httpx
import pytest

from devutils.errors import ALL_ERRORS
from devutils.http.app import GC_YOUNG_THRESHOLD, Application
from devutils.readiness import Readiness, ReadinessCheck

SHA256_HELLO = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"


async def test_success_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/crypto/hash", json={"content": "hello world", "algorithm": "sha256"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "success": True,
        "data": {"hash": SHA256_HELLO, "algorithm": "sha256"},
    }


async def test_error_envelope_is_pinned(client: httpx.AsyncClient) -> None:
    """One test pins the error envelope shape for every module (API-DELTAS D1)."""
    response = await client.post("/api/v1/crypto/hash", json={"content": "", "algorithm": "sha3"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"success", "error"}
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["message"] == "Invalid request format"
    assert "algorithm" in body["error"]["details"]


def test_error_codes_and_statuses_match_the_delta_table() -> None:
    table = {cls.code: cls.status for cls in ALL_ERRORS}
    assert table == {
        "VALIDATION_ERROR": 400,
        "AUTHENTICATION_ERROR": 401,
        "SSRF_BLOCKED": 403,
        "FORBIDDEN": 403,
        "NOT_FOUND": 404,
        "METHOD_NOT_ALLOWED": 405,
        "REQUEST_TOO_LARGE": 413,
        "URI_TOO_LONG": 414,
        "REQUEST_HEADER_TOO_LARGE": 431,
        "REQUEST_TIMEOUT": 408,
        "UNSUPPORTED_MEDIA_TYPE": 415,
        "RATE_LIMIT_ERROR": 429,
        "INTERNAL_ERROR": 500,
        "NOT_IMPLEMENTED": 501,
        "UPSTREAM_ERROR": 502,
        "SERVICE_UNAVAILABLE": 503,
        "TIMEOUT": 504,
        "HTTP_VERSION_NOT_SUPPORTED": 505,
    }


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"{", "malformed JSON"),
        (b'{"content": "x", "algorithm": "md5"} trailing', "malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b'{"content": NaN, "algorithm": "md5"}', "malformed JSON"),
        (b'{"content": "x", "algorithm": "md5", "n": Infinity}', "malformed JSON"),
        (b'{"content": "\\ud800", "algorithm": "md5"}', "malformed JSON"),
        (b'{"content": 1e400, "algorithm": "md5"}', "malformed JSON"),
        (b'{"content": 123456789012345678901234567890, "algorithm": "md5"}', "content"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON"),
        (b'{"content": true, "algorithm": "md5"}', "content"),
        (b'{"content": "x", "algorithm": "MD5"}', "algorithm"),
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "trailing-garbage",
        "array",
        "string",
        "nan",
        "infinity",
        "lone-surrogate",
        "huge-float",
        "huge-int",
        "deep-nesting",
        "bool-for-string",
        "enum-case",
    ],
)
async def test_bad_bodies_are_400(client: httpx.AsyncClient, body: bytes, detail_part: str) -> None:
    headers = {"Content-Type": "application/json"}
    response = await client.post("/api/v1/crypto/hash", content=body, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert detail_part in error["details"]


async def test_snake_case_aliases_and_null_defaults(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/transform/base64", json={"content": "hi", "action": "encode", "url_safe": None}
    )
    assert response.json()["data"]["result"] == "aGk="


async def test_unknown_path_is_404_with_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "NOT_FOUND",
        "message": "Endpoint not found",
        "details": "The requested endpoint does not exist",
    }


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/health")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    response = await client.get("/api/v1/crypto/hash")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_trailing_slash_redirects(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/")
    assert response.status_code == 301
    assert response.headers["location"] == "/health"
    response = await client.post("/api/v1/crypto/hash/", json={})
    assert response.status_code == 307


async def test_body_limit_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"content": "' + b"a" * (1024 * 1024) + b'", "algorithm": "md5"}'
    response = await client.post("/api/v1/crypto/hash", content=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "REQUEST_TOO_LARGE"


async def test_body_limit_without_content_length(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"a" * 65536

    response = await client.post("/api/v1/crypto/hash", content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("incoming", "echoed"),
    [
        ("abc-123_X.y", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("bad id", False),
        ("<script>", False),
    ],
)
async def test_request_id_echoed_only_when_safe(
    client: httpx.AsyncClient, incoming: str, echoed: bool
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": incoming})
    request_id = response.headers["x-request-id"]
    assert (request_id == incoming) is echoed
    if not echoed:
        assert len(request_id) == 32
        assert all(c in "0123456789abcdef" for c in request_id)


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/missing"),
        await client.post("/api/v1/crypto/hash", content=b"{"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-request-id"]


async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    for response in [await client.get("/health") for _ in range(2)]:  # built, then reused
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["content-length"] == str(len(response.content))
        assert response.headers["x-content-type-options"] == "nosniff"
    health = (await client.get("/health")).json()
    assert health["status"] == "ok"
    assert health["service"] == "dev-utilities"
    assert health["timestamp"].endswith("Z")
    assert (await client.get("/health/live")).json() == {"status": "alive"}
    assert (await client.get("/health/ready")).json() == {"status": "ready"}
    status = (await client.get("/api/v1/status")).json()
    from devutils import __version__

    assert status == {"service": "dev-utilities", "version": __version__, "status": "running"}


def _fixed(state: Readiness) -> ReadinessCheck:
    def check() -> tuple[Readiness, str]:
        return state, f"{state} detail"

    return check


@pytest.mark.parametrize(
    ("states", "draining", "status", "word"),
    [
        ((), False, 200, "ready"),
        (("ok", "degraded"), False, 200, "degraded"),
        (("degraded", "down"), False, 503, "not ready"),
        (("ok",), True, 503, "not ready"),
    ],
    ids=["no-checks", "degraded-stays-ready", "down-is-503", "draining"],
)
async def test_readiness_states(
    make_app: Callable[..., Application],
    states: tuple[Readiness, ...],
    draining: bool,
    status: int,
    word: str,
) -> None:
    app = make_app()
    for index, state in enumerate(states):
        app.health.checks[f"dep{index}"] = _fixed(state)
    app.health.draining = draining
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.get("/health/ready")
    assert response.status_code == status
    body = response.json()
    assert body["status"] == word
    assert [check["status"] for check in body.get("checks", {}).values()] == list(states)


async def test_oversized_bodies_are_counted(client: httpx.AsyncClient) -> None:
    big = b'{"content": "' + b"a" * (2 * 1024 * 1024) + b'", "algorithm": "md5"}'
    assert (await client.post("/api/v1/crypto/hash", content=big)).status_code == 413
    metrics = (await client.get("/metrics")).text
    sample = 'http_requests_total{method="POST",route="/api/v1/crypto/hash",status_code="413"}'
    assert any(
        line.startswith(sample) and float(line.split()[-1]) >= 1 for line in metrics.splitlines()
    )
    assert 'errors_total{code="REQUEST_TOO_LARGE",type="client_error"}' in metrics


async def test_start_up_freezes_its_objects_and_raises_the_young_gc_threshold(
    make_app: Callable[..., Application],
) -> None:
    """Through the ASGI lifespan protocol, as a server starts the app."""
    app = make_app()
    saved = gc.get_threshold()
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return await inbox.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])

    gc.set_threshold(700, *saved[1:])
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.ensure_future(app({"type": "lifespan"}, receive, send))
    try:
        for _ in range(500):
            if sent:
                break
            await asyncio.sleep(0.01)
        assert sent == ["lifespan.startup.complete"]
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await task
        gc.unfreeze()
        gc.set_threshold(*saved)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
