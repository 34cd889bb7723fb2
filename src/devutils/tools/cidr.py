"""network/cidr: subnet arithmetic for IPv4 and IPv6 (pure computation, no network access).

One tool with an ``action`` rather than six: the verb is the same (compute on networks), and
every MCP tool definition costs an agent context.  Counts are decimal strings because an IPv6
network holds up to 2**128 addresses, past what JSON numbers carry exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    collapse_addresses,
    ip_address,
    ip_interface,
    ip_network,
    summarize_address_range,
)
from typing import Literal

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import Example, ToolContext, tool

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

MAX_LIST = 10_000  # networks in one aggregate call
MAX_SPLIT = 4096  # subnets listed by one split (the total is always reported)
DEFAULT_SPLIT = 256
_FAILED = "CIDR calculation failed"
_ECHO_LIMIT = 100


class CidrInput(ToolInput):
    action: Literal["info", "split", "contains", "overlap", "range", "aggregate"] = Field(
        "info",
        description="info (default), split into newPrefix, contains (address or network), "
        "overlap (with other), range (start-end to CIDRs) or aggregate (cidrs).",
    )
    cidr: str | None = Field(
        None, max_length=64, description="Network such as 10.0.0.0/8 or 2001:db8::/32."
    )
    new_prefix: int | None = Field(None, ge=0, le=128, description="split: subnet prefix length.")
    limit: int = Field(
        DEFAULT_SPLIT, ge=1, le=MAX_SPLIT, description="split: most subnets listed (1-4096)."
    )
    address: str | None = Field(
        None, max_length=64, description="contains: an address or network to test."
    )
    other: str | None = Field(None, max_length=64, description="overlap: the second network.")
    start: str | None = Field(None, max_length=64, description="range: first address.")
    end: str | None = Field(None, max_length=64, description="range: last address.")
    cidrs: list[str] | None = Field(
        None, max_length=MAX_LIST, description="aggregate: networks or addresses to merge."
    )


class CidrOutput(ToolOutput):
    action: str
    network: str | None = Field(None, exclude_if=omit_none, description="Canonical network.")
    version: int | None = Field(None, exclude_if=omit_none)
    prefix_length: int | None = Field(None, exclude_if=omit_none)
    netmask: str | None = Field(None, exclude_if=omit_none)
    wildcard: str | None = Field(None, exclude_if=omit_none, description="Host mask.")
    broadcast: str | None = Field(None, exclude_if=omit_none, description="IPv4 only.")
    first_host: str | None = Field(None, exclude_if=omit_none)
    last_host: str | None = Field(None, exclude_if=omit_none)
    address_count: str | None = Field(None, exclude_if=omit_none, description="Decimal.")
    host_count: str | None = Field(None, exclude_if=omit_none, description="Decimal.")
    subnets: list[str] | None = Field(None, exclude_if=omit_none)
    subnet_count: str | None = Field(None, exclude_if=omit_none, description="Decimal.")
    truncated: bool | None = Field(None, exclude_if=omit_none)
    contains: bool | None = Field(None, exclude_if=omit_none)
    overlaps: bool | None = Field(None, exclude_if=omit_none)
    cidrs: list[str] | None = Field(None, exclude_if=omit_none)
    note: str | None = Field(None, exclude_if=omit_none, description="Host bits that were cleared.")


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "…"


def _unzoned(text: str) -> str:
    """The stripped text, refused when it carries an IPv6 zone (``%eth0``), as network/ip does:
    ``ipaddress`` keeps the zone in equality and ordering, so ``X%z/64`` and ``X/64`` would count
    as two different networks (aggregate would merge them into a /63 neither input holds)."""
    if "%" in text:
        raise ValueError("zone")
    return text.strip()


def _network(text: str | None, field: str) -> Network:
    if text is None:
        raise ValidationError(_FAILED, f"{field} is required for this action")
    try:
        return ip_network(_unzoned(text), strict=False)
    except ValueError:
        raise ValidationError(_FAILED, f"invalid network in {field}: {_echo(text)}") from None


def _address(text: str | None, field: str) -> Address:
    if text is None:
        raise ValidationError(_FAILED, f"{field} is required for this action")
    try:
        return ip_address(_unzoned(text))
    except ValueError:
        raise ValidationError(_FAILED, f"invalid address in {field}: {_echo(text)}") from None


def _hosts(net: Network) -> tuple[Address, Address, int]:
    """First and last usable host and their count, as ``ipaddress.hosts()`` defines them: IPv4
    leaves out the network and broadcast addresses except in a /31 (RFC 3021) or /32; IPv6
    leaves out the Subnet-Router anycast address (RFC 4291 §2.6.1) except in a /127 or /128."""
    size = net.num_addresses
    first, last = net.network_address, net.broadcast_address
    if net.version == 4 and size > 2:
        return first + 1, last - 1, size - 2
    if net.version == 6 and size > 2:
        return first + 1, last, size - 1
    return first, last, size


def _info(net: Network, given: str) -> CidrOutput:
    first, last, hosts = _hosts(net)
    written = ip_interface(given.strip()).ip
    return CidrOutput(
        action="info",
        network=str(net),
        version=net.version,
        prefix_length=net.prefixlen,
        netmask=str(net.netmask),
        wildcard=str(net.hostmask),
        # RFC 3021: a /31 (like a /32) has no broadcast address.
        broadcast=str(net.broadcast_address) if net.version == 4 and net.prefixlen < 31 else None,
        first_host=str(first),
        last_host=str(last),
        address_count=str(net.num_addresses),
        host_count=str(hosts),
        note=f"host bits cleared: {written} is in {net}"
        if written != net.network_address
        else None,
    )


def _split(net: Network, new_prefix: int | None, limit: int) -> CidrOutput:
    if new_prefix is None:
        raise ValidationError(_FAILED, "newPrefix is required for split")
    if not net.prefixlen <= new_prefix <= net.max_prefixlen:
        raise ValidationError(
            _FAILED,
            f"newPrefix must be between {net.prefixlen} and {net.max_prefixlen} for {net}",
        )
    total = 1 << (new_prefix - net.prefixlen)
    subnets: list[str] = []
    # subnets() is a generator: only the listed ones are built, whatever the total.
    for subnet in net.subnets(new_prefix=new_prefix):
        if len(subnets) == limit:
            break
        subnets.append(str(subnet))
    return CidrOutput(
        action="split",
        network=str(net),
        subnets=subnets,
        subnet_count=str(total),
        truncated=total > len(subnets),
    )


def _contains(net: Network, text: str | None) -> bool:
    if text is not None and "/" in text:
        inner = _network(text, "address")
        return inner.version == net.version and inner.subnet_of(net)  # type: ignore[arg-type]
    address = _address(text, "address")
    return address.version == net.version and address in net


def _range(start_text: str | None, end_text: str | None) -> list[str]:
    start, end = _address(start_text, "start"), _address(end_text, "end")
    if start.version != end.version:
        raise ValidationError(_FAILED, "start and end must be the same IP version")
    if start > end:  # type: ignore[operator]
        raise ValidationError(_FAILED, "start must not be after end")
    return [str(net) for net in summarize_address_range(start, end)]


def _aggregate(texts: list[str] | None) -> list[str]:
    if not texts:
        raise ValidationError(_FAILED, "cidrs is required for aggregate (1 or more networks)")
    nets = [_network(text, f"cidrs[{index}]") for index, text in enumerate(texts)]
    v4: Iterable[Network] = collapse_addresses(n for n in nets if n.version == 4)
    v6: Iterable[Network] = collapse_addresses(n for n in nets if n.version == 6)
    return [str(net) for net in (*v4, *v6)]


def _work(inp: CidrInput) -> int:
    # Parsing dominates: about a microsecond per character of the listed networks.
    return sum(len(text) for text in inp.cidrs or ()) + (inp.limit if inp.action == "split" else 0)


@tool(
    "/api/v1/network/cidr",
    raw=("subnets", "cidrs", "contains", "overlaps"),
    title="Subnet calculator",
    description="IPv4/IPv6 subnet maths: network, masks, hosts and counts; split into smaller "
    "prefixes; contains and overlap checks; address range to CIDRs; aggregate a list.",
    blocking="large",
    estimate=_work,
    examples=(
        Example({"cidr": "192.168.1.0/24"}),
        Example({"action": "split", "cidr": "10.0.0.0/22", "newPrefix": 24}),
        Example({"action": "contains", "cidr": "10.0.0.0/8", "address": "10.20.30.40"}),
        Example({"action": "overlap", "cidr": "2001:db8::/32", "other": "2001:db8:ff::/48"}),
        Example({"action": "range", "start": "192.168.0.10", "end": "192.168.0.20"}),
        Example({"action": "aggregate", "cidrs": ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/23"]}),
    ),
)
def network_cidr(inp: CidrInput, ctx: ToolContext) -> CidrOutput:
    if inp.action == "range":
        return CidrOutput(action="range", cidrs=_range(inp.start, inp.end))
    if inp.action == "aggregate":
        return CidrOutput(action="aggregate", cidrs=_aggregate(inp.cidrs))
    net = _network(inp.cidr, "cidr")
    if inp.action == "split":
        return _split(net, inp.new_prefix, inp.limit)
    if inp.action == "contains":
        return CidrOutput(action="contains", network=str(net), contains=_contains(net, inp.address))
    if inp.action == "overlap":
        other = _network(inp.other, "other")
        overlaps = other.version == net.version and net.overlaps(other)
        return CidrOutput(action="overlap", network=str(net), overlaps=overlaps)
    return _info(net, inp.cidr or "")
