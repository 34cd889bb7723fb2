"""network tools: headers (HTTP response head of a URL), dns (record lookup) and tls (the
certificate chain a host presents).

All go through :mod:`devutils.netpolicy`; every dependency (policy, resolver, connector, TLS
context, DNS client) comes from ``ctx.service`` so tests can swap it without touching the network.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from pydantic import Field

from devutils.errors import UpstreamError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.netpolicy.dnsquery import dns_lookup
from devutils.netpolicy.fetch import HeaderFetcher, socket_connector, tls_context
from devutils.netpolicy.policy import network_policy
from devutils.netpolicy.resolve import name_resolver
from devutils.netpolicy.tlschain import (
    UNPARSABLE_CERTIFICATE,
    ChainFetcher,
    trust_store,
    verify_chain,
)
from devutils.registry import Example, ToolContext, tool
from devutils.tools._x509 import chain_order_valid
from devutils.tools.cert import SanList, describe


class HeadersInput(ToolInput):
    url: str = Field(min_length=1, max_length=8192, description="http(s) URL to inspect.")


class HeadersOutput(ToolOutput):
    url: str = Field(description="The URL as given.")
    status_code: int
    headers: dict[str, str] = Field(description="Canonical header name → first value.")
    headers_all: dict[str, list[str]] = Field(description="Canonical header name → every value.")


def canonical_header(name: str) -> str:
    """Go's CanonicalHeaderKey: ``content-type`` → ``Content-Type`` (names with odd bytes kept)."""
    if not name or any(
        not (ch.isascii() and (ch.isalnum() or ch in "!#$%&'*+-.^_`|~")) for ch in name
    ):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


@tool(
    "/api/v1/network/headers",
    raw="headers",  # the CLI's --raw prints this field
    title="Inspect HTTP response headers",
    description="GET a public http(s) URL and return its status and response headers; redirects "
    "are reported, not followed, the body is never read, internal targets are refused.",
    bind_error_message="Header inspection failed",
    blocking=True,
    open_world=True,
    rate_class="network",
    examples=(Example({"url": "https://example.com/"}, "Headers of a public site"),),
)
def network_headers(inp: HeadersInput, ctx: ToolContext) -> HeadersOutput:
    fetcher = HeaderFetcher(
        ctx.service(network_policy),
        ctx.service(name_resolver),
        ctx.service(socket_connector),
        ctx.service(tls_context),
    )
    head = fetcher.fetch(inp.url)
    first: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    for name, value in head.headers:
        key = canonical_header(name)
        first.setdefault(key, value)
        every.setdefault(key, []).append(value)
    return HeadersOutput(
        url=inp.url, status_code=head.status_code, headers=first, headers_all=every
    )


RecordType = Literal["A", "AAAA", "MX", "TXT", "NS", "CNAME", "SOA", "SRV", "CAA", "PTR"]


class DnsInput(ToolInput):
    domain: str = Field(
        min_length=1, max_length=255, description="Domain name (for PTR: an IP address)."
    )
    record_type: RecordType = Field(description="Record type.")


class DnsRecord(ToolOutput):
    value: str
    ttl: int


class DnsOutput(ToolOutput):
    domain: str = Field(description="The domain as given.")
    record_type: str
    records: list[str] = Field(description="Record values; [] when there are none.")
    ttl: int | None = Field(description="TTL of the answer in seconds; null when empty.")
    answers: list[DnsRecord] = Field(
        description="Each record the server answered, with its TTL. A CNAME query of a name "
        "without one has none: records then holds the name itself, as Go's LookupCNAME does."
    )
    truncated: bool = Field(description="True when more records existed than DNS_MAX_RECORDS.")


@tool(
    "/api/v1/network/dns",
    raw="records",  # the CLI's --raw prints this field
    title="DNS lookup",
    description="Look up A, AAAA, MX, TXT, NS, CNAME, SOA, SRV, CAA or PTR records of a public "
    "name, with TTLs; internal names and answers in internal ranges are refused.",
    bind_error_message="DNS lookup failed",
    blocking=True,
    open_world=True,
    rate_class="network",
    examples=(
        Example({"domain": "example.com", "recordType": "A"}, "Addresses of a name"),
        Example({"domain": "example.com", "recordType": "MX"}, "Mail servers"),
    ),
)
def network_dns(inp: DnsInput, ctx: ToolContext) -> DnsOutput:
    answer = ctx.service(dns_lookup).lookup(
        inp.domain, inp.record_type, ctx.service(network_policy)
    )
    ttl = answer.ttl
    return DnsOutput(
        domain=inp.domain,
        record_type=inp.record_type,
        records=list(answer.records),
        ttl=ttl,
        answers=[DnsRecord(value=value, ttl=ttl) for value in answer.records]
        if ttl is not None
        else [],
        truncated=answer.truncated,
    )


class TlsInput(ToolInput):
    host: str = Field(min_length=1, max_length=255, description="Name or IP ([v6] in brackets).")
    port: int = Field(443, ge=1, le=65535)


class ChainCertificate(ToolOutput):
    subject: str
    issuer: str
    not_before: str
    not_after: str
    days_left: int
    dns_names: SanList
    sha256_fingerprint: str
    pem: str = Field(description="For crypto/cert/decode.")


class TlsOutput(ToolOutput):
    host: str
    port: int
    protocol: str = Field(description="e.g. TLSv1.3")
    cipher: str
    certificates: list[ChainCertificate] = Field(description="As sent, leaf first (max 32).")
    truncated: bool
    chain_order_valid: bool
    trusted: bool = Field(description="Verifies to a Mozilla root for this host.")
    verification_error: str | None = Field(None, exclude_if=omit_none)
    warnings: list[str] | None = Field(
        None,
        exclude_if=omit_none,
        description="E.g. the server requires a client certificate, so the handshake stopped "
        "after its chain.",
    )


def _entry(cert: x509.Certificate, now: datetime) -> ChainCertificate:
    info = describe(cert, now)
    return ChainCertificate(
        subject=info.subject,
        issuer=info.issuer,
        not_before=info.not_before,
        not_after=info.not_after,
        days_left=info.days_left,
        dns_names=info.dns_names,
        sha256_fingerprint=info.sha256_fingerprint,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


@tool(
    "/api/v1/network/tls",
    raw="certificates",
    title="Inspect a TLS certificate chain",
    description="The certificate chain a public host presents (SNI, port) and whether it "
    "verifies; internal targets are refused.",
    bind_error_message="TLS inspection failed",
    blocking=True,
    open_world=True,
    rate_class="network",
    examples=(Example({"host": "example.com"}, "Chain of a public site"),),
)
def network_tls(inp: TlsInput, ctx: ToolContext) -> TlsOutput:
    fetcher = ChainFetcher(
        ctx.service(network_policy), ctx.service(name_resolver), ctx.service(socket_connector)
    )
    destination, presented = fetcher.fetch(inp.host, inp.port)
    now = ctx.clock()
    chain = presented.certificates
    try:
        details = [_entry(cert, now) for cert in chain]
    except (ValueError, x509.InvalidVersion, x509.DuplicateExtension, UnsupportedAlgorithm):
        raise UpstreamError(details=UNPARSABLE_CERTIFICATE) from None
    verdict = verify_chain(chain, destination, ctx.service(trust_store), now)
    return TlsOutput(
        host=inp.host,
        port=inp.port,
        protocol=presented.protocol,
        cipher=presented.cipher,
        certificates=details,
        truncated=presented.truncated,
        chain_order_valid=chain_order_valid(chain),
        trusted=verdict.trusted,
        verification_error=verdict.error,
        warnings=list(presented.warnings) or None,
    )
