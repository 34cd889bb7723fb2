"""The statuses /openapi.json documents are the ones a real server answers: each error provoked
on 127.0.0.1 must be listed on the operation it came from, with the body its schema names."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from devutils.frontends.openapi import build_openapi
from devutils.registry import Registry
from devutils.settings import load_settings
from tests.server.harness import read_until_closed
from tests.support import ServerProcess, free_port, run_server

HOSTILE_REGEX = {"content": "a" * 60_000, "pattern": "(" * 499 + ".*" + ")" * 499, "flags": "s"}


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    lines = {"Host": f"127.0.0.1:{port}", "Connection": "close", **(headers or {})}
    raw = b"" if body is None else orjson.dumps(body)
    if body is not None:
        lines.setdefault("Content-Type", "application/json")
        lines["Content-Length"] = str(len(raw))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in lines.items())
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n" + raw)
        data = read_until_closed(sock, 30)
    status_line, _, rest = data.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), orjson.loads(payload) if payload else None


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {"TOOL_TIMEOUT": "1", "REGEX_MAX_GROUPS": "1000", "RATE_LIMIT_ENABLED": "false"}
    with run_server(env) as handle:
        yield handle


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    status, body = call(server.port, "GET", "/openapi.json")
    assert status == 200
    assert isinstance(body, dict)
    return body


def check_documented(
    document: dict[str, Any], path: str, method: str, status: int, body: Any
) -> None:
    operation = document["paths"][path][method]
    response = operation["responses"].get(str(status))
    assert response is not None, f"{method.upper()} {path} answered {status}, undocumented"
    schema = response["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert body["success"] is False
    assert (
        body["error"]["code"]
        in document["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["properties"][
            "code"
        ]["enum"]
    )


CASES = {
    "403-host": ("POST", "/api/v1/crypto/hash", {"content": "a"}, {"Host": "evil.example"}),
    "403-host-service": ("GET", "/api/v1/tools", None, {"Host": "evil.example"}),
    "403-ssrf": ("POST", "/api/v1/network/headers", {"url": "http://127.0.0.1:9/"}, None),
    "415": ("POST", "/api/v1/crypto/hash", {"content": "a"}, {"Content-Type": "text/plain"}),
    "504": ("POST", "/api/v1/text/regex", HOSTILE_REGEX, None),
}
EXPECTED = {
    "403-host": (403, "FORBIDDEN"),
    "403-host-service": (403, "FORBIDDEN"),
    "403-ssrf": (403, "SSRF_BLOCKED"),
    "415": (415, "UNSUPPORTED_MEDIA_TYPE"),
    "504": (504, "TIMEOUT"),
}


@pytest.mark.parametrize("case", CASES, ids=CASES.keys())
def test_a_provoked_error_is_documented_on_its_operation(
    server: ServerProcess, document: dict[str, Any], case: str
) -> None:
    method, path, body, headers = CASES[case]
    status, payload = call(server.port, method, path, body, headers)
    assert (status, payload["error"]["code"]) == EXPECTED[case]
    check_documented(document, path, method.lower(), status, payload)


@pytest.mark.parametrize(
    ("method", "path", "documented"),
    [
        ("GET", "/api/v1/crypto/hash", "post"),
        ("POST", "/api/v1/time/now", "get"),
        ("DELETE", "/health", "get"),
        ("POST", "/health/ready", "get"),
    ],
)
def test_405_is_documented_on_the_path_s_operations(
    server: ServerProcess, document: dict[str, Any], method: str, path: str, documented: str
) -> None:
    status, payload = call(server.port, method, path)
    assert status == 405
    check_documented(document, path, documented, status, payload)
    assert "Allow" in document["paths"][path][documented]["responses"]["405"]["headers"]


def test_not_ready_is_documented_with_the_readiness_body(document: dict[str, Any]) -> None:
    env = {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_STORE": "redis",
        "RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "RATE_LIMIT_FAIL_MODE": "deny",
    }
    with run_server(env) as server:
        # (Its own /openapi.json is refused too: the rate-limit store is down.)
        status, body = call(server.port, "GET", "/health/ready")
    assert status == 503
    response = document["paths"]["/health/ready"]["get"]["responses"]["503"]
    ref = response["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(body) <= set(schema["properties"])
    assert set(schema["required"]) <= set(body)
    assert body["status"] in schema["properties"]["status"]["enum"]


def call_raw(port: int, head: list[tuple[str, str]], method: str, path: str) -> tuple[int, Any]:
    """A GET whose header lines are sent as given (duplicates included), no body."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in head)
    request = f"{method} {path} HTTP/1.1\r\n{lines}Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode())
        data = read_until_closed(sock, 30)
    status_line, _, rest = data.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), orjson.loads(payload) if payload else None


def pipeline_of(url: str) -> dict[str, Any]:
    return {"steps": [{"tool": "network_headers", "args": {"url": url}}]}


def test_pipeline_network_errors_are_documented_once_network_steps_are_allowed() -> None:
    env = {
        "PIPELINE_NETWORK_TOOLS": "true",
        "RATE_LIMIT_ENABLED": "false",
        # 127.0.0.2 may be reached (a closed port: the upstream fails); 127.0.0.1 may not.
        "SSRF_ALLOW_CIDRS": "127.0.0.2/32",
        "SSRF_ALLOW_PORTS": "1-65535",
    }
    with run_server(env) as server:
        status, document = call(server.port, "GET", "/openapi.json")
        assert status == 200
        refused = call(server.port, "POST", "/api/v1/pipeline", pipeline_of("http://127.0.0.1:9/"))
        failed = call(
            server.port, "POST", "/api/v1/pipeline", pipeline_of(f"http://127.0.0.2:{free_port()}/")
        )
    assert (refused[0], refused[1]["error"]["code"]) == (403, "SSRF_BLOCKED")
    assert (failed[0], failed[1]["error"]["code"]) == (502, "UPSTREAM_ERROR")
    for answer in (refused, failed):
        check_documented(document, "/api/v1/pipeline", "post", *answer)
    responses = document["paths"]["/api/v1/pipeline"]["post"]["responses"]
    assert "SSRF_BLOCKED" in responses["403"]["description"]


def test_pipeline_without_network_steps_documents_no_network_errors(
    server: ServerProcess, document: dict[str, Any]
) -> None:
    # PIPELINE_NETWORK_TOOLS off (the module's server): a network step is refused as input.
    status, body = call(server.port, "POST", "/api/v1/pipeline", pipeline_of("http://127.0.0.1:9/"))
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    responses = document["paths"]["/api/v1/pipeline"]["post"]["responses"]
    assert "502" not in responses
    assert "SSRF_BLOCKED" not in responses["403"]["description"]


SERVICE_PATHS = ("/health", "/health/live", "/health/ready", "/api/v1/status", "/api/v1/tools")
KEY = "openapi-statuses-key-0123456789abcdef"


def provoke_service_statuses(port: int, path: str) -> dict[int, Any]:
    """Every refusal a service route can meet short of a rate limit, each answer by status."""
    host = ("Host", f"127.0.0.1:{port}")
    key = ("X-API-Key", KEY)
    requests = [
        ("GET", [host, key]),
        ("DELETE", [host, key]),  # 405
        ("GET", [host, host, key]),  # 400: several Host headers
        ("GET", [host, key, ("Content-Length", "2000000")]),  # 413, even on a GET
        ("GET", [("Host", "evil.example"), key]),  # 403, but the probes are exempt
        ("GET", [host]),  # 401, but the probes are open
    ]
    answers: dict[int, Any] = {}
    for method, head in requests:
        status, body = call_raw(port, head, method, path)
        answers[status] = body
    return answers


def test_each_service_status_documented_is_answered_and_each_answered_is_documented() -> None:
    env = {"AUTH_METHOD": "api_key", "AUTH_API_KEYS": KEY, "RATE_LIMIT_ENABLED": "true"}
    with run_server(env) as server:
        status, document = call(server.port, "GET", "/openapi.json", headers={"X-API-Key": KEY})
        assert status == 200
        answered = {path: provoke_service_statuses(server.port, path) for path in SERVICE_PATHS}
        # Failed authentications from one address end in 429; the probes are never limited.
        for path in ("/api/v1/status", "/api/v1/tools"):
            for _ in range(50):
                status, body = call(server.port, "GET", path)
                answered[path][status] = body
                if status == 429:
                    break
        for path in ("/health", "/health/live", "/health/ready"):
            status, body = call(server.port, "GET", path)
            answered[path][status] = body
    for path, answers in answered.items():
        operation = document["paths"][path]["get"]
        for status, body in answers.items():
            if status != 200:
                check_documented(document, path, "get", status, body)
        listed = {int(status) for status in operation["responses"]}
        # /health/ready's 503 (not ready) needs a dependency down: the test below.
        unprovoked = {503} if path == "/health/ready" else set()
        assert listed - unprovoked == set(answers), path
    assert set(answered["/health"]) == {200, 400, 405, 413}
    assert set(answered["/api/v1/status"]) == {200, 400, 401, 403, 405, 413, 429}


def test_a_rate_limit_store_that_denies_is_documented_on_the_service_routes() -> None:
    env = {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_STORE": "redis",
        "RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "RATE_LIMIT_FAIL_MODE": "deny",
    }
    # The server's own /openapi.json is refused (503) while the store is down: the document is
    # built for the same configuration in process.
    settings = load_settings({**env, "SECRETS_MOUNT_PATH": "/nonexistent"})
    document = build_openapi(Registry.default(settings), settings)
    with run_server(env) as server:
        answers = {path: call(server.port, "GET", path) for path in SERVICE_PATHS}
    for path in ("/api/v1/status", "/api/v1/tools"):
        status, body = answers[path]
        assert (status, body["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
        check_documented(document, path, "get", status, body)
    for path in ("/health", "/health/live"):  # exempt from rate limits
        assert answers[path][0] == 200
        assert "503" not in document["paths"][path]["get"]["responses"]


def test_a_429_carries_the_headers_its_documentation_declares() -> None:
    """A client (or a generated one) reads Retry-After and X-RateLimit-* off the document."""
    env = {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_CRYPTO_PER_MINUTE": "1",
        "RATE_LIMIT_CRYPTO_BURST": "1",
    }
    settings = load_settings({**env, "SECRETS_MOUNT_PATH": "/nonexistent"})
    document = build_openapi(Registry.default(settings), settings)
    body = orjson.dumps({"content": "a", "algorithm": "sha256"})
    with run_server(env) as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = (
            f"POST /api/v1/crypto/hash HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        sock.sendall(head.encode() + b"\r\n" + body)  # spends the burst
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
        data = read_until_closed(sock, 30)
    last = data[data.rindex(b"HTTP/1.1 ") :]
    head_lines = last.partition(b"\r\n\r\n")[0].decode().split("\r\n")
    assert head_lines[0].startswith("HTTP/1.1 429 ")
    sent = {line.partition(":")[0].lower() for line in head_lines[1:]}
    response = document["paths"]["/api/v1/crypto/hash"]["post"]["responses"]["429"]
    declared = {name.lower() for name in response["headers"]}
    assert declared == {
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }
    assert declared <= sent
    for path in ("/api/v1/status", "/api/v1/tools"):  # the service routes' limit too
        assert document["paths"][path]["get"]["responses"]["429"] == response
