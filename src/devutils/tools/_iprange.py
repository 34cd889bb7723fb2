"""IP address classification from an explicit table of IANA special-purpose blocks.

``ipaddress``'s ``is_private``/``is_global`` flags are not used: they changed between patch
releases (CVE-2024-4032) and still call multicast, NAT64 and 6to4 "global" (security-notes §0).
The table below is the IANA IPv4/IPv6 Special-Purpose Address Registries (plus multicast,
broadcast and the deprecated site-local and 6to4-relay blocks); the most specific block wins, so
the globally reachable blocks inside reserved ones (192.0.0.9, 2001:4:112::/48, ...) are public.
Addresses that embed an IPv4 address (NAT64, 6to4, Teredo) are judged by that address.

``classify(ip) -> RangeInfo`` is the whole API, kept free of tool concerns so the SSRF deny table
in ``devutils.netpolicy`` can adopt it later.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# Flag names a block can carry.
PRIVATE = "private"
LOOPBACK = "loopback"
LINK_LOCAL = "link_local"
MULTICAST = "multicast"
UNSPECIFIED = "unspecified"
RESERVED = "reserved"
DOCUMENTATION = "documentation"
CGNAT = "cgnat"
BROADCAST = "broadcast"
BENCHMARK = "benchmark"
EMBEDDED = "embedded"  # judged by the IPv4 address inside
# A block the registries mark "Globally Reachable: True" inside a reserved one (anycast services,
# AS112, ORCHIDv2): public, but named.
GLOBAL = "global"


@dataclass(frozen=True)
class Block:
    network: Network
    name: str
    flags: frozenset[str]


def _block(cidr: str, name: str, *flags: str) -> Block:
    return Block(ip_network(cidr), name, frozenset(flags))


BLOCKS: tuple[Block, ...] = (
    # IPv4 (RFC 6890 and successors)
    _block("0.0.0.0/8", "this-network", RESERVED),
    _block("0.0.0.0/32", "unspecified", UNSPECIFIED),
    _block("10.0.0.0/8", "private", PRIVATE),
    _block("100.64.0.0/10", "cgnat", CGNAT),
    _block("127.0.0.0/8", "loopback", LOOPBACK),
    _block("169.254.0.0/16", "link-local", LINK_LOCAL),
    _block("172.16.0.0/12", "private", PRIVATE),
    _block("192.0.0.0/24", "ietf-protocol", RESERVED),
    _block("192.0.0.9/32", "pcp-anycast", GLOBAL),  # RFC 7723
    _block("192.0.0.10/32", "turn-anycast", GLOBAL),  # RFC 8155
    _block("192.0.2.0/24", "documentation", DOCUMENTATION),
    _block("192.88.99.0/24", "6to4-relay", RESERVED),
    _block("192.168.0.0/16", "private", PRIVATE),
    _block("198.18.0.0/15", "benchmark", BENCHMARK),
    _block("198.51.100.0/24", "documentation", DOCUMENTATION),
    _block("203.0.113.0/24", "documentation", DOCUMENTATION),
    _block("224.0.0.0/4", "multicast", MULTICAST),
    _block("240.0.0.0/4", "reserved", RESERVED),
    _block("255.255.255.255/32", "broadcast", BROADCAST),
    # IPv6 (RFC 6890, 4291 and successors); ::ffff:0:0/96 is unwrapped before lookup.
    _block("::/8", "reserved", RESERVED),
    _block("::/128", "unspecified", UNSPECIFIED),
    _block("::1/128", "loopback", LOOPBACK),
    _block("::/96", "ipv4-compatible", RESERVED),
    _block("::ffff:0:0:0/96", "ipv4-translated", RESERVED),
    _block("64:ff9b::/96", "nat64", EMBEDDED),
    _block("64:ff9b:1::/48", "nat64-local", RESERVED),
    _block("100::/64", "discard", RESERVED),
    _block("2001::/23", "ietf-protocol", RESERVED),
    _block("2001::/32", "teredo", EMBEDDED),
    _block("2001:1::1/128", "pcp-anycast", GLOBAL),  # RFC 7723
    _block("2001:1::2/128", "turn-anycast", GLOBAL),  # RFC 8155
    _block("2001:1::3/128", "dns-sd-srp-anycast", GLOBAL),  # RFC 9665
    _block("2001:3::/32", "amt", GLOBAL),  # RFC 7450
    _block("2001:4:112::/48", "as112", GLOBAL),  # RFC 7535
    _block("2001:20::/28", "orchid-v2", GLOBAL),  # RFC 7343
    _block("2001:30::/28", "drone-remote-id", GLOBAL),  # RFC 9374
    _block("2001:2::/48", "benchmark", BENCHMARK),  # RFC 5180
    _block("2001:db8::/32", "documentation", DOCUMENTATION),
    _block("2002::/16", "6to4", EMBEDDED),
    _block("3fff::/20", "documentation", DOCUMENTATION),
    _block("5f00::/16", "srv6", RESERVED),
    _block("fc00::/7", "unique-local", PRIVATE),
    _block("fe80::/10", "link-local", LINK_LOCAL),
    _block("fec0::/10", "site-local", RESERVED),
    _block("ff00::/8", "multicast", MULTICAST),
)
# Longest prefix first, so the first containing block is the most specific.
_BY_SPECIFICITY = sorted(BLOCKS, key=lambda block: block.network.prefixlen, reverse=True)
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")


@dataclass(frozen=True)
class RangeInfo:
    address: Address  # IPv4-mapped IPv6 is unwrapped to IPv4
    range: str  # the block's name, or "public"
    flags: frozenset[str]
    public: bool  # globally routable unicast
    embedded_ipv4: IPv4Address | None = None

    def has(self, flag: str) -> bool:
        return flag in self.flags


def _embedded_ipv4(address: IPv6Address, block: Block) -> IPv4Address:
    value = int(address)
    if block.name == "6to4":  # 2002:AABB:CCDD::/48
        return IPv4Address((value >> 80) & 0xFFFFFFFF)
    if block.name == "teredo":  # the client's address, stored bit-inverted in the low 32 bits
        return IPv4Address(~value & 0xFFFFFFFF)
    return IPv4Address(value & 0xFFFFFFFF)  # NAT64: the low 32 bits


def _lookup(address: Address) -> Block | None:
    for block in _BY_SPECIFICITY:
        if address.version == block.network.version and address in block.network:
            return block
    return None


def classify(address: Address) -> RangeInfo:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    block = _lookup(address)
    if block is None:
        if isinstance(address, IPv6Address) and address not in _GLOBAL_UNICAST_V6:
            return RangeInfo(address, "reserved", frozenset({RESERVED}), public=False)
        return RangeInfo(address, "public", frozenset(), public=True)
    if EMBEDDED in block.flags and isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address, block)
        inner = classify(embedded)
        return RangeInfo(address, block.name, inner.flags, inner.public, embedded)
    if GLOBAL in block.flags:
        return RangeInfo(address, block.name, frozenset(), public=True)
    return RangeInfo(address, block.name, block.flags, public=False)
