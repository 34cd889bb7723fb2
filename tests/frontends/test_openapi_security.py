"""/openapi.json's security follows AUTH_METHOD, checked against a real server in each mode.

An operation the document marks as needing a credential answers 401 without one, and one it does
not mark answers without one; each scheme the document names is accepted, and a header it does
not name is not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.frontends.test_openapi_statuses import call
from tests.support import ServerProcess, run_server

KEY = "openapi-security-key-0123456789abcdef"
SECRET = "openapi-security-hmac-secret-0123456789abcdef"
MODES: dict[str, dict[str, str]] = {
    "none": {},
    "api_key": {"AUTH_METHOD": "api_key", "AUTH_API_KEYS": KEY},
    "jwt": {"AUTH_METHOD": "jwt", "AUTH_JWT_SECRET": SECRET},
}
# How a client presents each scheme the document may name.
SCHEME_HEADERS = {"ApiKey": "X-API-Key", "Bearer": "Authorization"}


def credential(mode: str, scheme: str) -> dict[str, str]:
    value = KEY
    if mode == "jwt":
        value = jwt.encode({"sub": "doc", "exp": int(time.time()) + 300}, SECRET, "HS256")
    header = SCHEME_HEADERS[scheme]
    return {header: f"Bearer {value}" if header == "Authorization" else value}


@pytest.fixture(scope="module", params=list(MODES))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess, dict[str, Any]]]:
    mode = request.param
    # Rate limiting off: repeated refusals would turn into 429s.
    with run_server({**MODES[mode], "RATE_LIMIT_ENABLED": "false"}) as server:
        headers = credential(mode, "Bearer") if mode != "none" else {}
        status, document = call(server.port, "GET", "/openapi.json", headers=headers)
        assert status == 200
        yield mode, server, document


def requires_credential(operation: dict[str, Any]) -> bool:
    # OpenAPI 3.1: an empty requirement ({}) among the alternatives allows anonymous access.
    requirements = operation.get("security", [])
    return bool(requirements) and all(requirement for requirement in requirements)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def test_the_schemes_are_those_auth_method_accepts(
    served: tuple[str, ServerProcess, dict[str, Any]],
) -> None:
    mode, _, document = served
    schemes = document["components"].get("securitySchemes", {})
    expected = {"none": set(), "api_key": {"ApiKey", "Bearer"}, "jwt": {"Bearer"}}[mode]
    assert set(schemes) == expected
    if "ApiKey" in schemes:
        assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    if mode == "jwt":
        assert schemes["Bearer"]["bearerFormat"] == "JWT"
    for _, _, operation in operations(document):
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(schemes)


def test_an_operation_needs_a_credential_exactly_when_the_document_says(
    served: tuple[str, ServerProcess, dict[str, Any]],
) -> None:
    mode, server, document = served
    marked = []
    for path, method, operation in operations(document):
        # A POST sent as text/plain is refused (415) by the endpoint, after authentication,
        # before any tool runs; the one GET tool (time/now) is cheap.
        body, headers = ("x", {"Content-Type": "text/plain"}) if method == "POST" else (None, {})
        status, payload = call(server.port, method, path, body, headers)
        needs = requires_credential(operation)
        assert (status == 401) == needs, (mode, method, path, status, payload)
        assert ("401" in operation["responses"]) == needs, (mode, method, path)
        if needs:
            marked.append(path)
            assert payload["error"]["code"] == "AUTHENTICATION_ERROR"
    # The probes are open in every mode; everything else needs a credential once auth is on.
    assert not {"/health", "/health/live", "/health/ready"} & set(marked)
    if mode != "none":
        assert {"/api/v1/status", "/api/v1/tools", "/api/v1/crypto/hash"} <= set(marked)
    else:
        assert marked == []


@pytest.mark.parametrize("scheme", SCHEME_HEADERS)
def test_a_header_is_accepted_exactly_when_its_scheme_is_documented(
    served: tuple[str, ServerProcess, dict[str, Any]], scheme: str
) -> None:
    mode, server, document = served
    operation = document["paths"]["/api/v1/status"]["get"]
    # No requirement at all (AUTH_METHOD=none): whatever a client sends is not read.
    open_ = not requires_credential(operation)
    documented = {name for requirement in operation.get("security", []) for name in requirement}
    status, _ = call(server.port, "GET", "/api/v1/status", headers=credential(mode, scheme))
    assert (status == 200) == (open_ or scheme in documented), (mode, scheme, status)
    assert status in (200, 401)
