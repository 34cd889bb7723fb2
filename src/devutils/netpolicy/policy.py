"""The network policy every outbound tool goes through: URL → the exact addresses it may dial.

Order of checks: parse (malformed → 400) → scheme → port → host name rules → address literal or
one resolution, every address against the deny table.  The port check is an extra gate, never a
substitute for the address check.  Refusals raise :class:`SSRFBlockedError` with generic details
(never the resolved address, never which range) and are counted in ``ssrf_blocks_total{reason}``
and logged at WARNING on ``devutils.netpolicy`` with the reason only, never the URL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network

from devutils.errors import SSRFBlockedError, ToolTimeoutError, UpstreamError, ValidationError
from devutils.netpolicy.denytable import ADDRESS_REASONS, IPAddress, connect_address, deny_reason
from devutils.netpolicy.hosts import HostError, internal_name, name_allowed, parse_host
from devutils.netpolicy.resolve import ResolveError, Resolver, ResolveTimeout
from devutils.netpolicy.urlcheck import ParsedUrl, UrlError, parse_url, scheme_of
from devutils.observability.metrics import SSRF_BLOCKS
from devutils.settings import Settings

logger = logging.getLogger("devutils.netpolicy")

# Non-address refusal reasons (address reasons come from denytable.ADDRESS_REASONS).
SCHEME = "scheme"
PORT = "port"
NAME = "internal_name"
# Every value of ssrf_blocks_total{reason}: what dashboards and alert tests may name.
SSRF_REASONS = ADDRESS_REASONS | {SCHEME, PORT, NAME}

DEFAULT_PORTS = ((80, 80), (443, 443), (8080, 8080), (8443, 8443))
_GENERIC = {
    SCHEME: "only http and https URLs are allowed",
    PORT: "this port is not allowed",
    NAME: "internal host names are not allowed",
}


def refuse(reason: str) -> SSRFBlockedError:
    """Count, log and build the refusal for ``reason`` (a bounded vocabulary)."""
    SSRF_BLOCKS.labels(reason=reason).inc()
    logger.warning("ssrf blocked: %s", reason, extra={"reason": reason, "ssrf": True})
    return SSRFBlockedError(details=_GENERIC.get(reason, "destination address is not allowed"))


@dataclass(frozen=True)
class Destination:
    """A checked URL: the addresses it may dial (in order) plus what to say on the wire."""

    url: ParsedUrl
    addresses: tuple[IPAddress, ...]

    @property
    def server_name(self) -> str:
        """TLS SNI and certificate name: the host name, or the address literal."""
        return self.url.host.text


@dataclass(frozen=True)
class NetworkPolicy:
    allow_cidrs: tuple[IPv4Network | IPv6Network, ...] = ()
    allow_hosts: tuple[str, ...] = ()
    allow_ports: tuple[tuple[int, int], ...] = DEFAULT_PORTS
    timeout: float = 5.0
    max_header_bytes: int = 64 * 1024
    schemes: frozenset[str] = field(default_factory=lambda: frozenset({"http", "https"}))

    @classmethod
    def from_settings(cls, settings: Settings) -> NetworkPolicy:
        return cls(
            allow_cidrs=tuple(ip_network(item, strict=False) for item in settings.ssrf_allow_cidrs),
            allow_hosts=tuple(
                host.strip().lower().rstrip(".") for host in settings.ssrf_allow_hosts
            ),
            allow_ports=settings.allowed_port_ranges,
            # Our deadline must fire before the registry's tool timeout does.
            timeout=min(settings.network_timeout, settings.tool_timeout * 0.8),
            max_header_bytes=settings.network_max_header_bytes,
        )

    # --- single checks --------------------------------------------------------------------
    def host_allowed(self, name: str) -> bool:
        return name_allowed(name, self.allow_hosts)

    def check_name(self, name: str) -> None:
        """Refuse internal names unless allow-listed."""
        if internal_name(name) and not self.host_allowed(name):
            raise refuse(NAME)

    def check_address(self, address: IPAddress) -> None:
        """Refuse an address in the deny table unless an allow-listed CIDR covers it."""
        reason = deny_reason(address)
        if reason is None:
            return
        dialled = connect_address(address)
        if any(address in net or dialled in net for net in self.allow_cidrs):
            return
        raise refuse(reason)

    def check_port(self, port: int) -> None:
        if not any(low <= port <= high for low, high in self.allow_ports):
            raise refuse(PORT)

    # --- whole URL ------------------------------------------------------------------------
    def parse(self, url: str) -> ParsedUrl:
        """Parse and apply every check that needs no lookup."""
        # The scheme decides first (as in the reference): file:, gopher:, dict: ... are refused
        # whatever the rest of the URL looks like.
        scheme = scheme_of(url)
        if scheme is not None and scheme not in self.schemes:
            raise refuse(SCHEME)
        try:
            parsed = parse_url(url)
        except UrlError as exc:
            raise ValidationError("Invalid URL", str(exc)) from None
        self.check_port(parsed.port)
        if parsed.host.address is not None:
            self.check_address(parsed.host.address)
        elif parsed.host.name is not None:
            self.check_name(parsed.host.name)
        return parsed

    def destination(self, url: str, resolver: Resolver, timeout: float) -> Destination:
        """Parse, resolve once and check every address; what it returns is all that may be dialled."""
        return self._resolved(self.parse(url), resolver, timeout)

    def endpoint(self, host: str, port: int, resolver: Resolver, timeout: float) -> Destination:
        """The same checks for a bare host and port (TLS inspection): host parsed by the URL
        parser's host rules, port against the allowed ports, then one resolution."""
        try:
            parsed_host = parse_host(host)
        except HostError as exc:
            raise ValidationError("Invalid host", str(exc)) from None
        self.check_port(port)
        if parsed_host.address is not None:
            self.check_address(parsed_host.address)
        elif parsed_host.name is not None:
            self.check_name(parsed_host.name)
        parsed = ParsedUrl("https", parsed_host, port, explicit_port=True, target="/")
        return self._resolved(parsed, resolver, timeout)

    def _resolved(self, parsed: ParsedUrl, resolver: Resolver, timeout: float) -> Destination:
        if parsed.host.address is not None:
            return Destination(parsed, (connect_address(parsed.host.address),))
        name = parsed.host.name or ""
        addresses = self.resolve(name, resolver, timeout)
        return Destination(parsed, tuple(connect_address(address) for address in addresses))

    def resolve(self, name: str, resolver: Resolver, timeout: float) -> Sequence[IPAddress]:
        """Resolve ``name`` once; refuse the name if ANY of its addresses is denied."""
        try:
            addresses = resolver.resolve(name, timeout)
        except ResolveTimeout:
            raise ToolTimeoutError(details="host name resolution timed out") from None
        except ResolveError as exc:
            detail = "host name does not resolve" if exc.missing else "host name resolution failed"
            raise UpstreamError(details=detail) from None
        if not addresses:
            raise UpstreamError(details="host name does not resolve")
        allowed_name = self.host_allowed(name)
        for address in addresses:
            if not allowed_name:
                self.check_address(address)
        return addresses


def network_policy(settings: Settings) -> NetworkPolicy:
    """The service factory tools use: ``ctx.service(network_policy)``."""
    return NetworkPolicy.from_settings(settings)
