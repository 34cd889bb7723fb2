"""DNS lookups for the network/dns tool, through the same network policy as outbound requests.

Internal names are refused before any query; A/AAAA answers (after CNAME chasing) and the address
of a PTR lookup must pass the deny table, so the tool cannot be used to map an internal network.
Names in answers follow the same name rules as the query: an answer reached through a CNAME into
an internal zone, or naming an internal host (CNAME, MX, NS, SRV, PTR targets, SOA names), is
refused like an internal address (``SSRF_BLOCKED``), without any further lookup.  Internal zones
are the policy's (``.internal``, ``.local``, ``.svc``, single labels, ``.arpa`` ...) plus
DNS_PRIVATE_ZONES; a PTR chain may still end in the queried address's own RFC 2317 classless
zone.  DNS_ALLOWED_ZONES (and SSRF_ALLOW_HOSTS) lift the refusal for the names they cover, reverse
names (and so the address check of a PTR lookup) included.
Answers are capped at ``DNS_MAX_RECORDS`` records (flagged ``truncated``, never silently) and the
message itself is bounded by DNS (64 KiB over TCP).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any, Final

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import dns.reversename

from devutils.errors import ToolTimeoutError, UpstreamError, ValidationError
from devutils.netpolicy.hosts import HostError, parse_host
from devutils.netpolicy.policy import NAME, NetworkPolicy, refuse
from devutils.netpolicy.resolve import dns_resolver
from devutils.settings import Settings

RECORD_TYPES: Final = ("A", "AAAA", "MX", "TXT", "NS", "CNAME", "SOA", "SRV", "CAA", "PTR")
_FAILED = "DNS lookup failed"


@dataclass(frozen=True)
class DnsAnswer:
    records: tuple[str, ...]
    ttl: int | None
    truncated: bool


def _text(rdtype: str, rdata: Any) -> str:
    if rdtype in ("A", "AAAA"):
        return str(rdata.address)
    if rdtype == "MX":
        return f"{rdata.preference} {rdata.exchange.to_text()}"
    if rdtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rdtype in ("NS", "CNAME", "PTR"):
        return str(rdata.target.to_text())
    return str(rdata.to_text())


def _in_zones(name: str, zones: tuple[str, ...]) -> bool:
    return any(name == zone or name.endswith("." + zone) for zone in zones)


def _classless_block(name: str) -> IPv4Network | IPv6Network | None:
    """The block an RFC 2317 classless reverse name sits in, or None for any other name.

    In ``7.0/25.7.7.7.in-addr.arpa`` the labels right of the classless label (``0/25``, or
    ``0-25``: any label that is not an octet) name 7.7.7.0/24; in ip6.arpa the labels are nibbles.
    """
    for suffix, most, bits, parse, total in (
        (".in-addr.arpa", 3, 8, _octet, 32),
        (".ip6.arpa", 31, 4, _nibble, 128),
    ):
        if not name.endswith(suffix):
            continue
        labels = name.removesuffix(suffix).split(".")
        value = prefix = 0
        while labels and (number := parse(labels[-1])) is not None:
            value, prefix = value << bits | number, prefix + bits
            labels.pop()
        if not labels or not bits <= prefix <= most * bits:
            return None  # no classless label, or not a block a delegation can be made from
        base = value << (total - prefix)
        return IPv4Network((base, prefix)) if total == 32 else IPv6Network((base, prefix))
    return None


def _octet(label: str) -> int | None:
    return int(label) if label.isdigit() and str(int(label)) == label and int(label) < 256 else None


def _nibble(label: str) -> int | None:
    return int(label, 16) if len(label) == 1 and label in "0123456789abcdef" else None


def _target_names(rdtype: str, rdata: Any) -> tuple[dns.name.Name, ...]:
    """The host names a record points at (the names an answer could leak)."""
    if rdtype == "MX":
        return (rdata.exchange,)
    if rdtype in ("NS", "CNAME", "PTR", "SRV"):
        return (rdata.target,)
    if rdtype == "SOA":
        return (rdata.mname, rdata.rname)
    return ()


class DnsLookup:
    def __init__(
        self,
        resolver: dns.resolver.Resolver,
        timeout: float,
        max_records: int,
        private_zones: tuple[str, ...] = (),
        allowed_zones: tuple[str, ...] = (),
    ) -> None:
        self.resolver = resolver
        self.timeout = timeout
        self.max_records = max_records
        self.private_zones = private_zones
        self.allowed_zones = allowed_zones

    def _allowed(self, name: str, policy: NetworkPolicy) -> bool:
        return _in_zones(name, self.allowed_zones) or policy.host_allowed(name)

    def _check_name(self, name: str, policy: NetworkPolicy) -> bool:
        """Refuse an internal name (the policy's or a private zone's) unless allow-listed;
        True when the name is allow-listed (its answers skip the address check)."""
        if self._allowed(name, policy):
            return True
        if _in_zones(name, self.private_zones):
            raise refuse(NAME)
        policy.check_name(name)
        return False

    def _check_answer_name(self, name: dns.name.Name, policy: NetworkPolicy) -> None:
        if name == dns.name.root:
            return  # "no such service" (a null MX, an SRV target of ".")
        self._check_name(name.to_text(omit_final_dot=True).lower(), policy)

    def _query_name(self, domain: str, rdtype: str, policy: NetworkPolicy) -> tuple[str, bool]:
        """The name to ask for and whether its answers skip the address check (allow-listed)."""
        if rdtype == "PTR":
            return self._reverse_name(domain, policy)
        try:
            host = parse_host(domain)
        except HostError as exc:
            raise ValidationError(_FAILED, f"invalid domain: {exc}") from None
        if host.name is None:
            raise ValidationError(_FAILED, f"{rdtype} lookups take a domain name, not an address")
        return host.name, self._check_name(host.name, policy)

    def _reverse_name(self, domain: str, policy: NetworkPolicy) -> tuple[str, bool]:
        """The reverse name of the address and whether it is allow-listed (then unchecked, as a
        forward name in DNS_ALLOWED_ZONES is); else the address and the answer's names are."""
        try:
            address = ip_address(domain)
        except ValueError:
            try:
                address = ip_address(dns.reversename.to_address(dns.name.from_text(domain)))
            except (dns.exception.DNSException, ValueError):
                raise ValidationError(
                    _FAILED, "PTR lookups take an IP address (or its reverse name)"
                ) from None
        if not isinstance(address, IPv4Address | IPv6Address):  # pragma: no cover - typing only
            raise ValidationError(_FAILED, "invalid address")
        if isinstance(address, IPv6Address) and address.scope_id is not None:
            # A zone (%eth0) names a link on this host: it has no reverse name.
            raise ValidationError(_FAILED, "PTR lookups take an IP address without a zone (%...)")
        name = dns.reversename.from_address(str(address)).to_text(omit_final_dot=True)
        if self._allowed(name.lower(), policy):
            return name, True
        policy.check_address(address)
        return name, False

    def _check_canonical_name(self, answer: dns.resolver.Answer, policy: NetworkPolicy) -> None:
        """A PTR query may end its CNAME chain in the reverse zone of the queried address's own
        block (RFC 2317 classless delegation, how ISPs hand customers a reverse zone for a block
        smaller than a /24): that zone belongs to whoever holds the address, which passed the deny
        table, so it cannot reach an internal reverse zone.  Any other name under .arpa stays
        internal."""
        canonical = answer.canonical_name.to_text(omit_final_dot=True).lower()
        if answer.rdtype == dns.rdatatype.PTR:
            block = _classless_block(canonical)
            queried = ip_address(dns.reversename.to_address(answer.qname))
            if block is not None and queried in block:
                return
        self._check_answer_name(answer.canonical_name, policy)

    def lookup(self, domain: str, rdtype: str, policy: NetworkPolicy) -> DnsAnswer:
        qname, trusted = self._query_name(domain, rdtype, policy)
        try:
            answer = self.resolver.resolve(
                qname, rdtype, search=False, raise_on_no_answer=False, lifetime=self.timeout
            )
        except dns.resolver.NXDOMAIN:
            raise ValidationError(_FAILED, "no such domain") from None
        except dns.exception.Timeout:
            raise ToolTimeoutError(_FAILED, f"no DNS answer within {self.timeout:g} s") from None
        except dns.resolver.NoNameservers:
            raise UpstreamError(_FAILED, "the DNS servers refused or failed the query") from None
        except dns.exception.DNSException:
            raise UpstreamError(_FAILED, "the DNS query failed") from None
        if not trusted and answer.canonical_name != answer.qname:
            # Reached through CNAMEs: the records are the final name's, which must pass too.
            self._check_canonical_name(answer, policy)
        rrset = answer.rrset
        if rrset is None:
            if rdtype == "CNAME":
                # The reference (Go's LookupCNAME) answers a name without CNAME with itself.
                return DnsAnswer((answer.canonical_name.to_text(),), None, False)
            return DnsAnswer((), None, False)
        rdatas = list(rrset)
        if rdtype in ("A", "AAAA") and not trusted:
            for rdata in rdatas:
                address = ip_address(rdata.address)
                policy.check_address(address)
        elif not trusted:
            for rdata in rdatas:
                for name in _target_names(rdtype, rdata):
                    self._check_answer_name(name, policy)
        records = tuple(_text(rdtype, rdata) for rdata in rdatas[: self.max_records])
        return DnsAnswer(records, int(rrset.ttl), len(rdatas) > self.max_records)


def dns_lookup(settings: Settings) -> DnsLookup:
    """The service factory tools use: ``ctx.service(dns_lookup)``."""
    timeout = min(settings.dns_timeout, settings.tool_timeout * 0.8)
    return DnsLookup(
        dns_resolver(settings),
        timeout,
        settings.dns_max_records,
        settings.dns_private_zones,
        settings.dns_allowed_zones,
    )
