"""network tools: headers (HTTP response head of a URL) and dns (record lookup).

Both go through :mod:`devutils.netpolicy`; every dependency (policy, resolver, connector, TLS
context, DNS client) comes from ``ctx.service`` so tests can swap it without touching the network.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devutils.models import ToolInput, ToolOutput
from devutils.netpolicy.dnsquery import dns_lookup
from devutils.netpolicy.fetch import HeaderFetcher, socket_connector, tls_context
from devutils.netpolicy.policy import network_policy
from devutils.netpolicy.resolve import name_resolver
from devutils.registry import Example, ToolContext, tool


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
    answers: list[DnsRecord] = Field(description="Each record with its TTL.")
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
