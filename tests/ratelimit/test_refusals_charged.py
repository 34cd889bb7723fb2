"""Requests the router or the body reader refuses before a tool's or MCP's own admission check
(a method the route does not serve, a body over the limit) are charged to the caller's rate limit
like every other request: otherwise they could be repeated without end.  Over a real socket, each
case from its own client address (127.0.0.1 is a trusted proxy presenting X-Forwarded-For)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.server.harness import read_until_closed
from tests.support import ServerProcess, run_server

LIMITS = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "1",  # no refill during a test
    "RATE_LIMIT_ANONYMOUS_BURST": "2",
    "RATE_LIMIT_CRYPTO_PER_MINUTE": "1",  # a chunked body is refused after the admission check
    "RATE_LIMIT_CRYPTO_BURST": "2",
    "RATE_LIMIT_MCP_PER_MINUTE": "1",
    "RATE_LIMIT_MCP_BURST": "2",
    "MAX_BODY_BYTES": "1024",
    "TRUSTED_PROXIES": "127.0.0.1/32",
}
JSON = "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with run_server(LIMITS) as handle:
        yield handle


def status_of(server: ServerProcess, client: str, request: bytes) -> int:
    head, _, rest = request.partition(b"\r\n")
    request = head + f"\r\nHost: localhost\r\nX-Forwarded-For: {client}\r\n".encode() + rest
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = read_until_closed(sock, 10)
    return int(answer.split(b" ", 2)[1])


def chunked(path: str, size: int) -> bytes:
    chunk = b"x" * size
    return (
        f"POST {path} HTTP/1.1\r\nConnection: close\r\n{JSON}Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)


CASES = {
    "405 on a tool route": b"GET /api/v1/crypto/hash HTTP/1.1\r\nConnection: close\r\n\r\n",
    "405 on /mcp": b"GET /mcp HTTP/1.1\r\nConnection: close\r\n\r\n",
    "declared body over the limit, tool route": (
        f"POST /api/v1/crypto/hash HTTP/1.1\r\nConnection: close\r\n{JSON}"
        "Content-Length: 2000\r\n\r\n"
    ).encode()
    + b"x" * 2000,
    "declared body over the limit, /mcp": (
        f"POST /mcp HTTP/1.1\r\nConnection: close\r\n{JSON}Content-Length: 2000\r\n\r\n"
    ).encode()
    + b"x" * 2000,
    "chunked body over the limit, tool route": chunked("/api/v1/crypto/hash", 2000),
    "chunked body over the limit, /mcp": chunked("/mcp", 2000),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_refusal_before_admission_is_charged(server: ServerProcess, case: str) -> None:
    client = f"198.51.100.{list(CASES).index(case) + 1}"
    first = status_of(server, client, CASES[case])
    assert first in (405, 413)
    # Burst 2, one a minute: the third is refused for the rate limit, not for what it is.
    assert [status_of(server, client, CASES[case]) for _ in range(2)] == [first, 429]
