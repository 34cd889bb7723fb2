"""network/cidr: subnet arithmetic, checked against values worked out by hand from the RFCs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devutils.errors import ValidationError
from devutils.registry import Registry, dump_output


def run(registry: Registry, **args: Any) -> dict[str, Any]:
    spec = registry.get("network_cidr")
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, args))


# (cidr, network, netmask, wildcard, broadcast, first, last, addresses, hosts)
INFO_VECTORS = [
    ("192.168.1.0/24", "192.168.1.0/24", "255.255.255.0", "0.0.0.255", "192.168.1.255",
     "192.168.1.1", "192.168.1.254", "256", "254"),
    ("10.0.0.0/8", "10.0.0.0/8", "255.0.0.0", "0.255.255.255", "10.255.255.255",
     "10.0.0.1", "10.255.255.254", "16777216", "16777214"),
    ("172.16.5.4/12", "172.16.0.0/12", "255.240.0.0", "0.15.255.255", "172.31.255.255",
     "172.16.0.1", "172.31.255.254", "1048576", "1048574"),
    # RFC 3021: both addresses of a /31 are hosts, and there is no broadcast.
    ("198.51.100.0/31", "198.51.100.0/31", "255.255.255.254", "0.0.0.1", None,
     "198.51.100.0", "198.51.100.1", "2", "2"),
    ("203.0.113.7/32", "203.0.113.7/32", "255.255.255.255", "0.0.0.0", None,
     "203.0.113.7", "203.0.113.7", "1", "1"),
    ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0", "255.255.255.255", "255.255.255.255",
     "0.0.0.1", "255.255.255.254", "4294967296", "4294967294"),
    # IPv6: no broadcast; the Subnet-Router anycast address (RFC 4291 §2.6.1) is not a host.
    ("2001:db8::/32", "2001:db8::/32", "ffff:ffff::", "::ffff:ffff:ffff:ffff:ffff:ffff", None,
     "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", str(2**96), str(2**96 - 1)),
    ("2001:db8::/127", "2001:db8::/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "::1", None,
     "2001:db8::", "2001:db8::1", "2", "2"),
    ("::/0", "::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None,
     "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", str(2**128), str(2**128 - 1)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cidr", "network", "netmask", "wildcard", "broadcast", "first", "last", "count", "hosts"),
    INFO_VECTORS,
    ids=[vector[0] for vector in INFO_VECTORS],
)
def test_info(
    registry: Registry,
    cidr: str,
    network: str,
    netmask: str,
    wildcard: str,
    broadcast: str | None,
    first: str,
    last: str,
    count: str,
    hosts: str,
) -> None:
    out = run(registry, cidr=cidr)
    assert out["network"] == network
    assert out["prefixLength"] == int(network.rsplit("/")[1])
    assert out["version"] == (6 if ":" in cidr else 4)
    assert (out["netmask"], out["wildcard"], out.get("broadcast")) == (netmask, wildcard, broadcast)
    assert (out["firstHost"], out["lastHost"]) == (first, last)
    assert (out["addressCount"], out["hostCount"]) == (count, hosts)


def test_host_bits_are_cleared_and_said(registry: Registry) -> None:
    assert (
        run(registry, cidr="10.1.2.3/8")["note"] == "host bits cleared: 10.1.2.3 is in 10.0.0.0/8"
    )
    assert "note" not in run(registry, cidr="10.0.0.0/8")


def test_a_bare_address_is_a_single_host_network(registry: Registry) -> None:
    out = run(registry, cidr="192.0.2.1")
    assert (out["network"], out["hostCount"]) == ("192.0.2.1/32", "1")


def test_split_lists_in_order_and_counts_all(registry: Registry) -> None:
    out = run(registry, action="split", cidr="10.0.0.0/22", newPrefix=24)
    assert out["subnets"] == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
    assert (out["subnetCount"], out["truncated"]) == ("4", False)


def test_a_huge_split_is_capped_but_counted(registry: Registry) -> None:
    out = run(registry, action="split", cidr="2001:db8::/32", newPrefix=128, limit=3)
    assert out["subnets"] == ["2001:db8::/128", "2001:db8::1/128", "2001:db8::2/128"]
    assert (out["subnetCount"], out["truncated"]) == (str(2**96), True)


@pytest.mark.parametrize(
    ("cidr", "address", "expected"),
    [
        ("10.0.0.0/8", "10.255.255.255", True),
        ("10.0.0.0/8", "11.0.0.0", False),
        ("10.0.0.0/8", "10.1.0.0/16", True),
        ("10.1.0.0/16", "10.0.0.0/8", False),
        ("10.0.0.0/8", "::ffff:10.0.0.1", False),  # another version is never contained
        ("2001:db8::/32", "2001:db8:1::1", True),
    ],
)
def test_contains(registry: Registry, cidr: str, address: str, expected: bool) -> None:
    assert run(registry, action="contains", cidr=cidr, address=address)["contains"] is expected


@pytest.mark.parametrize(
    ("cidr", "other", "expected"),
    [
        ("10.0.0.0/8", "10.200.0.0/16", True),
        ("10.0.0.0/24", "10.0.1.0/24", False),
        ("2001:db8::/32", "2001:db8:ff::/48", True),
        ("10.0.0.0/8", "::/0", False),
    ],
)
def test_overlap(registry: Registry, cidr: str, other: str, expected: bool) -> None:
    assert run(registry, action="overlap", cidr=cidr, other=other)["overlaps"] is expected


@pytest.mark.parametrize(
    ("start", "end", "cidrs"),
    [
        ("192.168.0.10", "192.168.0.20", ["192.168.0.10/31", "192.168.0.12/30",
                                          "192.168.0.16/30", "192.168.0.20/32"]),
        ("10.0.0.0", "10.0.255.255", ["10.0.0.0/16"]),
        ("::", "::ffff", ["::/112"]),
        ("0.0.0.0", "255.255.255.255", ["0.0.0.0/0"]),
    ],
)  # fmt: skip
def test_range_to_minimal_cidrs(registry: Registry, start: str, end: str, cidrs: list[str]) -> None:
    assert run(registry, action="range", start=start, end=end)["cidrs"] == cidrs


def test_aggregate_merges_per_version(registry: Registry) -> None:
    out = run(
        registry,
        action="aggregate",
        cidrs=[
            "10.0.1.0/24",
            "10.0.0.0/24",
            "10.0.2.0/23",
            "2001:db8::1",
            "2001:db8::/128",
            "10.0.0.5",
        ],
    )
    assert out["cidrs"] == ["10.0.0.0/22", "2001:db8::/127"]


@pytest.mark.parametrize(
    ("args", "detail"),
    [
        ({"cidr": "10.0.0.0/33"}, "invalid network in cidr: 10.0.0.0/33"),
        ({"cidr": "not-a-net"}, "invalid network in cidr: not-a-net"),
        ({}, "cidr is required for this action"),
        ({"action": "split", "cidr": "10.0.0.0/24"}, "newPrefix is required for split"),
        ({"action": "split", "cidr": "10.0.0.0/24", "newPrefix": 16},
         "newPrefix must be between 24 and 32 for 10.0.0.0/24"),
        ({"action": "contains", "cidr": "10.0.0.0/8"}, "address is required for this action"),
        ({"action": "overlap", "cidr": "10.0.0.0/8", "other": "x"}, "invalid network in other: x"),
        ({"action": "range", "start": "10.0.0.9", "end": "10.0.0.1"}, "start must not be after end"),
        ({"action": "range", "start": "10.0.0.1", "end": "::1"},
         "start and end must be the same IP version"),
        ({"action": "aggregate", "cidrs": []}, "cidrs is required for aggregate (1 or more networks)"),
        ({"action": "aggregate", "cidrs": ["10.0.0.0/8", "bad"]}, "invalid network in cidrs[1]: bad"),
    ],
)  # fmt: skip
def test_bad_input_is_a_validation_error(
    registry: Registry, args: dict[str, Any], detail: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        run(registry, **args)
    assert (caught.value.message, caught.value.details) == ("CIDR calculation failed", detail)


async def test_over_rest_a_list_past_the_cap_is_refused(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        "/api/v1/network/cidr",
        json={"action": "aggregate", "cidrs": ["10.0.0.0/25", "10.0.0.128/25"]},
    )
    assert ok.status_code == 200
    assert ok.json()["data"]["cidrs"] == ["10.0.0.0/24"]
    too_many = await client.post(
        "/api/v1/network/cidr", json={"action": "aggregate", "cidrs": ["10.0.0.1"] * 10_001}
    )
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "VALIDATION_ERROR"


ZONED = [
    ({"cidr": "fe80::%eth0/64"}, "invalid network in cidr: fe80::%eth0/64"),
    ({"cidr": "2001:db8::%1/64"}, "invalid network in cidr: 2001:db8::%1/64"),
    ({"cidr": "fe80::1%eth0"}, "invalid network in cidr: fe80::1%eth0"),
    ({"action": "split", "cidr": "2001:db8::%1/64", "newPrefix": 65},
     "invalid network in cidr: 2001:db8::%1/64"),
    ({"action": "contains", "cidr": "2001:db8::%1/64", "address": "2001:db8::1"},
     "invalid network in cidr: 2001:db8::%1/64"),
    ({"action": "contains", "cidr": "2001:db8::/64", "address": "2001:db8::1%eth0"},
     "invalid address in address: 2001:db8::1%eth0"),
    ({"action": "contains", "cidr": "2001:db8::/64", "address": "2001:db8::%eth0/80"},
     "invalid network in address: 2001:db8::%eth0/80"),
    ({"action": "overlap", "cidr": "2001:db8::/64", "other": "2001:db8::%1/64"},
     "invalid network in other: 2001:db8::%1/64"),
    ({"action": "range", "start": "fe80::1%eth0", "end": "fe80::9"},
     "invalid address in start: fe80::1%eth0"),
    ({"action": "range", "start": "fe80::1", "end": "fe80::9%eth0"},
     "invalid address in end: fe80::9%eth0"),
    ({"action": "aggregate", "cidrs": ["2001:db8::%1/64", "2001:db8::/64"]},
     "invalid network in cidrs[0]: 2001:db8::%1/64"),
    ({"action": "aggregate", "cidrs": ["fe80::/64", "fe80::%eth0/64"]},
     "invalid network in cidrs[1]: fe80::%eth0/64"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "detail"), ZONED, ids=[d for _a, d in ZONED])
def test_a_zone_id_is_refused_in_every_action(
    registry: Registry, args: dict[str, Any], detail: str
) -> None:
    """As network/ip refuses one: ipaddress keeps the zone in equality and ordering, so a zoned
    copy of a network once aggregated with the plain one into a supernet twice its size."""
    with pytest.raises(ValidationError) as caught:
        run(registry, **args)
    assert (caught.value.message, caught.value.details) == ("CIDR calculation failed", detail)


async def test_over_rest_a_zone_id_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/network/cidr",
        json={"action": "aggregate", "cidrs": ["2001:db8::%1/64", "2001:db8::/64"]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    plain = await client.post(
        "/api/v1/network/cidr", json={"action": "aggregate", "cidrs": ["2001:db8::/64"] * 2}
    )
    assert plain.json()["data"]["cidrs"] == ["2001:db8::/64"]
