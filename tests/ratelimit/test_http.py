"""Rate limiting through the application: tool calls (REST and MCP), other routes, headers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from unittest import mock

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from devutils.errors import RateLimitError
from devutils.http.app import Application, create_app
from devutils.ratelimit.limiter import RateLimiter
from devutils.ratelimit.redis_store import RedisStore
from devutils.registry import CallInfo, Registry, ToolContext, catalogue
from devutils.settings import Settings
from tests.conftest import FIXED_NOW, make_settings

SOURCE = "/api/v1/crypto/hash"
HASH = "/api/v1/test/defaulthash"
BODY = {"content": "hello world", "algorithm": "sha256"}
LIMITS: dict[str, Any] = {
    "mcp_enabled": False,  # MCP's own lifespan is not what these tests exercise
    "rate_limit_enabled": True,
    "rate_limit_anonymous_per_minute": 60,
    "rate_limit_anonymous_burst": 3,
    "rate_limit_authenticated_per_minute": 120,
    "rate_limit_authenticated_burst": 4,
    "rate_limit_crypto_per_minute": 30,
    "rate_limit_crypto_burst": 2,
    "rate_limit_network_per_minute": 20,
    "rate_limit_network_burst": 1,
}


# The limiter's clocks, frozen: no token comes back during a test however long the machine
# stalls between two requests (the anonymous bucket refills one a second), and the figures in
# the headers are exact.
FROZEN_MONOTONIC = 1000.0
FROZEN_WALL = 1_700_000_000


def _frozen_limiter(settings: Settings, redis: RedisStore | None = None) -> RateLimiter:
    return RateLimiter(
        settings, redis, clock=lambda: FROZEN_MONOTONIC, wall_clock=lambda: float(FROZEN_WALL)
    )


def _registry_with_classes(**overrides: Any) -> tuple[Application, Registry]:
    """The real catalogue plus copies of the hash tool, one in each rate class."""
    settings = make_settings(**{**LIMITS, **overrides})
    base = next(spec for spec in catalogue() if spec.path == SOURCE)
    extra = (
        dataclasses.replace(base, path=HASH, rate_class="default"),
        dataclasses.replace(base, path="/api/v1/test/cryptohash", rate_class="crypto"),
        dataclasses.replace(base, path="/api/v1/test/networkhash", rate_class="network"),
    )
    registry = Registry((*catalogue(), *extra), ToolContext(settings, clock=lambda: FIXED_NOW))
    # The app builds its limiter from the settings alone: the frozen one is put in its place
    # where install_rate_limiting looks the class up, for the app's construction only.
    with mock.patch("devutils.http.middleware.ratelimit.RateLimiter", _frozen_limiter):
        app = create_app(settings, registry)
    return app, registry


@pytest.fixture
async def limited() -> AsyncIterator[tuple[httpx.AsyncClient, Registry]]:
    app, registry = _registry_with_classes()
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http, registry


def hits(rate_class: str) -> float:
    return REGISTRY.get_sample_value("rate_limit_hits_total", {"class": rate_class}) or 0.0


async def test_headers_count_down_and_reset_is_unix_time(
    limited: tuple[httpx.AsyncClient, Registry],
) -> None:
    http, _ = limited
    for expected_remaining in (2, 1, 0):
        response = await http.post(HASH, json=BODY)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "60"
        assert response.headers["x-ratelimit-remaining"] == str(expected_remaining)
        # One request per second refills: the bucket is full again 3 - remaining seconds after
        # now, given as the Unix time of the (frozen) wall clock.
        full_in = 3 - expected_remaining
        assert int(response.headers["x-ratelimit-reset"]) == FROZEN_WALL + full_in
        assert "retry-after" not in response.headers


async def test_refusal_is_429_envelope_with_retry_after(
    limited: tuple[httpx.AsyncClient, Registry],
) -> None:
    http, _ = limited
    for _ in range(3):
        assert (await http.post(HASH, json=BODY)).status_code == 200
    counted = hits("anonymous")
    response = await http.post(HASH, json=BODY)
    assert response.status_code == 429
    assert orjson.loads(response.content) == {
        "success": False,
        "error": {
            "code": "RATE_LIMIT_ERROR",
            "message": "Rate limit exceeded",
            "details": "Limit: 60 requests per minute, burst 3",
        },
    }
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-ratelimit-limit"] == "60"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) == FROZEN_WALL + 3
    assert response.headers["content-type"].startswith("application/json")
    assert hits("anonymous") == counted + 1


async def test_refused_before_validation(limited: tuple[httpx.AsyncClient, Registry]) -> None:
    http, _ = limited
    statuses = [(await http.post(HASH, json={"algorithm": 7})).status_code for _ in range(4)]
    # Bad requests still spend tokens (a flood of garbage is limited too), and once the bucket is
    # empty the call is refused without parsing.
    assert statuses == [400, 400, 400, 429]


async def test_a_call_refused_after_admission_says_what_it_spent(
    limited: tuple[httpx.AsyncClient, Registry],
) -> None:
    http, _ = limited
    # Bad input, a bad media type and a bad content coding: each spent a token, and says so in
    # the same headers a served call carries, so a client pacing itself on them sees it.
    refused = [
        await http.post(HASH, json={"algorithm": 7}),
        await http.post(HASH, content=b"{}", headers={"Content-Type": "text/plain"}),
    ]
    assert [response.status_code for response in refused] == [400, 415]
    for remaining, response in zip((2, 1), refused, strict=True):
        assert response.headers["x-ratelimit-limit"] == "60"
        assert response.headers["x-ratelimit-remaining"] == str(remaining)
        assert int(response.headers["x-ratelimit-reset"]) == FROZEN_WALL + 3 - remaining
        assert "retry-after" not in response.headers
    served = await http.post(HASH, json=BODY)
    assert served.headers["x-ratelimit-remaining"] == "0"
    refused_now = await http.post(HASH, json=BODY)
    assert refused_now.status_code == 429
    # The refusal's own headers, once each.
    assert refused_now.headers.get_list("x-ratelimit-remaining") == ["0"]
    assert refused_now.headers.get_list("retry-after") == ["1"]


async def test_forwarded_for_rotation_does_not_escape(
    limited: tuple[httpx.AsyncClient, Registry],
) -> None:
    http, _ = limited
    statuses = [
        (
            await http.post(HASH, json=BODY, headers={"X-Forwarded-For": f"203.0.113.{index}"})
        ).status_code
        for index in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


async def test_tool_classes_have_their_own_buckets(
    limited: tuple[httpx.AsyncClient, Registry],
) -> None:
    http, _ = limited
    crypto = [await http.post("/api/v1/test/cryptohash", json=BODY) for _ in range(3)]
    assert [r.status_code for r in crypto] == [200, 200, 429]
    assert {r.headers["x-ratelimit-limit"] for r in crypto} == {"30"}
    assert crypto[2].headers["retry-after"] == "2"  # 30/min: one token every 2 s
    network = [await http.post("/api/v1/test/networkhash", json=BODY) for _ in range(2)]
    assert [r.status_code for r in network] == [200, 429]
    assert network[0].headers["x-ratelimit-limit"] == "20"
    default = await http.post(HASH, json=BODY)
    assert default.status_code == 200
    assert default.headers["x-ratelimit-remaining"] == "2"


async def test_other_routes_share_the_anonymous_bucket(
    limited: tuple[httpx.AsyncClient, Registry],
) -> None:
    http, _ = limited
    status = await http.get("/api/v1/status")
    assert status.status_code == 200
    assert status.headers["x-ratelimit-remaining"] == "2"
    assert (await http.get("/no/such/path")).status_code == 404  # scanners are limited too
    assert (await http.post(HASH, json=BODY)).status_code == 200
    refused = await http.get("/api/v1/tools")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert orjson.loads(refused.content)["error"]["code"] == "RATE_LIMIT_ERROR"


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready"])
async def test_health_is_never_limited(
    limited: tuple[httpx.AsyncClient, Registry], path: str
) -> None:
    http, _ = limited
    responses = [await http.get(path) for _ in range(10)]
    assert [r.status_code for r in responses] == [200] * 10
    assert all("x-ratelimit-limit" not in r.headers for r in responses)


async def test_mcp_calls_are_limited_by_principal() -> None:
    _, registry = _registry_with_classes()
    spec = registry.by_path(HASH)
    assert spec is not None

    async def call(principal: str | None, ip: str = "192.0.2.20") -> CallInfo:
        info = CallInfo(
            frontend="mcp", principal=principal, authenticated=principal is not None, client_ip=ip
        )
        await registry.invoke(spec, BODY, info)
        return info

    first = await call("key:0a1b2c3d")
    assert dict(first.response_headers)[b"x-ratelimit-limit"] == b"120"  # authenticated class
    assert dict(first.response_headers)[b"x-ratelimit-remaining"] == b"3"
    for _ in range(3):
        await call("key:0a1b2c3d")
    with pytest.raises(RateLimitError) as refused:
        await call("key:0a1b2c3d")
    assert refused.value.headers["Retry-After"] == "1"
    assert refused.value.headers["X-RateLimit-Remaining"] == "0"
    # Another key from the same address, and anonymous calls from it, have their own buckets.
    assert dict((await call("key:99887766")).response_headers)[b"x-ratelimit-remaining"] == b"3"
    anonymous = await call(None)
    assert dict(anonymous.response_headers)[b"x-ratelimit-limit"] == b"60"
    assert dict(anonymous.response_headers)[b"x-ratelimit-remaining"] == b"2"


async def test_disabled_means_no_limits_and_no_headers() -> None:
    app, _ = _registry_with_classes(rate_limit_enabled=False)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.30", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        responses = [await http.post(HASH, json=BODY) for _ in range(8)]
        status = await http.get("/api/v1/status")
    assert [r.status_code for r in responses] == [200] * 8
    assert all("x-ratelimit-limit" not in r.headers for r in [*responses, status])
    assert "rate_limit_store" not in app.health.checks
