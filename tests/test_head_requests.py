"""HEAD wherever GET is (RFC 9110 §9.3.2), on a real server: the same status and headers, no
body; recorded as HEAD; authenticated and rate limited like GET."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from devutils.http.app import Application
from tests.conftest import make_settings
from tests.server.harness import Responses, header_value, read_until_closed, split
from tests.support import ServerProcess, run_server

KEY = "head-test-key-0123456789abcdef"
# Headers that differ between any two responses, or with a body that changes between requests.
PER_RESPONSE = {b"date", b"x-request-id", b"x-ratelimit-remaining", b"x-ratelimit-reset"}
CHANGING_BODY = {"/metrics", "/api/v1/status", "/api/v1/time/now", "/health/ready"}


def get_routes() -> list[str]:
    """Every route with a GET endpoint, from the application the server builds."""
    from devutils.http.app import create_app

    app: Application = create_app(make_settings())
    routes = [path for path, route in app.router.routes.items() if "GET" in route.endpoints]
    app.registry.close()
    return routes


def exchange(port: int, method: str, path: str, extra: str = "") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
            "Connection: close\r\n\r\n".encode()
        )
        return read_until_closed(sock, 10)


def comparable(lines: list[bytes], path: str) -> dict[bytes, bytes]:
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.lower()
        if name in PER_RESPONSE or (name == b"content-length" and path in CHANGING_BODY):
            continue
        headers[name] = value.strip()
    return headers


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with run_server({"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "info"}) as handle:
        yield handle


def test_every_get_route_answers_head_like_get(server: ServerProcess) -> None:
    routes = get_routes()
    assert {"/health", "/health/ready", "/openapi.json", "/metrics", "/", "/docs"} <= set(routes)
    for path in routes:
        get_lines, get_body = split(exchange(server.port, "GET", path))
        head_lines, head_body = split(exchange(server.port, "HEAD", path))
        assert head_lines[0] == get_lines[0], path
        assert head_body == b"", path
        assert comparable(head_lines, path) == comparable(get_lines, path), path
        length = header_value(head_lines[1:], b"content-length")
        assert length is not None, path  # as for GET, though no body follows
        if path not in CHANGING_BODY:
            assert int(length) == len(get_body), path


def test_head_on_a_keep_alive_connection_is_followed_by_the_next_response(
    server: ServerProcess,
) -> None:
    """No body after a HEAD answer: otherwise the client would read it as the next response."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"HEAD /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        responses = Responses(sock)
        sock.settimeout(5)
        while b"\r\n\r\n" not in responses.buffer:
            responses.buffer += sock.recv(65536)
        head, _, rest = responses.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert int(header_value(head.split(b"\r\n")[1:], b"content-length") or 0) > 1000
        responses.buffer = rest
        status, _, body = responses.next()
    assert status == b"HTTP/1.1 200 OK"
    assert orjson.loads(body) == {"status": "alive"}


def test_head_is_not_allowed_where_get_is_not(server: ServerProcess) -> None:
    lines, body = split(exchange(server.port, "HEAD", "/api/v1/crypto/hash"))
    assert lines[0] == b"HTTP/1.1 405 Method Not Allowed"
    assert header_value(lines[1:], b"allow") == b"POST"
    assert body == b""
    lines, _ = split(exchange(server.port, "PUT", "/health"))
    assert header_value(lines[1:], b"allow") == b"GET, HEAD"


def test_the_trailing_slash_redirect_answers_head(server: ServerProcess) -> None:
    lines, body = split(exchange(server.port, "HEAD", "/health/?x=1"))
    assert lines[0] == b"HTTP/1.1 301 Moved Permanently"
    assert header_value(lines[1:], b"location") == b"/health?x=1"
    assert body == b""


def test_head_is_counted_and_logged_as_head(server: ServerProcess) -> None:
    for _ in range(3):
        exchange(server.port, "HEAD", "/api/v1/tools")
    _, metrics = split(exchange(server.port, "GET", "/metrics"))
    sample = b'http_requests_total{method="HEAD",route="/api/v1/tools",status_code="200"} '
    line = next(line for line in metrics.splitlines() if line.startswith(sample))
    assert float(line.removeprefix(sample)) >= 3
    deadline = time.monotonic() + 5  # access lines are written in batches
    while (logged := head_lines_logged(server)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logged >= 3


def head_lines_logged(server: ServerProcess) -> int:
    access = [
        orjson.loads(line)
        for line in server.logs().splitlines()
        if line.startswith("{") and '"msg":"request"' in line
    ]
    return sum(
        (entry["method"], entry["route"], entry["status"]) == ("HEAD", "/api/v1/tools", 200)
        for entry in access
    )


def test_head_needs_the_credential_and_spends_the_rate_limit_like_get() -> None:
    env = {
        "AUTH_METHOD": "api_key",
        "AUTH_API_KEYS": KEY,
        "RATE_LIMIT_AUTHENTICATED_PER_MINUTE": "1",
        "RATE_LIMIT_AUTHENTICATED_BURST": "2",
    }
    with run_server(env) as server:
        lines, body = split(exchange(server.port, "HEAD", "/api/v1/tools"))
        assert lines[0] == b"HTTP/1.1 401 Unauthorized"
        assert header_value(lines[1:], b"www-authenticate") is not None
        assert body == b""
        key = f"X-API-Key: {KEY}\r\n"
        statuses = [
            split(exchange(server.port, method, "/api/v1/time/now", key))[0][0]
            for method in ("HEAD", "HEAD", "GET")
        ]
        assert statuses == [
            b"HTTP/1.1 200 OK",
            b"HTTP/1.1 200 OK",
            b"HTTP/1.1 429 Too Many Requests",
        ]
