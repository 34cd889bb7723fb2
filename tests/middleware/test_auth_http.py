"""Authentication through the HTTP stack: default-deny routes, metrics, and the raw-socket matrix."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import REGISTRY

from devutils.http.app import Application
from tests.middleware.asgi_client import in_process
from tests.middleware.auth_support import ISSUER, SECRET, claims, hs_token
from tests.middleware.raw_http import raw_request
from tests.support import ServerProcess, run_server

KEY = "k1-" + "a" * 40
OTHER_KEY = "k2-" + "b" * 40
HASH_BODY = b'{"content":"a","algorithm":"sha256"}'
JSON = {"Content-Type": "application/json"}
HEALTH = {"/health", "/health/live", "/health/ready"}
PLAYGROUND = {
    "/",
    "/docs",
    "/static/app.css",
    "/static/common.js",
    "/static/playground.js",
    "/static/docs.js",
    "/static/icon.svg",
}


@pytest.mark.parametrize(
    "metrics_require_auth", [False, True], ids=["metrics-open", "metrics-auth"]
)
async def test_nothing_but_health_is_reachable_without_a_key(
    make_app: Callable[..., Application], metrics_require_auth: bool
) -> None:
    app = make_app(
        auth_method="api_key",
        auth_api_keys=KEY,
        metrics_require_auth=metrics_require_auth,
    )
    # The playground's pages and files are public too (their API calls carry the key); pinned
    # here so nothing else slips into the open set.
    assert app.public_routes == PLAYGROUND
    open_routes = (HEALTH if metrics_require_auth else HEALTH | {"/metrics"}) | PLAYGROUND
    checked = 0
    async with in_process(app) as client:
        for path, route in app.router.routes.items():
            for method in route.endpoints:
                response = await client.request(method, path)
                if path in open_routes:
                    assert response.status_code == 200, (method, path)
                else:
                    assert response.status_code == 401, (method, path)
                    if method != "HEAD":  # HEAD (with every GET route) is answered without body
                        error = response.json()["error"]
                        if path == "/mcp":  # a JSON-RPC error there, our code in its data
                            error = error["data"]
                        assert error["code"] == "AUTHENTICATION_ERROR"
                    assert response.headers["www-authenticate"] == 'Bearer realm="dev-utilities"'
                checked += 1
        unknown = await client.get("/api/v1/does-not-exist")
        assert unknown.status_code == 401  # no route map for strangers
    assert checked >= len(app.router.routes) >= 8
    assert "/mcp" in app.router.routes  # the MCP endpoint is covered by the loop above


async def test_a_valid_key_reaches_every_rest_route(make_app: Callable[..., Application]) -> None:
    app = make_app(auth_method="api_key", auth_api_keys=f"{KEY},{OTHER_KEY}", mcp_enabled=False)
    async with in_process(app) as client:
        for path, route in app.router.routes.items():
            for method in route.endpoints:
                response = await client.request(method, path, headers={"X-API-Key": OTHER_KEY})
                assert response.status_code != 401, (method, path)


async def test_failures_are_counted_by_reason(make_app: Callable[..., Application]) -> None:
    app = make_app(auth_method="api_key", auth_api_keys=KEY, mcp_enabled=False)

    def failures(reason: str) -> float:
        return REGISTRY.get_sample_value("auth_failures_total", {"reason": reason}) or 0.0

    before = {reason: failures(reason) for reason in ("missing", "invalid_key", "malformed")}
    async with in_process(app) as client:
        await client.post("/api/v1/crypto/hash", content=HASH_BODY, headers=JSON)
        await client.post(
            "/api/v1/crypto/hash", content=HASH_BODY, headers={**JSON, "X-API-Key": "no"}
        )
        await client.post(
            "/api/v1/crypto/hash", content=HASH_BODY, headers={**JSON, "X-API-Key": "no"}
        )
        await client.post(
            "/api/v1/crypto/hash",
            content=HASH_BODY,
            headers={**JSON, "Authorization": "Basic eDp5"},
        )
        ok = await client.post(
            "/api/v1/crypto/hash", content=HASH_BODY, headers={**JSON, "X-API-Key": KEY}
        )
        assert ok.status_code == 200
    assert failures("missing") - before["missing"] == 1
    assert failures("invalid_key") - before["invalid_key"] == 2
    assert failures("malformed") - before["malformed"] == 1


async def test_auth_off_serves_anonymously(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_enabled=False)
    async with in_process(app) as client:
        response = await client.post("/api/v1/crypto/hash", content=HASH_BODY, headers=JSON)
        assert response.status_code == 200
        assert "www-authenticate" not in response.headers


# --- over a real socket -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_server() -> Iterator[ServerProcess]:
    env = {"AUTH_METHOD": "api_key", "AUTH_API_KEYS": f"{KEY}, {OTHER_KEY}"}
    with run_server({**env, "RATE_LIMIT_ENABLED": "false"}) as server:
        yield server


SOCKET_CASES: list[tuple[str, list[str], int, str | None]] = [
    ("x-api-key", [f"X-API-Key: {KEY}"], 200, None),
    ("second-key-after-comma-space", [f"X-API-Key: {OTHER_KEY}"], 200, None),
    ("lowercase-header-name", [f"x-api-key: {KEY}"], 200, None),
    ("bearer", [f"Authorization: Bearer {KEY}"], 200, None),
    ("bearer-lowercase", [f"authorization: bearer {KEY}"], 200, None),
    # RFC 9110 §5.5: spaces and tabs around a field value are not part of it, so the server
    # strips them and the key matches; whitespace inside the value still fails.
    ("leading-ows", [f"X-API-Key:    {KEY}"], 200, None),
    ("trailing-spaces", [f"X-API-Key: {KEY}   "], 200, None),
    ("tab-padded", [f"X-API-Key:\t{KEY}\t"], 200, None),
    ("bearer-trailing-tab", [f"Authorization: Bearer {KEY}\t"], 200, None),
    ("bearer-two-spaces", [f"Authorization: Bearer  {KEY}"], 401, "credential contains whitespace"),
    (
        "duplicate-x-api-key",
        [f"X-API-Key: {KEY}", f"X-API-Key: {KEY}"],
        401,
        "send exactly one X-API-Key or Authorization header",
    ),
    (
        "duplicate-authorization",
        [f"Authorization: Bearer {KEY}", f"Authorization: Bearer {KEY}"],
        401,
        "send exactly one X-API-Key or Authorization header",
    ),
    (
        "key-and-bearer",
        [f"X-API-Key: {KEY}", f"Authorization: Bearer {KEY}"],
        401,
        "send exactly one X-API-Key or Authorization header",
    ),
    ("missing", [], 401, "send an API key in X-API-Key or Authorization: Bearer"),
    ("wrong-key", ["X-API-Key: nope"], 401, "API key not recognised"),
    ("empty-key", ["X-API-Key:"], 401, "credential is empty"),
    (
        "basic-scheme",
        [f"Authorization: Basic {KEY}"],
        401,
        "Authorization must use the Bearer scheme",
    ),
]


@pytest.mark.parametrize(
    ("lines", "status", "details"),
    [case[1:] for case in SOCKET_CASES],
    ids=[case[0] for case in SOCKET_CASES],
)
def test_api_key_matrix_over_a_socket(
    key_server: ServerProcess, lines: list[str], status: int, details: str | None
) -> None:
    response = raw_request(key_server.port, "POST", "/api/v1/crypto/hash", lines, HASH_BODY)
    assert response.status == status, response.body
    if status == 401:
        assert response.json() == {
            "success": False,
            "error": {
                "code": "AUTHENTICATION_ERROR",
                "message": "Authentication required" if not lines else "Authentication failed",
                "details": details,
            },
        }
        assert (response.header("WWW-Authenticate") or "").startswith(
            'Bearer realm="dev-utilities"'
        )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/health/live", 200),
        ("GET", "/health/ready", 200),
        ("GET", "/metrics", 200),
        ("GET", "/openapi.json", 401),
        ("GET", "/api/v1/tools", 401),
        ("GET", "/api/v1/status", 401),
        ("POST", "/mcp", 401),
        ("GET", "/mcp", 401),
        ("GET", "/nowhere", 401),
    ],
    ids=lambda value: str(value),
)
def test_open_and_protected_routes_over_a_socket(
    key_server: ServerProcess, method: str, path: str, status: int
) -> None:
    assert raw_request(key_server.port, method, path).status == status


def test_mcp_accepts_the_key(key_server: ServerProcess) -> None:
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    lines = [f"X-API-Key: {KEY}", "Accept: application/json, text/event-stream"]
    assert raw_request(key_server.port, "POST", "/mcp", lines, body).status != 401


@pytest.fixture(scope="module")
def jwt_server() -> Iterator[ServerProcess]:
    env = {
        "AUTH_METHOD": "jwt",
        "AUTH_JWT_SECRET": SECRET,
        "AUTH_JWT_ISSUER": ISSUER,
        "AUTH_JWT_LEEWAY": "10",
        "RATE_LIMIT_ENABLED": "false",
    }
    with run_server(env) as server:
        yield server


def _now() -> int:
    return int(time.time())


JWT_SOCKET_CASES: list[tuple[str, Callable[[], str], int, str | None]] = [
    ("valid", lambda: hs_token(claims(iss=ISSUER)), 200, None),
    ("expired", lambda: hs_token(claims(iss=ISSUER, exp=_now() - 60)), 401, "token has expired"),
    (
        "not-yet-valid",
        lambda: hs_token(claims(iss=ISSUER, nbf=_now() + 60)),
        401,
        "token is not yet valid",
    ),
    (
        "wrong-issuer",
        lambda: hs_token(claims(iss="https://evil.example")),
        401,
        "token issuer not accepted",
    ),
    (
        "no-exp",
        lambda: hs_token(claims(iss=ISSUER, exp=None)),
        401,
        "token lacks the required exp claim",
    ),
]


@pytest.mark.parametrize(
    ("make_token", "status", "details"),
    [case[1:] for case in JWT_SOCKET_CASES],
    ids=[case[0] for case in JWT_SOCKET_CASES],
)
def test_jwt_matrix_over_a_socket(
    jwt_server: ServerProcess, make_token: Callable[[], str], status: int, details: str | None
) -> None:
    lines = [f"Authorization: Bearer {make_token()}"]
    response = raw_request(jwt_server.port, "POST", "/api/v1/crypto/hash", lines, HASH_BODY)
    assert response.status == status, response.body
    if details is not None:
        assert response.json() == {
            "success": False,
            "error": {
                "code": "AUTHENTICATION_ERROR",
                "message": "Authentication failed",
                "details": details,
            },
        }
        assert 'error="invalid_token"' in (response.header("WWW-Authenticate") or "")
