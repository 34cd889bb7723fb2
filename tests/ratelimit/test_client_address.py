"""Who owns a rate-limit bucket: IPv6 clients grouped by network, X-Forwarded-For hops that are
not addresses ignored.  Over a real socket, with 127.0.0.1 as the trusted proxy presenting the
client addresses."""

from __future__ import annotations

import http.client
import ipaddress
from collections.abc import Iterator

import pytest

from devutils.http.middleware.request_context import client_ip
from devutils.ratelimit.limiter import client_network
from tests.support import ServerProcess, run_server

STATUS = "/api/v1/status"  # a non-tool route: the anonymous class
LIMITS = {
    "RATE_LIMIT_ENABLED": "true",
    "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "1",  # no refill during a test
    "RATE_LIMIT_ANONYMOUS_BURST": "2",
    "TRUSTED_PROXIES": "127.0.0.1/32",
}


def statuses(server: ServerProcess, *forwarded: str | None) -> list[int]:
    """One GET per entry, with that X-Forwarded-For value (None: no header)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        out = []
        for value in forwarded:
            conn.request("GET", STATUS, headers={"X-Forwarded-For": value} if value else {})
            response = conn.getresponse()
            response.read()
            out.append(response.status)
        return out
    finally:
        conn.close()


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    with run_server(LIMITS) as running:
        yield running


def test_one_ipv6_64_is_one_bucket(server: ServerProcess) -> None:
    assert statuses(server, "fd00::1", "fd00::2", "fd00::ffff:1") == [200, 200, 429]
    # The next /64 and an IPv4 client have buckets of their own.
    assert statuses(server, "fd00:0:0:1::1", "fd00:0:0:1::2") == [200, 200]
    assert statuses(server, "192.0.2.1", "192.0.2.2") == [200, 200]


def test_the_prefix_is_configurable() -> None:
    with run_server({**LIMITS, "RATE_LIMIT_IPV6_PREFIX": "128"}) as server:
        assert statuses(server, "fd00::1", "fd00::1", "fd00::2") == [200, 200, 200]
        assert statuses(server, "fd00::1") == [429]


@pytest.mark.parametrize("junk", ["unknown", "_hidden", "not an address", "1.2.3", "[fd00::1"])
def test_a_forwarded_value_that_is_no_address_is_ignored(server: ServerProcess, junk: str) -> None:
    # The proxy's own address (the peer) owns the bucket: no header, junk, and junk behind a
    # forged client address all spend the same two tokens.
    assert statuses(server, None, junk, f"203.0.113.5, {junk}") == [200, 200, 429]


def test_a_port_on_a_hop_is_dropped(server: ServerProcess) -> None:
    assert statuses(server, "203.0.113.9:5678", "203.0.113.9:5679", "203.0.113.9") == [
        200,
        200,
        429,
    ]


# --- the same rules, unit by unit -------------------------------------------------------------

TRUSTED = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))


def scope(forwarded: str | None, peer: str = "127.0.0.1") -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"client": (peer, 1234), "headers": headers}


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (None, "127.0.0.1"),
        ("198.51.100.1", "198.51.100.1"),
        ("198.51.100.1, 10.0.0.2", "198.51.100.1"),  # walks through trusted hops
        ("198.51.100.1, unknown", "127.0.0.1"),  # junk stops the walk at the trusted peer
        ("198.51.100.1, unknown, 10.0.0.2", "10.0.0.2"),  # ... or at the last trusted hop
        ("_hidden", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("FD00::1", "fd00::1"),  # canonical form
        ("[fd00::1]:443", "fd00::1"),
        ("198.51.100.1:80", "198.51.100.1"),
        ("1.1.1.1, 198.51.100.1", "198.51.100.1"),  # a forged left-most entry is not reached
    ],
)
def test_client_ip(forwarded: str | None, expected: str) -> None:
    assert client_ip(scope(forwarded), TRUSTED) == expected


def test_untrusted_peer_ignores_the_header() -> None:
    assert client_ip(scope("198.51.100.1", peer="192.0.2.9"), TRUSTED) == "192.0.2.9"


@pytest.mark.parametrize(
    ("address", "prefix", "expected"),
    [
        ("192.0.2.1", 64, "192.0.2.1"),
        ("fd00::1", 64, "fd00::/64"),
        ("fd00::ffff:ffff:ffff:ffff", 64, "fd00::/64"),
        ("fd00:0:0:1::1", 64, "fd00:0:0:1::/64"),
        ("fd00::1", 48, "fd00::/48"),
        ("fd00::1", 128, "fd00::1"),
        ("::ffff:192.0.2.1", 64, "192.0.2.1"),  # mapped IPv4 counts as IPv4
        ("64:ff9b::198.51.100.1", 64, "198.51.100.1"),  # so does NAT64's well-known prefix
        ("64:ff9b::203.0.113.9", 64, "203.0.113.9"),
        ("64:ff9b:1::c633:6401", 64, "64:ff9b:1::/64"),  # a local-use prefix: an IPv6 network
        ("not:an:address:", 64, "not:an:address:"),
    ],
)
def test_client_network(address: str, prefix: int, expected: str) -> None:
    assert client_network(address, prefix) == expected
