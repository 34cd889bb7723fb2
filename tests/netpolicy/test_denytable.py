"""The deny table row by row, in IPv4 and IPv6 spellings, independent of ipaddress flags."""

from __future__ import annotations

import ipaddress
from ipaddress import ip_address

import pytest

from devutils.netpolicy import denytable
from devutils.netpolicy.denytable import connect_address, deny_reason, embedded_ipv4

DENIED_V4 = [
    ("0.0.0.0", "unspecified"),
    ("0.255.255.255", "unspecified"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("100.64.0.1", "cgnat"),
    ("100.100.100.200", "cgnat"),  # Alibaba metadata
    ("100.127.255.255", "cgnat"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link_local"),  # AWS/GCP/Azure metadata
    ("169.254.170.2", "link_local"),  # ECS task metadata
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.0.0.1", "reserved"),
    ("192.0.0.192", "reserved"),  # Oracle metadata
    ("192.0.2.1", "documentation"),
    ("192.88.99.1", "reserved"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmark"),
    ("198.19.255.255", "benchmark"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.254", "reserved"),
    ("255.255.255.255", "broadcast"),
]

DENIED_V6 = [
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fc00::1", "unique_local"),
    ("fd00:ec2::254", "unique_local"),  # AWS IMDSv6
    ("fe80::1", "link_local"),
    ("febf:ffff::1", "link_local"),
    ("fec0::1", "site_local"),
    ("ff02::1", "multicast"),
    ("ff05::1:3", "multicast"),
    ("100::1", "reserved"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:20::1", "reserved"),  # ORCHIDv2 (3.13 calls it global)
    ("2001:2::1", "reserved"),  # benchmarking
    ("5f00::1", "reserved"),  # SRv6 SIDs, outside 2000::/3
    ("4000::1", "reserved"),  # unallocated
    ("::2", "unspecified"),  # IPv4-compatible 0.0.0.2
    ("2002::1", "unspecified"),  # 6to4 of 0.0.0.0
    ("2002:808:808::1", "ipv6_transition"),  # 6to4 of a public address: still refused
    ("64:ff9b:1::808:808", "ipv6_transition"),  # local-use NAT64
    ("::ffff:0:808:808", "ipv6_transition"),  # SIIT translated
    ("::808:808", "ipv6_transition"),  # IPv4-compatible, public inside
]

# IPv6 forms that carry an IPv4 address: judged by the embedded address.
EMBEDDED = [
    ("::ffff:127.0.0.1", "loopback"),  # mapped
    ("::ffff:7f00:1", "loopback"),  # mapped, hex spelling
    ("::ffff:169.254.169.254", "link_local"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("::127.0.0.1", "loopback"),  # compatible
    ("::10.1.2.3", "private"),
    ("::ffff:0:127.0.0.1", "loopback"),  # translated
    ("64:ff9b::7f00:1", "loopback"),  # NAT64
    ("64:ff9b::a9fe:a9fe", "link_local"),
    ("64:ff9b:1::a00:1", "private"),  # local-use NAT64
    ("2002:7f00:1::1", "loopback"),  # 6to4
    ("2002:a9fe:a9fe::", "link_local"),
    ("2002:c000:c0::1", "reserved"),  # 6to4 of Oracle metadata 192.0.0.192
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo client 127.0.0.1
    ("2001:0:7f00:1::1", "loopback"),  # Teredo server 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "documentation"),  # client 192.0.2.45
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above CGNAT
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.255",
    "198.17.255.255",
    "223.255.255.255",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "2a00:1450:4001::1",
    "::ffff:8.8.8.8",  # mapped public: dialled as 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of a public address (DNS64 networks need this)
]


@pytest.mark.parametrize(("address", "reason"), DENIED_V4, ids=[row[0] for row in DENIED_V4])
def test_ipv4_rows(address: str, reason: str) -> None:
    assert deny_reason(ip_address(address)) == reason


@pytest.mark.parametrize(("address", "reason"), DENIED_V6, ids=[row[0] for row in DENIED_V6])
def test_ipv6_rows(address: str, reason: str) -> None:
    assert deny_reason(ip_address(address)) == reason


@pytest.mark.parametrize(("address", "reason"), EMBEDDED, ids=[row[0] for row in EMBEDDED])
def test_embedded_ipv4_is_judged_as_ipv4(address: str, reason: str) -> None:
    assert deny_reason(ip_address(address)) == reason


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    assert deny_reason(ip_address(address)) is None


def test_teredo_unwraps_server_and_client() -> None:
    teredo = ip_address("2001:0:4136:e378:8000:63bf:3fff:fdd2")
    assert isinstance(teredo, ipaddress.IPv6Address)
    assert embedded_ipv4(teredo) == (ip_address("65.54.227.120"), ip_address("192.0.2.45"))


@pytest.mark.parametrize(
    ("address", "dialled"),
    [
        ("::ffff:8.8.8.8", "8.8.8.8"),
        ("64:ff9b::808:808", "64:ff9b::808:808"),
        ("1.2.3.4", "1.2.3.4"),
    ],
)
def test_mapped_addresses_are_dialled_as_ipv4(address: str, dialled: str) -> None:
    assert connect_address(ip_address(address)) == ip_address(dialled)


def test_every_reason_is_in_the_bounded_vocabulary() -> None:
    reasons = {reason for _, reason in DENIED_V4 + DENIED_V6 + EMBEDDED}
    assert reasons <= denytable.ADDRESS_REASONS


@pytest.mark.usefixtures("forbid_ipaddress_flags")
def test_decisions_never_read_ipaddress_flags() -> None:
    """The flags changed in patch releases (CVE-2024-4032); reading one here fails the test."""
    rows = DENIED_V4 + DENIED_V6 + EMBEDDED
    assert all(deny_reason(ip_address(address)) == reason for address, reason in rows)
    assert all(deny_reason(ip_address(address)) is None for address in ALLOWED)
