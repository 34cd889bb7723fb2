"""CORS: preflights answered for allowed origins only; no CORS headers for anyone else."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from devutils.http.app import Application
from tests.middleware.asgi_client import in_process

HASH = "/api/v1/crypto/hash"
ALLOWED = "https://app.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_off_by_default(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False)
    async with in_process(app) as client:
        simple = await client.post(
            HASH, json={"content": "", "algorithm": "md5"}, headers={"Origin": ALLOWED}
        )
        preflight = await client.options(HASH, headers={"Origin": ALLOWED, **PREFLIGHT})
    # Without CORS_ALLOW_ORIGINS (or ALLOWED_ORIGINS) a foreign origin is refused outright.
    assert (simple.status_code, preflight.status_code) == (403, 403)
    assert cors_headers(simple) == {}
    assert cors_headers(preflight) == {}


KEY = "k-cors-test-0123456789"


@pytest.mark.parametrize(
    "configured",
    ["https://app.example", "https://App.example/, https://other.example"],
    ids=["exact", "normalised-list"],
)
async def test_allowed_origin(make_app: Callable[..., Application], configured: str) -> None:
    # Authentication on: the preflight must pass without credentials, the real call must not.
    app = make_app(
        mcp_enabled=False, cors_allow_origins=configured, auth_method="api_key", auth_api_keys=KEY
    )
    async with in_process(app) as client:
        preflight = await client.options(HASH, headers={"Origin": ALLOWED, **PREFLIGHT})
        call = await client.post(
            HASH,
            json={"content": "", "algorithm": "md5"},
            headers={"Origin": ALLOWED, "X-API-Key": KEY},
        )
        refused = await client.post(
            HASH, json={"content": "", "algorithm": "md5"}, headers={"Origin": ALLOWED}
        )
    assert preflight.status_code == 204
    assert preflight.content == b""
    allowed = cors_headers(preflight)
    assert allowed["access-control-allow-origin"] == ALLOWED
    assert "POST" in allowed["access-control-allow-methods"]
    assert "X-API-Key" in allowed["access-control-allow-headers"]
    assert allowed["access-control-max-age"] == "600"
    assert preflight.headers["x-content-type-options"] == "nosniff"  # security headers too
    assert call.status_code == 200
    assert call.headers["access-control-allow-origin"] == ALLOWED
    assert "X-Request-ID" in call.headers["access-control-expose-headers"]
    assert call.headers["vary"] == "Origin"
    # Errors carry CORS headers too, so the browser can show the 401 to the script.
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ALLOWED


async def test_disallowed_origin_gets_no_cors_headers(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False, cors_allow_origins=ALLOWED)
    async with in_process(app) as client:
        evil = {"Origin": "https://evil.example"}
        simple = await client.post(HASH, json={"content": "", "algorithm": "md5"}, headers=evil)
        preflight = await client.options(HASH, headers={**evil, **PREFLIGHT})
        null_origin = await client.post(
            HASH, json={"content": "", "algorithm": "md5"}, headers={"Origin": "null"}
        )
    # Origins CORS does not allow are refused by the Origin check, and get no CORS headers.
    assert (simple.status_code, preflight.status_code, null_origin.status_code) == (403,) * 3
    assert simple.json()["error"]["code"] == "FORBIDDEN"
    assert cors_headers(simple) == {}
    assert cors_headers(preflight) == {}
    assert cors_headers(null_origin) == {}


async def test_wildcard(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False, cors_allow_origins="*")
    async with in_process(app) as client:
        response = await client.post(
            HASH,
            json={"content": "", "algorithm": "md5"},
            headers={"Origin": "https://any.example"},
        )
        no_origin = await client.post(HASH, json={"content": "", "algorithm": "md5"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert cors_headers(no_origin) == {}  # not a browser cross-origin call


@pytest.mark.parametrize(
    ("configured", "origin", "allowed"),
    [
        # Leading labels: what the Origin check lets through, CORS answers too.
        ("https://*.example.org", "https://a.example.org", True),
        ("https://*.example.org", "https://a.b.example.org", True),
        ("https://*.example.org", "https://example.org", False),
        ("https://*.example.org", "http://a.example.org", False),
        # A scheme's default port written out is the origin browsers send without it.
        ("https://app.example:443", "https://app.example", True),
        ("https://app.example", "https://app.example:8443", False),
        ("http://localhost:*", "http://localhost:5173", True),
    ],
    ids=["label", "labels", "apex", "scheme", "default-port", "other-port", "any-port"],
)
async def test_pattern_entries_answer_as_the_origin_check_lets_through(
    make_app: Callable[..., Application], configured: str, origin: str, allowed: bool
) -> None:
    app = make_app(mcp_enabled=False, cors_allow_origins=configured)
    async with in_process(app) as client:
        preflight = await client.options(HASH, headers={"Origin": origin, **PREFLIGHT})
        call = await client.post(
            HASH, json={"content": "", "algorithm": "md5"}, headers={"Origin": origin}
        )
    if allowed:
        assert (preflight.status_code, call.status_code) == (204, 200)
        assert preflight.headers["access-control-allow-origin"] == origin
        assert call.headers["access-control-allow-origin"] == origin
    else:
        assert (preflight.status_code, call.status_code) == (403, 403)
        assert cors_headers(preflight) == cors_headers(call) == {}
