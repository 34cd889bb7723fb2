"""The two IP tables answer different questions and must not drift apart.

``tools/_iprange`` describes an address for network/ip ("what is this?"); ``netpolicy.denytable``
decides whether outbound requests may reach it ("may we connect?").  They are kept apart on
purpose: the deny table is a security policy (it refuses every 6to4, Teredo and IPv4-compatible
address whatever they embed, and Teredo's server address too, and every IETF protocol block
whole, the globally reachable anycast and AS112 blocks inside them included), while the
classification reports what the address is.  This test holds them to one rule: an address
network/ip calls public is denied only for one of those documented policy reasons, and an address
it calls non-public is always denied.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from devutils.netpolicy.denytable import DENY_V4, DENY_V6, RESERVED, TRANSITION, deny_reason
from devutils.tools._iprange import BLOCKS, GLOBAL, classify

Address = IPv4Address | IPv6Address


def _samples() -> list[Address]:
    """First, second, middle and last address of every block in both tables, plus neighbours."""
    networks = [block.network for block in BLOCKS] + [net for net, _ in DENY_V4 + DENY_V6]
    addresses: set[Address] = set()
    for network in networks:
        first, last = int(network.network_address), int(network.broadcast_address)
        kind = type(network.network_address)
        for value in (first, first + 1, (first + last) // 2, last, first - 1, last + 1):
            if 0 <= value < 2**network.max_prefixlen:
                addresses.add(kind(value))
    addresses.update(
        ip_address(text)
        for text in (
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2002:808:808::1",  # 6to4 of a public address: public, denied as a transition
        )
    )
    return sorted(addresses, key=lambda a: (a.version, int(a)))


SAMPLES = _samples()
GLOBAL_BLOCKS = frozenset(block.name for block in BLOCKS if GLOBAL in block.flags)


@pytest.mark.parametrize("address", SAMPLES, ids=[str(a) for a in SAMPLES])
def test_tables_agree(address: Address) -> None:
    info = classify(address)
    reason = deny_reason(address)
    if not info.public:
        assert reason is not None, f"network/ip calls {address} {info.range} but it is not denied"
    elif reason == TRANSITION:
        assert isinstance(address, IPv6Address)
    elif reason is not None:  # only a globally reachable block inside a reserved one
        assert (reason, info.range in GLOBAL_BLOCKS) == (RESERVED, True), (
            f"public {address} ({info.range}) denied as {reason}"
        )


def test_samples_cover_both_kinds() -> None:
    assert sum(classify(a).public for a in SAMPLES) > 10
    assert sum(not classify(a).public for a in SAMPLES) > 100
