"""The pinned fetcher end to end against real loopback servers.

A test policy treats 127.0.0.2 as public; a canary listens on 127.0.0.1 and ::1 and must see no
connection for any refused URL.  Non-loopback addresses only ever reach a connector that records
and refuses, so even a broken guard could not contact the outside world from here.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest

from devutils.errors import SSRFBlockedError, ToolError, ToolTimeoutError, UpstreamError
from devutils.netpolicy.fetch import HeaderFetcher, tls_context
from devutils.netpolicy.policy import NetworkPolicy
from devutils.netpolicy.resolve import Resolver
from tests.conftest import make_settings
from tests.netpolicy.loopback import (
    OK_HEAD,
    Canary,
    Handler,
    MapResolver,
    RebindingResolver,
    RecordingConnector,
    TcpServer,
    canary,
    dribble,
    hang_up,
    header_bomb,
    make_tls,
    record_sni,
    redirect_to,
    respond,
    serving,
    silent,
)

PUBLIC_IP = "127.0.0.2"
TEST_POLICY = NetworkPolicy(
    allow_cidrs=(ip_network("127.0.0.2/32"),),
    allow_ports=((1, 65535),),
    timeout=1.0,
    max_header_bytes=16 * 1024,
)


@pytest.fixture
def trap() -> Iterator[Canary]:
    with canary() as watcher:
        yield watcher


def fetcher(
    resolver: Resolver | None = None,
    connector: RecordingConnector | None = None,
    policy: NetworkPolicy = TEST_POLICY,
) -> HeaderFetcher:
    return HeaderFetcher(
        policy,
        resolver or MapResolver({"public.example.com": [PUBLIC_IP]}),
        connector or RecordingConnector(),
        tls_context(make_settings()),
    )


def test_fetch_reads_the_head_only_and_sends_the_name() -> None:
    connector = RecordingConnector()
    with serving(PUBLIC_IP, respond(OK_HEAD, body_forever=True)) as server:
        head = fetcher(connector=connector).fetch(f"http://public.example.com:{server.port}/p?q=1")
    assert head.status_code == 200
    assert ("set-cookie", "a=1") in head.headers
    assert ("set-cookie", "b=2") in head.headers
    assert connector.dials == [(PUBLIC_IP, server.port)]
    request = server.requests[0].decode()
    assert request.startswith("GET /p?q=1 HTTP/1.1\r\n")
    assert f"Host: public.example.com:{server.port}\r\n" in request
    assert "Accept-Encoding: identity\r\n" in request


def test_redirect_is_reported_not_followed(trap: Canary) -> None:
    location = f"http://127.0.0.1:{trap.port}/admin"
    with serving(PUBLIC_IP, redirect_to(location)) as server:
        head = fetcher().fetch(f"http://{PUBLIC_IP}:{server.port}/")
    assert head.status_code == 302
    assert ("location", location) in head.headers
    assert trap.hits == 0


def test_rebinding_dials_the_checked_address(trap: Canary) -> None:
    """A naive guard resolves to check and again to connect; the second answer is loopback."""
    resolver = RebindingResolver(PUBLIC_IP, "127.0.0.1")
    with serving(PUBLIC_IP, respond(OK_HEAD), port=trap.port) as server:
        head = fetcher(resolver).fetch(f"http://rebind.example.com:{trap.port}/")
        assert resolver.calls == 1  # one resolution per request, and that is what was dialled
        with pytest.raises(SSRFBlockedError):  # the next request sees the loopback answer
            fetcher(resolver).fetch(f"http://rebind.example.com:{trap.port}/")
    assert head.status_code == 200
    assert server.connections == 1
    assert trap.hits == 0


def test_second_answer_in_a_denied_range_refuses_the_name(trap: Canary) -> None:
    resolver = MapResolver({"multi.example.com": [PUBLIC_IP, "127.0.0.1"]})
    connector = RecordingConnector()
    with serving(PUBLIC_IP, respond(OK_HEAD), port=trap.port) as server:
        with pytest.raises(SSRFBlockedError):
            fetcher(resolver, connector).fetch(f"http://multi.example.com:{trap.port}/")
        assert server.connections == 0
    assert trap.hits == 0
    assert connector.dials == []


def test_slow_header_trickle_hits_the_total_deadline() -> None:
    with serving(PUBLIC_IP, dribble(0.05)) as server:
        started = time.monotonic()
        with pytest.raises(ToolTimeoutError):
            fetcher().fetch(f"http://{PUBLIC_IP}:{server.port}/")
        elapsed = time.monotonic() - started
    # Every single read succeeds, so only a total deadline can end this; a per-read timeout
    # would hang for as long as the server dribbles (forever).
    assert elapsed < 10


def test_header_bomb_is_an_upstream_error() -> None:
    with (
        serving(PUBLIC_IP, header_bomb(1024 * 1024)) as server,
        pytest.raises(UpstreamError) as caught,
    ):
        fetcher().fetch(f"http://{PUBLIC_IP}:{server.port}/")
    assert "exceeds 16384 bytes" in str(caught.value.details)


@pytest.mark.parametrize(
    ("handler", "detail"),
    [
        (respond(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"), "invalid HTTP response"),
        (hang_up, "closed the connection"),
    ],
    ids=["not-http", "hang-up"],
)
def test_broken_servers_are_upstream_errors(handler: Handler, detail: str) -> None:
    with serving(PUBLIC_IP, handler) as server, pytest.raises(UpstreamError) as caught:
        fetcher().fetch(f"http://{PUBLIC_IP}:{server.port}/")
    assert detail in str(caught.value.details)


def test_closed_port_is_a_generic_upstream_error() -> None:
    with socket.socket() as bound:  # bound but not listening: connections are refused
        bound.bind((PUBLIC_IP, 0))
        port = bound.getsockname()[1]
        with pytest.raises(UpstreamError) as caught:
            fetcher().fetch(f"http://{PUBLIC_IP}:{port}/")
    assert caught.value.details == "could not connect to the host"


def test_proxy_variables_are_ignored(trap: Canary, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{trap.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with serving(PUBLIC_IP, respond(OK_HEAD)) as server:
        assert fetcher().fetch(f"http://{PUBLIC_IP}:{server.port}/").status_code == 200
        assert server.connections == 1
    assert trap.hits == 0


def test_tls_uses_the_name_for_sni_and_verification(tmp_path: Path) -> None:
    tls = make_tls(tmp_path, "secure.example.com")
    resolver = MapResolver({"secure.example.com": [PUBLIC_IP], "other.example.com": [PUBLIC_IP]})
    with serving(PUBLIC_IP, respond(OK_HEAD), tls=tls.server) as server:
        record_sni(server)
        good = HeaderFetcher(TEST_POLICY, resolver, RecordingConnector(), tls.client)
        head = good.fetch(f"https://secure.example.com:{server.port}/")
        with pytest.raises(UpstreamError) as caught:
            good.fetch(f"https://other.example.com:{server.port}/")
    assert head.status_code == 200
    assert server.server_names[0] == "secure.example.com"
    assert caught.value.details == "TLS certificate verification failed"


def test_tls_handshake_is_under_the_deadline() -> None:
    """A server that accepts and never speaks: the handshake waits, the deadline ends it."""
    with serving(PUBLIC_IP, silent) as server, pytest.raises(ToolTimeoutError):
        fetcher().fetch(f"https://{PUBLIC_IP}:{server.port}/")


def test_plain_http_on_an_https_url_is_a_tls_failure() -> None:
    def plain(conn: socket.socket, server: TcpServer) -> None:
        conn.sendall(OK_HEAD)  # answers the ClientHello with plain HTTP

    with serving(PUBLIC_IP, plain) as server, pytest.raises(UpstreamError) as caught:
        fetcher().fetch(f"https://{PUBLIC_IP}:{server.port}/")
    assert caught.value.details == "TLS handshake failed"


def test_allowed_outside_addresses_reach_only_the_connector() -> None:
    """The checked IP is what gets dialled; the recording connector refuses it for real."""
    connector = RecordingConnector()
    resolver = MapResolver({"example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    policy = NetworkPolicy()
    with pytest.raises(UpstreamError):
        fetcher(resolver, connector, policy).fetch("http://example.com/")
    with pytest.raises(UpstreamError):
        fetcher(resolver, connector, policy).fetch("https://[::ffff:8.8.8.8]:8443/")
    assert connector.dials == [
        ("93.184.216.34", 80),
        ("2606:2800:220:1::1", 80),
        ("8.8.8.8", 8443),
    ]


# Every family of bypass, aimed at the canary's port.  {p} is the canary port.
BLOCKED = [
    "http://127.0.0.1:{p}/",
    "http://127.0.0.2.nip.io:{p}/",
    "http://localhost:{p}/",
    "http://LOCALHOST.:{p}/",
    "http://foo.localhost:{p}/",
    "http://2130706433:{p}/",
    "http://0x7f000001:{p}/",
    "http://0x7f.1:{p}/",
    "http://0177.0.0.1:{p}/",
    "http://0177.1:{p}/",
    "http://127.1:{p}/",
    "http://127.0.1:{p}/",
    "http://127.000.000.001:{p}/",
    "http://017700000001:{p}/",
    "http://0:{p}/",
    "http://0.0.0.0:{p}/",
    "http://[::]:{p}/",
    "http://[::1]:{p}/",
    "http://[0000::1]:{p}/",
    "http://[::ffff:127.0.0.1]:{p}/",
    "http://[::ffff:7f00:1]:{p}/",
    "http://[::127.0.0.1]:{p}/",
    "http://[::ffff:0:127.0.0.1]:{p}/",
    "http://[64:ff9b::127.0.0.1]:{p}/",
    "http://[2002:7f00:1::1]:{p}/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{p}/",
    "http://127。0。0。1:{p}/",
    "http://１２７.0.0.1:{p}/",
    "http://%31%32%37.0.0.1:{p}/",
    "http://127.0.0.1:{p}\\@public.example.com/",
    "http://public.example.com\\@127.0.0.1:{p}/",
    "http://public.example.com@127.0.0.1:{p}/",
    "http://127.0.\t0.1:{p}/",
    " http://127.0.0.1:{p}/",
    "http://[::1%25lo]:{p}/",
    "http://[::1]a:{p}/",
    "http://127.0.0.1:+{p}/",
    "http://rebind-to-loopback.example.com:{p}/",
    "http://multi.example.com:{p}/",
    "http://mapped.example.com:{p}/",
    "gopher://127.0.0.1:{p}/_GET",
    "ftp://public.example.com:{p}/",
    "file:///etc/passwd",
]
CANARY_RESOLVER = MapResolver(
    {
        "public.example.com": [PUBLIC_IP],
        "rebind-to-loopback.example.com": ["127.0.0.1"],
        "multi.example.com": [PUBLIC_IP, "::1"],
        "mapped.example.com": ["::ffff:127.0.0.1"],
    }
)


def test_the_canary_sees_direct_connections(trap: Canary) -> None:
    """The witness works: every loopback spelling of a plain connect is recorded."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.connect((host, trap.port))
    if trap.v6 is not None:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.connect(("::1", trap.port))
    deadline = time.monotonic() + 5
    expected = 3 if trap.v6 is not None else 2
    while trap.hits < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert trap.hits == expected


@pytest.mark.parametrize("template", BLOCKED, ids=[repr(t)[:50] for t in BLOCKED])
def test_blocked_urls_never_connect(
    trap: Canary, template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three witnesses: the fetcher's connector, any socket connect at all, and the canary.
    connects: list[object] = []

    def spy(sock: socket.socket, address: object) -> None:
        connects.append(address)
        raise ConnectionRefusedError("connect spy")

    monkeypatch.setattr(socket.socket, "connect", spy)
    connector = RecordingConnector()
    url = template.replace("{p}", str(trap.port))
    with pytest.raises(ToolError) as caught:
        fetcher(CANARY_RESOLVER, connector).fetch(url)
    assert caught.value.code in ("SSRF_BLOCKED", "VALIDATION_ERROR")
    assert connector.dials == []
    assert connects == []
    assert trap.hits == 0
