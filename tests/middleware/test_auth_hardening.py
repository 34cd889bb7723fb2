"""Authentication under attack, over a real socket: malformed JWTs are 401s (never 500s) and
failed authentications are throttled per client address (memory and Redis stores)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from tests.middleware.auth_support import ISSUER, SECRET, claims, hs_token, unsigned_token
from tests.middleware.raw_http import raw_request
from tests.support import ServerProcess, run_redis, run_server

HASH_BODY = b'{"content":"a","algorithm":"sha256"}'
KEY = "hardening-key-" + "a" * 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(header: dict[str, Any] | bytes, payload: dict[str, Any] | None = None) -> str:
    """A token with a valid HS256 signature over whatever header the test wants."""
    raw_header = header if isinstance(header, bytes) else orjson.dumps(header)
    body = orjson.dumps(payload if payload is not None else claims(iss=ISSUER))
    signing_input = f"{_b64(raw_header)}.{_b64(body)}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def forged(header: dict[str, Any] | bytes) -> str:
    """What a stranger sends: any header, a signature made without the secret."""
    return signed(header).rsplit(".", 1)[0] + "." + _b64(b"forged-signature")


MALFORMED: list[tuple[str, Callable[[], str]]] = [
    ("crit-empty", lambda: signed({"alg": "HS256", "typ": "JWT", "crit": []})),
    ("crit-unknown-extension", lambda: signed({"alg": "HS256", "crit": ["exp-x"], "exp-x": 1})),
    ("crit-not-a-list", lambda: signed({"alg": "HS256", "crit": "b64"})),
    ("kid-not-a-string", lambda: signed({"alg": "HS256", "kid": 7})),
    ("header-bad-base64", lambda: "!!!*." + _b64(b"{}") + ".c2ln"),
    ("header-bad-json", lambda: signed(b'{"alg":"HS256",')),
    ("header-json-array", lambda: signed(b'["HS256"]')),
    ("header-nan", lambda: forged(b'{"alg":"HS256","x":NaN}')),
    ("header-lone-surrogate", lambda: forged(b'{"alg":"HS256","kid":"\\ud800"}')),
    ("header-deeply-nested", lambda: signed(b"[" * 2500 + b"]" * 2500)),
    ("header-huge", lambda: forged({"alg": "HS256", "pad": "x" * 5000})),
    ("header-over-8-kib", lambda: signed({"alg": "HS256", "pad": "x" * 9000})),
    ("payload-bad-json", lambda: _b64(b'{"alg":"HS256"}') + "." + _b64(b"{") + ".c2ln"),
    ("two-segments", lambda: _b64(b'{"alg":"HS256"}') + "." + _b64(b"{}")),
    ("four-segments", lambda: signed({"alg": "HS256"}) + ".extra"),
    ("wrong-alg-rs256", lambda: signed({"alg": "RS256", "typ": "JWT"})),
    ("alg-none", lambda: unsigned_token(claims(iss=ISSUER))),
    ("alg-not-a-string", lambda: signed({"alg": ["HS256"]})),
    ("wrong-secret", lambda: hs_token(claims(iss=ISSUER), secret="another-secret-" + "z" * 40)),
    ("latin-1-bytes", lambda: signed({"alg": "HS256"}) + "\xe9"),
]


@pytest.fixture(scope="module")
def jwt_server() -> Iterator[ServerProcess]:
    env = {
        "AUTH_METHOD": "jwt",
        "AUTH_JWT_SECRET": SECRET,
        "AUTH_JWT_ISSUER": ISSUER,
        "RATE_LIMIT_ENABLED": "false",
    }
    with run_server(env) as server:
        yield server


@pytest.mark.parametrize(
    "make_token", [case[1] for case in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_tokens_are_401_never_500(
    jwt_server: ServerProcess, make_token: Callable[[], str]
) -> None:
    lines = [f"Authorization: Bearer {make_token()}"]
    response = raw_request(jwt_server.port, "POST", "/api/v1/crypto/hash", lines, HASH_BODY)
    assert response.status == 401, response.body
    body = response.json()
    assert isinstance(body, dict)
    assert body["error"]["code"] == "AUTHENTICATION_ERROR"
    assert body["error"]["message"] == "Authentication failed"
    assert 'error="invalid_token"' in (response.header("WWW-Authenticate") or "")


def test_malformed_tokens_are_counted_as_failures(jwt_server: ServerProcess) -> None:
    def failures() -> float:
        metrics = raw_request(jwt_server.port, "GET", "/metrics").body.decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("auth_failures_total{")
        )

    before = failures()
    token = signed({"alg": "HS256", "crit": []})
    lines = [f"Authorization: Bearer {token}"]
    for _ in range(3):
        raw_request(jwt_server.port, "POST", "/api/v1/crypto/hash", lines, HASH_BODY)
    assert failures() - before == 3
    assert "unhandled error" not in jwt_server.logs()


def test_a_well_formed_token_still_passes(jwt_server: ServerProcess) -> None:
    lines = [f"Authorization: Bearer {signed({'alg': 'HS256', 'typ': 'JWT'})}"]
    response = raw_request(jwt_server.port, "POST", "/api/v1/crypto/hash", lines, HASH_BODY)
    assert response.status == 200, response.body


# --- failed authentications are throttled per address ---------------------------------------

FAILURE_LIMITS = {
    "AUTH_METHOD": "api_key",
    "AUTH_API_KEYS": KEY,
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_AUTH_FAILURES_PER_MINUTE": "10",
    "RATE_LIMIT_AUTH_FAILURES_BURST": "10",
    # Generous normal limits: only the failure class may refuse here.
    "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "100000",
    "RATE_LIMIT_ANONYMOUS_BURST": "10000",
    "RATE_LIMIT_AUTHENTICATED_PER_MINUTE": "100000",
    "RATE_LIMIT_AUTHENTICATED_BURST": "10000",
    "RATE_LIMIT_CRYPTO_PER_MINUTE": "100000",
    "RATE_LIMIT_CRYPTO_BURST": "10000",
    "TRUSTED_PROXIES": "127.0.0.1/32",
}


def _post(
    conn: http.client.HTTPConnection, key: str, client: str
) -> tuple[int, dict[str, str], bytes]:
    headers = {"X-API-Key": key, "Content-Type": "application/json", "X-Forwarded-For": client}
    conn.request("POST", "/api/v1/crypto/hash", body=HASH_BODY, headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _wrong_keys(server: ServerProcess, client: str, count: int) -> list[int]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        return [_post(conn, f"wrong-key-{index:04d}", client)[0] for index in range(count)]
    finally:
        conn.close()


def _check_throttled(server: ServerProcess) -> None:
    statuses = _wrong_keys(server, "198.51.100.7", 300)
    assert set(statuses) == {401, 429}
    # The burst of 10 (plus at most a token or two refilled during the run), then 429s.
    assert 10 <= statuses.count(401) <= 13, statuses.count(401)
    assert statuses[:10] == [401] * 10
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        status, headers, body = _post(conn, "wrong-key-again", "198.51.100.7")
        assert status == 429
        assert orjson.loads(body)["error"]["code"] == "RATE_LIMIT_ERROR"
        assert int(headers["retry-after"]) >= 1
        # The right key from the same address still passes: only failures are throttled.
        assert _post(conn, KEY, "198.51.100.7")[0] == 200
        # Another address has its own failure budget.
        assert _post(conn, "wrong-key-other", "198.51.100.8")[0] == 401
    finally:
        conn.close()


def test_failed_authentications_are_throttled_in_memory() -> None:
    with run_server(FAILURE_LIMITS) as server:
        _check_throttled(server)


def test_failed_authentications_are_throttled_in_redis() -> None:
    with run_redis() as redis:
        env = {**FAILURE_LIMITS, "RATE_LIMIT_STORE": "redis", "RATE_LIMIT_REDIS_URL": redis.url}
        with run_server(env) as server:
            _check_throttled(server)
        # The shared store kept the count: a new replica sees the address as over its limit.
        with run_server(env) as again:
            assert _wrong_keys(again, "198.51.100.7", 1) == [429]
