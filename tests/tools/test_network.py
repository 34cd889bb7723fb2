"""network/headers and network/dns through the REST front end: statuses, envelopes, data shape.

Loopback servers only; a policy allow-listing 127.0.0.2 stands in for "a public host", and any
non-loopback address can only reach a connector that records and refuses.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from devutils.http.app import Application
from devutils.netpolicy.fetch import socket_connector
from devutils.netpolicy.resolve import name_resolver
from devutils.tools.network import canonical_header
from tests.netpolicy.loopback import (
    OK_HEAD,
    Canary,
    MapResolver,
    RecordingConnector,
    ZoneResolver,
    canary,
    dns_server,
    dribble,
    header_bomb,
    mute_dns_server,
    redirect_to,
    respond,
    serving,
)
from tests.support import run_server

HEADERS = "/api/v1/network/headers"
DNS = "/api/v1/network/dns"
LOOPBACK_PUBLIC: dict[str, Any] = {
    "ssrf_allow_cidrs": "127.0.0.2/32",
    "ssrf_allow_ports": "1-65535",
}


@contextlib.asynccontextmanager
async def app_client(
    make_app: Callable[..., Application], services: dict[Any, Any] | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(**settings)
    for factory, instance in (services or {}).items():
        app.registry.context.provide(factory, instance)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


@pytest.fixture
def trap() -> Iterator[Canary]:
    with canary() as watcher:
        yield watcher


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["success"] is False
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = body["error"]
    return error


# --- headers -----------------------------------------------------------------------------------
async def test_headers_of_a_public_host(make_app: Callable[..., Application]) -> None:
    resolver = MapResolver({"public.example.com": ["127.0.0.2"]})
    with serving("127.0.0.2", respond(OK_HEAD, body_forever=True)) as server:
        url = f"http://public.example.com:{server.port}/"
        async with app_client(make_app, {name_resolver: resolver}, **LOOPBACK_PUBLIC) as http:
            response = await http.post(HEADERS, json={"url": url})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "success": True,
        "data": {
            "url": url,
            "statusCode": 200,
            "headers": {
                "Content-Type": "text/plain",
                "Set-Cookie": "a=1",
                "X-Custom-Header": "v",
                "Content-Length": "100000000",
            },
            "headersAll": {
                "Content-Type": ["text/plain"],
                "Set-Cookie": ["a=1", "b=2"],
                "X-Custom-Header": ["v"],
                "Content-Length": ["100000000"],
            },
        },
    }


async def test_redirect_is_returned_with_location(
    make_app: Callable[..., Application], trap: Canary
) -> None:
    location = f"http://127.0.0.1:{trap.port}/"
    with serving("127.0.0.2", redirect_to(location)) as server:
        async with app_client(make_app, **LOOPBACK_PUBLIC) as http:
            response = await http.post(HEADERS, json={"url": f"http://127.0.0.2:{server.port}/"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["statusCode"], data["headers"]["Location"]) == (302, location)
    assert trap.hits == 0


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("http://127.0.0.1:{p}/", 403, "SSRF_BLOCKED"),
        ("http://[::ffff:127.0.0.1]:{p}/", 403, "SSRF_BLOCKED"),
        ("http://2130706433:{p}/", 403, "SSRF_BLOCKED"),
        ("http://localhost:{p}/", 403, "SSRF_BLOCKED"),
        ("http://169.254.169.254/latest/meta-data/", 403, "SSRF_BLOCKED"),
        ("http://[fd00:ec2::254]/", 403, "SSRF_BLOCKED"),
        ("gopher://127.0.0.1:{p}/_x", 403, "SSRF_BLOCKED"),
        ("http://127.0.0.1:{p}\\@example.com/", 400, "VALIDATION_ERROR"),
        ("http://%31%32%37.0.0.1:{p}/", 400, "VALIDATION_ERROR"),
        ("not a url", 400, "VALIDATION_ERROR"),
    ],
)
async def test_refusals_over_rest(
    make_app: Callable[..., Application], trap: Canary, url: str, status: int, code: str
) -> None:
    connector = RecordingConnector()
    async with app_client(
        make_app, {socket_connector: connector}, ssrf_allow_ports="1-65535"
    ) as http:
        response = await http.post(HEADERS, json={"url": url.replace("{p}", str(trap.port))})
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    assert "127.0.0.1" not in error.get("details", "")
    assert connector.dials == []
    assert trap.hits == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'field "url" is required'),
        ({"url": ""}, "Header inspection failed"),
        ({"url": 5}, "Header inspection failed"),
        ({"link": "http://example.com"}, 'unknown field "link"; did you mean "url"?'),
    ],
    ids=["missing", "empty", "number", "misspelled"],
)
async def test_bad_bodies(client: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    response = await client.post(HEADERS, json=body)
    assert response.status_code == 400
    assert error_of(response)["message"] == message


async def test_slow_headers_are_a_504(make_app: Callable[..., Application]) -> None:
    with serving("127.0.0.2", dribble(0.05)) as server:
        async with app_client(make_app, network_timeout=0.5, **LOOPBACK_PUBLIC) as http:
            response = await http.post(HEADERS, json={"url": f"http://127.0.0.2:{server.port}/"})
    assert response.status_code == 504
    assert error_of(response)["code"] == "TIMEOUT"


async def test_header_bomb_is_a_502(make_app: Callable[..., Application]) -> None:
    with serving("127.0.0.2", header_bomb(1024 * 1024)) as server:
        async with app_client(make_app, **LOOPBACK_PUBLIC) as http:
            response = await http.post(HEADERS, json={"url": f"http://127.0.0.2:{server.port}/"})
    assert response.status_code == 502
    assert error_of(response)["code"] == "UPSTREAM_ERROR"


async def test_unreachable_public_host_is_a_generic_502(
    make_app: Callable[..., Application],
) -> None:
    connector = RecordingConnector()
    async with app_client(make_app, {socket_connector: connector}) as http:
        response = await http.post(HEADERS, json={"url": "http://8.8.8.8/"})
    assert response.status_code == 502
    assert error_of(response) == {
        "code": "UPSTREAM_ERROR",
        "message": "Upstream request failed",
        "details": "could not connect to the host",
    }
    assert connector.dials == [("8.8.8.8", 80)]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("content-type", "Content-Type"),
        ("x-request-id", "X-Request-Id"),
        ("WWW-AUTHENTICATE", "Www-Authenticate"),
        ("etag", "Etag"),
        ("x_under", "X_under"),
        ("bad header", "bad header"),
    ],
)
def test_canonical_header_names(raw: str, canonical: str) -> None:
    assert canonical_header(raw) == canonical


# --- dns ---------------------------------------------------------------------------------------
ZONE = """
example.com. 300 IN A 93.184.216.34
example.com. 3600 IN MX 10 mail.example.com.
internal.example.com. 30 IN A 10.0.0.5
"""


@pytest.fixture(scope="module")
def zone() -> Iterator[tuple[int, ZoneResolver]]:
    with dns_server(ZONE) as running:
        yield running


async def test_dns_lookup(make_app: Callable[..., Application], zone: tuple[int, Any]) -> None:
    async with app_client(make_app, dns_resolvers=f"127.0.0.1:{zone[0]}") as http:
        response = await http.post(DNS, json={"domain": "example.com", "record_type": "MX"})
    assert response.status_code == 200
    assert response.json()["data"] == {
        "domain": "example.com",
        "recordType": "MX",
        "records": ["10 mail.example.com."],
        "ttl": 3600,
        "answers": [{"value": "10 mail.example.com.", "ttl": 3600}],
        "truncated": False,
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"domain": "example.com", "recordType": "AAAA"}, 200, None),
        ({"domain": "internal.example.com", "recordType": "A"}, 403, "SSRF_BLOCKED"),
        ({"domain": "db.svc.cluster.local", "recordType": "A"}, 403, "SSRF_BLOCKED"),
        ({"domain": "192.168.1.1", "recordType": "PTR"}, 403, "SSRF_BLOCKED"),
        ({"domain": "2001:db8::1%eth0", "recordType": "PTR"}, 400, "VALIDATION_ERROR"),
        ({"domain": "missing.example.com", "recordType": "A"}, 400, "VALIDATION_ERROR"),
        ({"domain": "example.com", "recordType": "ANY"}, 400, "VALIDATION_ERROR"),
        ({"domain": "example.com", "recordType": "a"}, 400, "VALIDATION_ERROR"),
        ({"domain": "example.com", "recordType": "AXFR"}, 400, "VALIDATION_ERROR"),
        ({"domain": "", "recordType": "A"}, 400, "VALIDATION_ERROR"),
        ({"recordType": "A"}, 400, "VALIDATION_ERROR"),
    ],
)
async def test_dns_statuses(
    make_app: Callable[..., Application],
    zone: tuple[int, Any],
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    async with app_client(make_app, dns_resolvers=f"127.0.0.1:{zone[0]}") as http:
        response = await http.post(DNS, json=body)
    assert response.status_code == status, response.text
    if code is None:
        assert response.json()["data"]["records"] == []  # never null
        assert response.json()["data"]["ttl"] is None
    else:
        assert error_of(response)["code"] == code


async def test_dns_timeout_is_a_504(make_app: Callable[..., Application]) -> None:
    with mute_dns_server() as port:
        async with app_client(make_app, dns_resolvers=f"127.0.0.1:{port}", dns_timeout=0.3) as http:
            response = await http.post(DNS, json={"domain": "example.com", "recordType": "A"})
    assert response.status_code == 504
    assert error_of(response)["code"] == "TIMEOUT"


# --- a real server process -----------------------------------------------------------------------
def test_real_server_refuses_counts_and_logs(trap: Canary) -> None:
    """`devutils serve` with operator settings: allowed fetch works, refusal is 403, counted in
    /metrics and logged for the runbook's grep, and the canary sees nothing."""
    env = {
        "SSRF_ALLOW_CIDRS": "127.0.0.2/32",
        "SSRF_ALLOW_PORTS": "1-65535",
        "RATE_LIMIT_ENABLED": "false",
    }
    with serving("127.0.0.2", respond(OK_HEAD)) as upstream, run_server(env) as server:
        with httpx.Client(base_url=server.base, trust_env=False, timeout=10) as http:
            allowed = http.post(HEADERS, json={"url": f"http://127.0.0.2:{upstream.port}/"})
            refused = http.post(
                HEADERS, json={"url": f"http://[::ffff:7f00:1]:{trap.port}/CANARY-path"}
            )
            metrics = http.get("/metrics").text
        logs = server.logs()
    assert allowed.status_code == 200
    assert allowed.json()["data"]["statusCode"] == 200
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "SSRF_BLOCKED"
    assert 'ssrf_blocks_total{reason="loopback"} 1.0' in metrics
    blocked_lines = [line for line in logs.splitlines() if "ssrf blocked" in line.lower()]
    assert len(blocked_lines) == 1
    assert "loopback" in blocked_lines[0]
    assert "CANARY" not in blocked_lines[0]
    assert trap.hits == 0
