"""network/ip: parse an IP address and say which special-purpose range, if any, it is in."""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import Example, ToolContext, tool
from devutils.tools import _iprange as ranges

_ECHO_LIMIT = 100  # longest input echoed back in an error (a valid address is at most 45)


class IpInput(ToolInput):
    ip: str = Field(min_length=1, description="IPv4 (dotted, no leading zeros) or IPv6 address.")


class IpOutput(ToolOutput):
    ip: str = Field(description="Canonical form; IPv4-mapped IPv6 shown as dotted IPv4.")
    version: int = Field(description="4 (including IPv4-mapped IPv6) or 6.")
    is_private: bool = Field(description="10/8, 172.16/12, 192.168/16 or fc00::/7.")
    is_loopback: bool
    is_public: bool = Field(description="Globally routable unicast (no special-purpose range).")
    is_link_local: bool
    is_multicast: bool
    is_unspecified: bool
    is_reserved: bool
    is_documentation: bool
    is_cgnat: bool = Field(alias="isCGNAT", description="Shared address space 100.64.0.0/10.")
    is_broadcast: bool
    is_benchmark: bool
    range: str = Field(
        description='Special-purpose block name (e.g. "link-local", "cgnat") or "public".'
    )
    embedded_ipv4: str | None = Field(
        None,
        exclude_if=omit_none,
        description="For NAT64, 6to4 and Teredo: the IPv4 address that decided the flags.",
    )


def _parse_go_ip(text: str) -> ranges.Address:
    """Go ``net.ParseIP``: strict dotted IPv4 or IPv6, no zone, prefix or whitespace."""
    if "%" in text:
        raise ValueError("zone")
    return ip_address(text)


@tool(
    "/api/v1/network/ip",
    title="Classify an IP address",
    description="Parse an IPv4/IPv6 address: canonical form, version, and whether it is private, "
    "loopback, link-local, multicast, documentation, CGNAT, reserved or publicly routable.",
    examples=(
        Example({"ip": "192.168.1.1"}),
        Example({"ip": "169.254.169.254"}),
        Example({"ip": "2001:4860:4860::8888"}),
    ),
)
def network_ip(inp: IpInput, ctx: ToolContext) -> IpOutput:
    try:
        address = _parse_go_ip(inp.ip)
    except ValueError:
        echo = inp.ip if len(inp.ip) <= _ECHO_LIMIT else inp.ip[:_ECHO_LIMIT] + "…"
        raise ValidationError("IP analysis failed", f"invalid IP address: {echo}") from None
    info = ranges.classify(address)
    return IpOutput(
        ip=str(info.address),
        version=4 if not isinstance(info.address, IPv6Address) else 6,
        is_private=info.has(ranges.PRIVATE),
        is_loopback=info.has(ranges.LOOPBACK),
        is_public=info.public,
        is_link_local=info.has(ranges.LINK_LOCAL),
        is_multicast=info.has(ranges.MULTICAST),
        is_unspecified=info.has(ranges.UNSPECIFIED),
        is_reserved=info.has(ranges.RESERVED),
        is_documentation=info.has(ranges.DOCUMENTATION),
        is_cgnat=info.has(ranges.CGNAT),
        is_broadcast=info.has(ranges.BROADCAST),
        is_benchmark=info.has(ranges.BENCHMARK),
        range=info.range,
        embedded_ipv4=str(info.embedded_ipv4) if info.embedded_ipv4 else None,
    )
