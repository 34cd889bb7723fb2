"""network/tls against real TLS servers on loopback, serving the committed root → intermediate →
leaf chain (tests/fixtures/chain); a policy allow-listing 127.0.0.2 stands in for "a public host".

Anything that could dial a non-loopback address goes through RecordingConnector, which records
and refuses, so no test can reach outside the machine.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

from devutils.errors import UpstreamError
from devutils.http.app import Application
from devutils.netpolicy.fetch import direct_connect, socket_connector
from devutils.netpolicy.policy import NetworkPolicy
from devutils.netpolicy.resolve import Resolver, name_resolver
from devutils.netpolicy.tlschain import (
    CLIENT_CERTIFICATE_REQUESTED,
    CLIENT_CERTIFICATE_REQUESTED_TLS13,
    CLIENT_CERTIFICATE_REQUIRED,
    ChainFetcher,
    trust_store,
)
from tests.netpolicy.loopback import (
    Canary,
    MapResolver,
    RecordingConnector,
    TcpServer,
    canary,
    record_sni,
    serving,
    silent,
)

TLS = "/api/v1/network/tls"
CHAIN = Path(__file__).resolve().parent.parent / "fixtures" / "chain"
LEAF, INTER, ROOT = (
    (CHAIN / f"{name}.pem").read_text() for name in ("leaf", "intermediate", "root")
)
LEAF_KEY = CHAIN / "leaf.key"
OTHER_ROOT = (CHAIN.parent / "ca.pem").read_text()
# openssl x509 -noout -fingerprint -sha256 (see test_cert_chain.py)
LEAF_SHA256 = "7c77157b68a42566a58b39cb4fed0ee278b79c260df12f22b4ed524b61d1ef64"
INTER_SHA256 = "c7b6e475fa3c15068066e91543162a441b5fd20a2277a5e48388d2175fe2ca44"
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # inside the fixtures' validity (2025 - 2045)
DAYS_LEFT = 5479  # 2030-01-01 → 2045-01-01: 15 years with 4 leap days
LOOPBACK_PUBLIC: dict[str, Any] = {
    "ssrf_allow_cidrs": "127.0.0.2/32",
    "ssrf_allow_ports": "1-65535",
}
PUBLIC: Resolver = MapResolver(
    {"chain.example.com": ["127.0.0.2"], "other.example.com": ["127.0.0.2"]}
)


def store(*pems: str) -> verification.Store:
    return verification.Store([x509.load_pem_x509_certificate(pem.encode()) for pem in pems])


def server_context(tmp: Path, *pems: str) -> ssl.SSLContext:
    """A server presenting ``pems`` in this order (leaf first) with the leaf's key."""
    chain = tmp / "served.pem"
    chain.write_text("".join(pems))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, LEAF_KEY)
    return context


@contextlib.contextmanager
def tls_server(tmp: Path, *pems: str) -> Iterator[TcpServer]:
    with serving("127.0.0.2", tls=server_context(tmp, *pems)) as server:
        record_sni(server)
        yield server


@contextlib.asynccontextmanager
async def app_client(
    make_app: Callable[..., Application], services: dict[Any, Any] | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(**settings)
    context = app.registry.context
    context.clock = lambda: NOW
    context.provide(trust_store, store(ROOT))
    context.provide(name_resolver, PUBLIC)
    for factory, instance in (services or {}).items():
        context.provide(factory, instance)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


async def inspect(
    make_app: Callable[..., Application], body: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    settings = {**LOOPBACK_PUBLIC, **kwargs.pop("settings", {})}
    async with app_client(make_app, kwargs.pop("services", None), **settings) as http:
        return await http.post(TLS, json=body)


@pytest.fixture
def trap() -> Iterator[Canary]:
    with canary() as watcher:
        yield watcher


# --- the chain ---------------------------------------------------------------------------------
async def test_chain_of_a_public_host(make_app: Callable[..., Application], tmp_path: Path) -> None:
    with tls_server(tmp_path, LEAF, INTER) as server:
        body = {"host": "chain.example.com", "port": server.port}
        response = await inspect(make_app, body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert server.server_names == ["chain.example.com"]  # SNI is the given name
    assert (data["host"], data["port"]) == ("chain.example.com", server.port)
    assert data["protocol"] == "TLSv1.3"
    assert data["cipher"].startswith("TLS_")
    assert [c["sha256Fingerprint"] for c in data["certificates"]] == [LEAF_SHA256, INTER_SHA256]
    assert [c["pem"] for c in data["certificates"]] == [LEAF, INTER]
    assert data["certificates"][1] == {
        "subject": "CN=devutils test intermediate,O=devutils tests",
        "issuer": "CN=devutils test root,O=devutils tests",
        "notBefore": "2025-01-01T00:00:00Z",
        "notAfter": "2045-01-01T00:00:00Z",
        "daysLeft": DAYS_LEFT,
        "sha256Fingerprint": INTER_SHA256,
        "pem": INTER,
    }
    assert [c["daysLeft"] for c in data["certificates"]] == [DAYS_LEFT, DAYS_LEFT]
    assert data["certificates"][0]["dnsNames"] == ["chain.example.com", "www.chain.example.com"]
    assert data["chainOrderValid"] is True
    assert data["trusted"] is True
    assert "verificationError" not in data
    assert "warnings" not in data
    assert data["truncated"] is False


@pytest.mark.parametrize(
    ("served", "host", "roots", "order_valid", "error"),
    [
        ((LEAF, INTER), "other.example.com", (ROOT,), True, "no matching subjectAltName"),
        ((LEAF, INTER), "chain.example.com", (OTHER_ROOT,), True, "candidate"),
        ((LEAF,), "chain.example.com", (ROOT,), True, "candidate"),
        ((LEAF, ROOT, INTER), "chain.example.com", (ROOT,), False, None),
    ],
    ids=["name-mismatch", "unknown-root", "missing-intermediate", "shuffled"],
)
async def test_chains_that_do_not_verify_are_still_reported(
    make_app: Callable[..., Application],
    tmp_path: Path,
    served: tuple[str, ...],
    host: str,
    roots: tuple[str, ...],
    order_valid: bool,
    error: str | None,
) -> None:
    with tls_server(tmp_path, *served) as server:
        response = await inspect(
            make_app, {"host": host, "port": server.port}, services={trust_store: store(*roots)}
        )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(data["certificates"]) == len(served)
    assert data["certificates"][0]["sha256Fingerprint"] == LEAF_SHA256
    assert data["chainOrderValid"] is order_valid
    if error is None:  # a shuffled chain can still be built by a path builder
        assert data["trusted"] is True
    else:
        assert data["trusted"] is False
        assert error in data["verificationError"]


async def test_an_expired_chain_does_not_verify(
    make_app: Callable[..., Application], tmp_path: Path
) -> None:
    with tls_server(tmp_path, LEAF, INTER) as server:
        app = make_app(**LOOPBACK_PUBLIC)
        app.registry.context.provide(trust_store, store(ROOT))
        app.registry.context.provide(name_resolver, PUBLIC)
        app.registry.context.clock = lambda: datetime(2046, 1, 1, tzinfo=UTC)
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as h:
                response = await h.post(
                    TLS, json={"host": "chain.example.com", "port": server.port}
                )
    data = response.json()["data"]
    assert data["trusted"] is False
    assert data["certificates"][0]["daysLeft"] == -365


async def test_an_address_is_dialled_without_sni(
    make_app: Callable[..., Application], tmp_path: Path
) -> None:
    with tls_server(tmp_path, LEAF, INTER) as server:
        response = await inspect(make_app, {"host": "127.0.0.2", "port": server.port})
    data = response.json()["data"]
    assert server.server_names == [None]
    assert data["trusted"] is True  # the leaf names 127.0.0.2 as an IP SAN


# --- servers that ask for a client certificate (none is ever sent) ------------------------------
def client_auth_context(
    tmp: Path, version: ssl.TLSVersion, mode: ssl.VerifyMode = ssl.CERT_REQUIRED
) -> ssl.SSLContext:
    """A server presenting leaf + intermediate that asks for a client certificate, at ``version``."""
    context = server_context(tmp, LEAF, INTER)
    context.verify_mode = mode
    context.load_verify_locations(cadata=ROOT)
    context.minimum_version = context.maximum_version = version
    return context


@pytest.mark.parametrize(
    ("version", "mode", "protocol", "warning"),
    [
        (
            ssl.TLSVersion.TLSv1_2,
            ssl.CERT_REQUIRED,
            "TLSv1.2",
            CLIENT_CERTIFICATE_REQUIRED.format(alert="handshake_failure"),
        ),
        (ssl.TLSVersion.TLSv1_3, ssl.CERT_REQUIRED, "TLSv1.3", CLIENT_CERTIFICATE_REQUESTED_TLS13),
        (ssl.TLSVersion.TLSv1_2, ssl.CERT_OPTIONAL, "TLSv1.2", CLIENT_CERTIFICATE_REQUESTED),
    ],
    ids=["required-tls12", "required-tls13", "optional-tls12"],
)
async def test_a_server_asking_for_a_client_certificate_still_shows_its_chain(
    make_app: Callable[..., Application],
    tmp_path: Path,
    version: ssl.TLSVersion,
    mode: ssl.VerifyMode,
    protocol: str,
    warning: str,
) -> None:
    with serving("127.0.0.2", tls=client_auth_context(tmp_path, version, mode)) as server:
        response = await inspect(make_app, {"host": "chain.example.com", "port": server.port})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [c["subject"] for c in data["certificates"]] == [
        "CN=chain.example.com,O=devutils tests",
        "CN=devutils test intermediate,O=devutils tests",
    ]
    assert [c["sha256Fingerprint"] for c in data["certificates"]] == [LEAF_SHA256, INTER_SHA256]
    assert data["trusted"] is True  # verified as usual, handshake finished or not
    assert data["protocol"] == protocol
    assert data["cipher"] != ""
    assert data["warnings"] == [warning]


async def test_a_client_certificate_server_that_aborts_before_its_certificate_is_a_502(
    make_app: Callable[..., Application], tmp_path: Path
) -> None:
    context = client_auth_context(tmp_path, ssl.TLSVersion.TLSv1_2)
    # Python 3.11 has no PSK callbacks: no cipher is shared, the server alerts handshake_failure
    # right after the ClientHello, before any Certificate or CertificateRequest.
    context.set_ciphers("PSK-AES128-CBC-SHA")
    with serving("127.0.0.2", tls=context) as server:
        response = await inspect(make_app, {"host": "chain.example.com", "port": server.port})
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("UPSTREAM_ERROR", "TLS handshake failed")


# --- the network policy ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "port", "status", "code"),
    [
        ("127.0.0.1", None, 403, "SSRF_BLOCKED"),
        ("localhost", None, 403, "SSRF_BLOCKED"),
        ("[::1]", None, 403, "SSRF_BLOCKED"),
        ("[::ffff:127.0.0.1]", None, 403, "SSRF_BLOCKED"),
        ("2130706433", None, 403, "SSRF_BLOCKED"),
        ("169.254.169.254", 443, 403, "SSRF_BLOCKED"),
        ("10.0.0.1", 443, 403, "SSRF_BLOCKED"),
        ("metadata.google.internal", 443, 403, "SSRF_BLOCKED"),
        ("8.8.8.8", 22, 403, "SSRF_BLOCKED"),
        ("::1", None, 400, "VALIDATION_ERROR"),
        ("example.com:443", 443, 400, "VALIDATION_ERROR"),
        ("exa mple.com", 443, 400, "VALIDATION_ERROR"),
        ("user@example.com", 443, 400, "VALIDATION_ERROR"),
    ],
)
async def test_refusals(
    make_app: Callable[..., Application],
    trap: Canary,
    host: str,
    port: int | None,
    status: int,
    code: str,
) -> None:
    connector = RecordingConnector()
    async with app_client(make_app, {socket_connector: connector}) as http:
        response = await http.post(TLS, json={"host": host, "port": port or trap.port})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert "127.0.0.1" not in error.get("details", "")
    assert connector.dials == []
    assert trap.hits == 0


async def test_a_name_resolving_to_a_private_address_is_refused(
    make_app: Callable[..., Application],
) -> None:
    connector = RecordingConnector()
    resolver = MapResolver({"rebind.example.com": ["93.184.215.14", "10.1.2.3"]})
    async with app_client(make_app, {socket_connector: connector, name_resolver: resolver}) as h:
        response = await h.post(TLS, json={"host": "rebind.example.com"})
    assert response.status_code == 403
    assert connector.dials == []


async def test_only_the_checked_address_is_dialled(make_app: Callable[..., Application]) -> None:
    connector = RecordingConnector()
    resolver = MapResolver({"public.example.com": ["93.184.215.14"]})
    async with app_client(make_app, {socket_connector: connector, name_resolver: resolver}) as h:
        response = await h.post(TLS, json={"host": "public.example.com"})
    assert response.status_code == 502
    assert response.json()["error"]["details"] == "could not connect to the host"
    assert connector.dials == [("93.184.215.14", 443)]


# --- deadlines and caps ------------------------------------------------------------------------
async def test_a_silent_server_is_a_504(make_app: Callable[..., Application]) -> None:
    with serving("127.0.0.2", silent) as server:
        response = await inspect(
            make_app, {"host": "127.0.0.2", "port": server.port}, settings={"network_timeout": 0.5}
        )
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "TIMEOUT"


def plain_http(conn: socket.socket, server: TcpServer) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


async def test_a_server_that_does_not_speak_tls_is_a_502(
    make_app: Callable[..., Application],
) -> None:
    with serving("127.0.0.2", plain_http) as server:
        response = await inspect(make_app, {"host": "127.0.0.2", "port": server.port})
    assert response.status_code == 502
    assert response.json()["error"]["details"] == "TLS handshake failed"


def _patched_leaf(old: bytes, new: bytes) -> str:
    """The leaf with ``old`` DER bytes replaced: still loaded and sent by OpenSSL."""
    der = x509.load_pem_x509_certificate(LEAF.encode()).public_bytes(Encoding.DER)
    assert der.count(old) == 1
    body = base64.encodebytes(der.replace(old, new)).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03"),  # version 4, which X.509 has not
        (b"\x17\x0d450101000000Z", b"\x17\x0d451301000000Z"),  # notAfter in month 13
    ],
    ids=["version-4", "month-13"],
)
async def test_a_certificate_only_openssl_reads_is_a_502(
    make_app: Callable[..., Application], tmp_path: Path, old: bytes, new: bytes
) -> None:
    with tls_server(tmp_path, _patched_leaf(old, new), INTER) as server:
        response = await inspect(make_app, {"host": "chain.example.com", "port": server.port})
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]) == (
        "UPSTREAM_ERROR",
        "the host sent a certificate that cannot be parsed",
    )


def test_the_handshake_byte_cap(tmp_path: Path) -> None:
    policy = NetworkPolicy(allow_cidrs=(ip_network("127.0.0.2/32"),), allow_ports=((1, 65535),))
    with tls_server(tmp_path, LEAF, INTER) as server:
        fetcher = ChainFetcher(policy, PUBLIC, direct_connect, max_bytes=1000)
        with pytest.raises(UpstreamError) as caught:
            fetcher.fetch("127.0.0.2", server.port)
        _, chain = ChainFetcher(policy, PUBLIC, direct_connect).fetch("127.0.0.2", server.port)
    assert caught.value.details == "the TLS handshake exceeds 1000 bytes"
    assert len(chain.certificates) == 2


async def test_bad_bodies(client: httpx.AsyncClient) -> None:
    for body in ({}, {"host": ""}, {"host": "example.com", "port": 0}, {"url": "x"}):
        response = await client.post(TLS, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
