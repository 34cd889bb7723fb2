"""network/ip: Go net.ParseIP parsing (seed §2.22) and the D8 range classification."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest

from devutils.registry import Registry, dump_output
from devutils.tools import _iprange

FLAGS = (
    "isPrivate",
    "isLoopback",
    "isPublic",
    "isLinkLocal",
    "isMulticast",
    "isUnspecified",
    "isReserved",
    "isDocumentation",
    "isCGNAT",
    "isBroadcast",
    "isBenchmark",
)


def run(registry: Registry, ip: str) -> dict[str, Any]:
    spec = registry.get("network_ip")
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, {"ip": ip}))


# (input, canonical ip, version, range, flags that are true)
CLASSIFY_VECTORS = [
    ("8.8.8.8", "8.8.8.8", 4, "public", {"isPublic"}),
    ("1.1.1.1", "1.1.1.1", 4, "public", {"isPublic"}),
    ("10.1.2.3", "10.1.2.3", 4, "private", {"isPrivate"}),
    ("172.16.0.1", "172.16.0.1", 4, "private", {"isPrivate"}),
    ("172.32.0.1", "172.32.0.1", 4, "public", {"isPublic"}),
    ("192.168.255.255", "192.168.255.255", 4, "private", {"isPrivate"}),
    ("127.0.0.1", "127.0.0.1", 4, "loopback", {"isLoopback"}),
    ("127.255.0.9", "127.255.0.9", 4, "loopback", {"isLoopback"}),
    ("169.254.169.254", "169.254.169.254", 4, "link-local", {"isLinkLocal"}),
    ("0.0.0.0", "0.0.0.0", 4, "unspecified", {"isUnspecified"}),
    ("0.1.2.3", "0.1.2.3", 4, "this-network", {"isReserved"}),
    ("100.64.0.1", "100.64.0.1", 4, "cgnat", {"isCGNAT"}),
    ("100.100.100.200", "100.100.100.200", 4, "cgnat", {"isCGNAT"}),
    ("100.128.0.1", "100.128.0.1", 4, "public", {"isPublic"}),
    ("192.0.0.192", "192.0.0.192", 4, "ietf-protocol", {"isReserved"}),
    ("192.0.2.1", "192.0.2.1", 4, "documentation", {"isDocumentation"}),
    ("198.51.100.7", "198.51.100.7", 4, "documentation", {"isDocumentation"}),
    ("203.0.113.9", "203.0.113.9", 4, "documentation", {"isDocumentation"}),
    ("198.18.0.1", "198.18.0.1", 4, "benchmark", {"isBenchmark"}),
    ("198.19.255.255", "198.19.255.255", 4, "benchmark", {"isBenchmark"}),
    ("192.88.99.1", "192.88.99.1", 4, "6to4-relay", {"isReserved"}),
    ("224.0.0.1", "224.0.0.1", 4, "multicast", {"isMulticast"}),
    ("239.255.255.250", "239.255.255.250", 4, "multicast", {"isMulticast"}),
    ("240.0.0.1", "240.0.0.1", 4, "reserved", {"isReserved"}),
    ("255.255.255.255", "255.255.255.255", 4, "broadcast", {"isBroadcast"}),
    ("::ffff:127.0.0.1", "127.0.0.1", 4, "loopback", {"isLoopback"}),
    ("::ffff:7f00:1", "127.0.0.1", 4, "loopback", {"isLoopback"}),
    ("::FFFF:8.8.8.8", "8.8.8.8", 4, "public", {"isPublic"}),
    ("::1", "::1", 6, "loopback", {"isLoopback"}),
    ("0:0:0:0:0:0:0:1", "::1", 6, "loopback", {"isLoopback"}),
    ("::", "::", 6, "unspecified", {"isUnspecified"}),
    ("2001:4860:4860::8888", "2001:4860:4860::8888", 6, "public", {"isPublic"}),
    ("2606:4700:0:0:0:0:0:1111", "2606:4700::1111", 6, "public", {"isPublic"}),
    ("FE80::1", "fe80::1", 6, "link-local", {"isLinkLocal"}),
    ("fc00::1", "fc00::1", 6, "unique-local", {"isPrivate"}),
    ("fd00:ec2::254", "fd00:ec2::254", 6, "unique-local", {"isPrivate"}),
    ("fec0::1", "fec0::1", 6, "site-local", {"isReserved"}),
    ("ff02::1", "ff02::1", 6, "multicast", {"isMulticast"}),
    ("2001:2::1", "2001:2::1", 6, "benchmark", {"isBenchmark"}),  # RFC 5180
    ("2001:db8::1", "2001:db8::1", 6, "documentation", {"isDocumentation"}),
    ("3fff::1", "3fff::1", 6, "documentation", {"isDocumentation"}),
    ("100::1", "100::1", 6, "discard", {"isReserved"}),
    ("2001:10::1", "2001:10::1", 6, "ietf-protocol", {"isReserved"}),  # ORCHID, retired
    # Globally reachable blocks inside 192.0.0.0/24 and 2001::/23 (IANA registries): public
    ("192.0.0.9", "192.0.0.9", 4, "pcp-anycast", {"isPublic"}),
    ("192.0.0.10", "192.0.0.10", 4, "turn-anycast", {"isPublic"}),
    ("192.0.0.11", "192.0.0.11", 4, "ietf-protocol", {"isReserved"}),
    ("2001:1::1", "2001:1::1", 6, "pcp-anycast", {"isPublic"}),
    ("2001:1::4", "2001:1::4", 6, "ietf-protocol", {"isReserved"}),
    ("2001:3::1", "2001:3::1", 6, "amt", {"isPublic"}),
    ("2001:4:112::1", "2001:4:112::1", 6, "as112", {"isPublic"}),
    ("2001:20::1", "2001:20::1", 6, "orchid-v2", {"isPublic"}),
    ("2001:30::1", "2001:30::1", 6, "drone-remote-id", {"isPublic"}),
    ("192.31.196.1", "192.31.196.1", 4, "public", {"isPublic"}),  # AS112-v4: in no block
    ("5f00::1", "5f00::1", 6, "srv6", {"isReserved"}),
    ("4000::1", "4000::1", 6, "reserved", {"isReserved"}),
    ("::127.0.0.1", "::7f00:1", 6, "ipv4-compatible", {"isReserved"}),
    ("::ffff:0:127.0.0.1", "::ffff:0:7f00:1", 6, "ipv4-translated", {"isReserved"}),
    ("64:ff9b:1::a00:1", "64:ff9b:1::a00:1", 6, "nat64-local", {"isReserved"}),
    # embedded IPv4 decides: NAT64, 6to4, Teredo
    ("64:ff9b::808:808", "64:ff9b::808:808", 6, "nat64", {"isPublic"}),
    ("64:ff9b::7f00:1", "64:ff9b::7f00:1", 6, "nat64", {"isLoopback"}),
    ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe", 6, "nat64", {"isLinkLocal"}),
    ("2002:7f00:1::1", "2002:7f00:1::1", 6, "6to4", {"isLoopback"}),
    ("2002:c0a8:101::1", "2002:c0a8:101::1", 6, "6to4", {"isPrivate"}),
    ("2002:808:808::1", "2002:808:808::1", 6, "6to4", {"isPublic"}),
    # RFC 4380 example: server 65.54.227.120, client 192.0.2.45 (documentation)
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136:e378:8000:63bf:3fff:fdd2", 6,
     "teredo", {"isDocumentation"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "canonical", "version", "range_name", "true_flags"),
    CLASSIFY_VECTORS,
    ids=[row[0] for row in CLASSIFY_VECTORS],
)
def test_classification(
    registry: Registry,
    text: str,
    canonical: str,
    version: int,
    range_name: str,
    true_flags: set[str],
) -> None:
    data = run(registry, text)
    assert data["ip"] == canonical
    assert data["version"] == version
    assert data["range"] == range_name
    assert {flag for flag in FLAGS if data[flag]} == true_flags


def test_embedded_address_is_reported(registry: Registry) -> None:
    assert run(registry, "64:ff9b::7f00:1")["embeddedIpv4"] == "127.0.0.1"
    assert run(registry, "2002:c0a8:101::1")["embeddedIpv4"] == "192.168.1.1"
    assert "embeddedIpv4" not in run(registry, "8.8.8.8")


async def test_reference_fields_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/network/ip", json={"ip": "192.168.1.1"})
    assert response.status_code == 200
    data = response.json()["data"]
    reference_fields = {"ip", "version", "isPrivate", "isLoopback", "isPublic"}
    assert {key: data[key] for key in reference_fields} == {
        "ip": "192.168.1.1",
        "version": 4,
        "isPrivate": True,
        "isLoopback": False,
        "isPublic": False,
    }


INVALID = [
    "256.1.1.1",
    "01.2.3.4",  # leading zero
    "1.2.3",  # short form
    "127.1",
    "2130706433",
    "0x7f000001",
    "1.2.3.4/24",  # CIDR
    "fe80::1%eth0",  # zone
    " 1.2.3.4",
    "1.2.3.4 ",
    "::ffff:01.2.3.4",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "１.２.３.４",  # full-width digits
    "localhost",
    "[::1]",
]


@pytest.mark.parametrize("text", INVALID, ids=INVALID)
async def test_invalid_addresses(client: httpx.AsyncClient, text: str) -> None:
    response = await client.post("/api/v1/network/ip", json={"ip": text})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "IP analysis failed")
    assert error["details"] == f"invalid IP address: {text}"


async def test_long_input_is_not_echoed_in_full(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/network/ip", json={"ip": "1" * 5000})
    assert response.status_code == 400
    assert len(response.json()["error"]["details"]) < 200


@pytest.mark.parametrize("body", [{}, {"ip": ""}, {"ip": 1}], ids=["missing", "empty", "number"])
async def test_request_errors(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/network/ip", json=body)
    assert response.status_code == 400
    message = 'field "ip" is required' if "ip" not in body else "Invalid request"
    assert response.json()["error"]["message"] == message


@pytest.mark.usefixtures("forbid_ipaddress_flags")
def test_classification_does_not_use_ipaddress_flags() -> None:
    """Version guard (security-notes §0): the table alone decides, whatever Python release runs."""
    for text, _canonical, _version, range_name, flags in CLASSIFY_VECTORS:
        info = _iprange.classify(ipaddress.ip_address(text))
        assert info.range == range_name, text
        assert info.public is ("isPublic" in flags), text


def test_most_specific_block_wins() -> None:
    assert _iprange.classify(ipaddress.ip_address("0.0.0.0")).range == "unspecified"
    assert _iprange.classify(ipaddress.ip_address("0.0.0.1")).range == "this-network"
    assert _iprange.classify(ipaddress.ip_address("2001:db8::")).range == "documentation"
    assert _iprange.classify(ipaddress.ip_address("2001:1::4")).range == "ietf-protocol"
    assert _iprange.classify(ipaddress.ip_address("2001:1::1")).range == "pcp-anycast"
