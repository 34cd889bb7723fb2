"""The statuses /openapi.json documents are the ones a real server answers: each error provoked
on 127.0.0.1 must be listed on the operation it came from, with the body its schema names."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

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
