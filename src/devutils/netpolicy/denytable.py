"""The explicit deny table: which IP addresses outbound requests may never reach, and why.

Decisions come from the rows below only, never from ``ipaddress``'s ``is_private``/``is_global``
flags: those changed in patch releases (CVE-2024-4032) and still call multicast, CGNAT, NAT64 and
site-local "global" on some versions.  The ``ipaddress`` module is used purely as a parser and for
prefix membership.

IPv6 is deny-by-default outside global unicast ``2000::/3``; IPv4 embedded in IPv6 (mapped,
compatible, translated, NAT64, 6to4, Teredo) is unwrapped and judged as IPv4 first, so
``[::ffff:127.0.0.1]`` is refused as loopback rather than as something vaguer.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Final

IPAddress = IPv4Address | IPv6Address

# Bounded vocabulary: these strings are Prometheus label values (ssrf_blocks_total{reason}).
LOOPBACK: Final = "loopback"
PRIVATE: Final = "private"
LINK_LOCAL: Final = "link_local"
CGNAT: Final = "cgnat"
UNSPECIFIED: Final = "unspecified"
RESERVED: Final = "reserved"
DOCUMENTATION: Final = "documentation"
BENCHMARK: Final = "benchmark"
MULTICAST: Final = "multicast"
BROADCAST: Final = "broadcast"
UNIQUE_LOCAL: Final = "unique_local"
SITE_LOCAL: Final = "site_local"
TRANSITION: Final = "ipv6_transition"

ADDRESS_REASONS: Final = frozenset(
    {
        LOOPBACK,
        PRIVATE,
        LINK_LOCAL,
        CGNAT,
        UNSPECIFIED,
        RESERVED,
        DOCUMENTATION,
        BENCHMARK,
        MULTICAST,
        BROADCAST,
        UNIQUE_LOCAL,
        SITE_LOCAL,
        TRANSITION,
    }
)


def _rows(*rows: tuple[str, str]) -> tuple[tuple[IPv4Network | IPv6Network, str], ...]:
    return tuple((ip_network(cidr), reason) for cidr, reason in rows)


# First match wins, so narrower rows that need their own reason come before wider ones.
DENY_V4: Final = _rows(
    ("0.0.0.0/8", UNSPECIFIED),  # "this network"; 0.0.0.0 reaches the local host on Linux
    ("10.0.0.0/8", PRIVATE),
    ("100.64.0.0/10", CGNAT),  # shared address space; Alibaba metadata 100.100.100.200
    ("127.0.0.0/8", LOOPBACK),
    ("169.254.0.0/16", LINK_LOCAL),  # cloud metadata 169.254.169.254, ECS 169.254.170.2
    ("172.16.0.0/12", PRIVATE),
    ("192.0.0.0/24", RESERVED),  # IETF protocol assignments; Oracle metadata 192.0.0.192
    ("192.0.2.0/24", DOCUMENTATION),
    ("192.88.99.0/24", RESERVED),  # deprecated 6to4 relay anycast
    ("192.168.0.0/16", PRIVATE),
    ("198.18.0.0/15", BENCHMARK),
    ("198.51.100.0/24", DOCUMENTATION),
    ("203.0.113.0/24", DOCUMENTATION),
    ("224.0.0.0/4", MULTICAST),
    ("255.255.255.255/32", BROADCAST),
    ("240.0.0.0/4", RESERVED),
)

# Prefixes that carry an IPv4 address; the embedded address is judged first.
MAPPED: Final = IPv6Network("::ffff:0:0/96")
COMPATIBLE: Final = IPv6Network("::/96")
TRANSLATED: Final = IPv6Network("::ffff:0:0:0/96")
NAT64: Final = IPv6Network("64:ff9b::/96")
NAT64_LOCAL: Final = IPv6Network("64:ff9b:1::/48")
SIX_TO_FOUR: Final = IPv6Network("2002::/16")
TEREDO: Final = IPv6Network("2001::/32")

GLOBAL_UNICAST: Final = IPv6Network("2000::/3")

DENY_V6: Final = _rows(
    ("::/128", UNSPECIFIED),
    ("::1/128", LOOPBACK),
    ("::ffff:0:0:0/96", TRANSITION),  # SIIT translated
    ("::/96", TRANSITION),  # IPv4-compatible (deprecated)
    ("64:ff9b:1::/48", TRANSITION),  # local-use NAT64: operator-internal by definition
    ("100::/64", RESERVED),  # discard-only
    ("fc00::/7", UNIQUE_LOCAL),  # includes AWS IMDSv6 fd00:ec2::254
    ("fe80::/10", LINK_LOCAL),
    ("fec0::/10", SITE_LOCAL),
    ("ff00::/8", MULTICAST),
    ("2001:db8::/32", DOCUMENTATION),
    ("3fff::/20", DOCUMENTATION),  # RFC 9637
    ("2001::/32", TRANSITION),  # Teredo
    ("2001::/23", RESERVED),  # IETF protocol assignments (ORCHID, benchmarking, ...)
    ("2002::/16", TRANSITION),  # 6to4
)


def embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, ...]:
    """Every IPv4 address an IPv6 address carries, by the transition prefix it falls in."""
    packed = int(address)
    low32 = IPv4Address(packed & 0xFFFFFFFF)
    if address in MAPPED or address in TRANSLATED or address in NAT64 or address in COMPATIBLE:
        return (low32,)
    if address in SIX_TO_FOUR:
        return (IPv4Address((packed >> 80) & 0xFFFFFFFF),)
    if address in TEREDO:
        server = IPv4Address((packed >> 64) & 0xFFFFFFFF)
        client = IPv4Address(~packed & 0xFFFFFFFF)  # stored inverted (RFC 4380)
        return (server, client)
    if address in NAT64_LOCAL:
        # RFC 6052 allows several prefix lengths inside a /48; check the common /96 position.
        return (low32,)
    return ()


def _match(address: IPAddress, rows: tuple[tuple[IPv4Network | IPv6Network, str], ...]) -> str:
    for network, reason in rows:
        if address in network:
            return reason
    return ""


def deny_reason(address: IPAddress) -> str | None:
    """The reason ``address`` is denied, or ``None`` when outbound requests may reach it."""
    if isinstance(address, IPv4Address):
        return _match(address, DENY_V4) or None
    if address in COMPATIBLE and int(address) <= 1:
        return _match(address, DENY_V6) or None  # :: and ::1 are not "compatible" addresses
    for inner in embedded_ipv4(address):
        reason = _match(inner, DENY_V4)
        if reason:
            return reason
    if address in MAPPED or address in NAT64:
        return None  # a public IPv4 address spelled in IPv6
    reason = _match(address, DENY_V6)
    if reason:
        return reason
    if address not in GLOBAL_UNICAST:
        return RESERVED  # unallocated, or allocated to something that is not a host
    return None


def connect_address(address: IPAddress) -> IPAddress:
    """The address to dial: an IPv4-mapped IPv6 address is dialled as the IPv4 address it names."""
    if isinstance(address, IPv6Address) and address in MAPPED:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address
