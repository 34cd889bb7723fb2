"""DNS lookups against a real dnslib server on 127.0.0.1, through the network policy."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from devutils.errors import SSRFBlockedError, ToolTimeoutError, ValidationError
from devutils.netpolicy.dnsquery import DnsLookup, dns_lookup
from devutils.netpolicy.policy import NetworkPolicy
from devutils.netpolicy.resolve import (
    DnspythonResolver,
    ResolveError,
    ResolveTimeout,
    SystemResolver,
    name_resolver,
)
from tests.conftest import make_settings
from tests.netpolicy.loopback import ZoneResolver, dns_server, mute_dns_server

BIG_TXT = "".join(
    f'big.example.com. 60 IN TXT "record-{index:03d}-{"x" * 150}"\n' for index in range(300)
)
ZONE = (
    """
example.com. 300 IN A 93.184.216.34
example.com. 300 IN AAAA 2606:2800:220:1:248:1893:25c8:1946
example.com. 3600 IN MX 10 mail.example.com.
example.com. 3600 IN MX 20 backup.example.com.
example.com. 60 IN TXT "v=spf1 -all"
example.com. 86400 IN NS a.iana-servers.net.
example.com. 86400 IN NS b.iana-servers.net.
example.com. 3600 IN SOA ns.example.com. admin.example.com. 2024010101 7200 3600 1209600 300
example.com. 3600 IN CAA 0 issue "letsencrypt.org"
_sip._tcp.example.com. 600 IN SRV 10 60 5060 sip.example.com.
www.example.com. 120 IN CNAME example.com.
mail.example.com. 300 IN A 93.184.216.35
34.216.184.93.in-addr.arpa. 900 IN PTR example.com.
internal.example.com. 30 IN A 10.0.0.5
alias-internal.example.com. 30 IN CNAME internal.example.com.
rebind.example.com. 0 IN A 127.0.0.1
meta.example.com. 30 IN AAAA ::ffff:a9fe:a9fe
"""
    + BIG_TXT
)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, ZoneResolver]]:
    with dns_server(ZONE) as running:
        yield running


def lookup_for(port: int, **settings: object) -> DnsLookup:
    return dns_lookup(make_settings(dns_resolvers=f"127.0.0.1:{port}", dns_timeout=2, **settings))


POLICY = NetworkPolicy()

KNOWN = [
    ("example.com", "A", ["93.184.216.34"], 300),
    ("example.com", "AAAA", ["2606:2800:220:1:248:1893:25c8:1946"], 300),
    ("example.com", "MX", ["10 mail.example.com.", "20 backup.example.com."], 3600),
    ("example.com", "TXT", ["v=spf1 -all"], 60),
    ("example.com", "NS", ["a.iana-servers.net.", "b.iana-servers.net."], 86400),
    (
        "example.com",
        "SOA",
        ["ns.example.com. admin.example.com. 2024010101 7200 3600 1209600 300"],
        3600,
    ),
    ("example.com", "CAA", ['0 issue "letsencrypt.org"'], 3600),
    ("_sip._tcp.example.com", "SRV", ["10 60 5060 sip.example.com."], 600),
    ("www.example.com", "CNAME", ["example.com."], 120),
    ("www.example.com", "A", ["93.184.216.34"], 300),  # chased through the CNAME
    ("93.184.216.34", "PTR", ["example.com."], 900),
    ("34.216.184.93.in-addr.arpa", "PTR", ["example.com."], 900),
    ("Example.COM.", "A", ["93.184.216.34"], 300),
]


@pytest.mark.parametrize(
    ("domain", "rdtype", "records", "ttl"), KNOWN, ids=[f"{r[1]}-{r[0]}" for r in KNOWN]
)
def test_record_types(
    server: tuple[int, ZoneResolver], domain: str, rdtype: str, records: list[str], ttl: int
) -> None:
    answer = lookup_for(server[0]).lookup(domain, rdtype, POLICY)
    assert sorted(answer.records) == sorted(records)
    assert answer.ttl == ttl
    assert answer.truncated is False


def test_no_data_is_an_empty_list(server: tuple[int, ZoneResolver]) -> None:
    answer = lookup_for(server[0]).lookup("mail.example.com", "MX", POLICY)
    assert answer.records == ()
    assert answer.ttl is None


def test_cname_of_a_name_without_one_is_the_name_itself(server: tuple[int, ZoneResolver]) -> None:
    """As the reference (Go's LookupCNAME) answers."""
    assert lookup_for(server[0]).lookup("example.com", "CNAME", POLICY).records == ("example.com.",)


def test_nxdomain_is_a_validation_error(server: tuple[int, ZoneResolver]) -> None:
    with pytest.raises(ValidationError, match="DNS lookup failed"):
        lookup_for(server[0]).lookup("missing.example.com", "A", POLICY)


@pytest.mark.parametrize(
    ("domain", "rdtype"),
    [
        ("internal.example.com", "A"),
        ("alias-internal.example.com", "A"),
        ("rebind.example.com", "A"),
        ("meta.example.com", "AAAA"),
    ],
)
def test_answers_in_denied_ranges_are_refused(
    server: tuple[int, ZoneResolver], domain: str, rdtype: str
) -> None:
    with pytest.raises(SSRFBlockedError):
        lookup_for(server[0]).lookup(domain, rdtype, POLICY)


@pytest.mark.parametrize(
    ("domain", "rdtype"),
    [
        ("localhost", "A"),
        ("kubernetes.default.svc.cluster.local", "A"),
        ("metadata.google.internal", "A"),
        ("printer.local", "AAAA"),
        ("intranet", "MX"),
        ("corp.example.internal", "TXT"),
        ("10.0.0.5", "PTR"),
        ("5.0.0.10.in-addr.arpa", "PTR"),
        ("169.254.169.254", "PTR"),
        ("fd00::1", "PTR"),
        ("::ffff:127.0.0.1", "PTR"),
    ],
)
def test_internal_names_are_refused_before_any_query(
    server: tuple[int, ZoneResolver], domain: str, rdtype: str
) -> None:
    port, zone = server
    before = len(zone.queries)
    with pytest.raises(SSRFBlockedError):
        lookup_for(port).lookup(domain, rdtype, POLICY)
    assert len(zone.queries) == before


@pytest.mark.parametrize(
    ("domain", "rdtype"),
    [
        ("127.0.0.1", "A"),
        ("2130706433", "A"),
        ("exa mple.com", "A"),
        ("example..com", "A"),
        ("example.com", "PTR"),
        ("2001:db8::1%eth0", "PTR"),  # a zone names a link of this host: no reverse name
        ("a" * 64 + ".com", "TXT"),
    ],
)
def test_malformed_domains(server: tuple[int, ZoneResolver], domain: str, rdtype: str) -> None:
    with pytest.raises(ValidationError):
        lookup_for(server[0]).lookup(domain, rdtype, POLICY)


def test_allow_listed_names_and_ranges(server: tuple[int, ZoneResolver]) -> None:
    policy = NetworkPolicy.from_settings(
        make_settings(ssrf_allow_hosts="internal.example.com", ssrf_allow_cidrs="10.0.0.0/8")
    )
    lookup = lookup_for(server[0])
    assert lookup.lookup("internal.example.com", "A", policy).records == ("10.0.0.5",)
    assert lookup.lookup("alias-internal.example.com", "A", policy).records == ("10.0.0.5",)


@pytest.mark.parametrize(("cap", "expected"), [(256, 256), (5, 5)])
def test_huge_answers_are_capped(server: tuple[int, ZoneResolver], cap: int, expected: int) -> None:
    answer = lookup_for(server[0], dns_max_records=cap).lookup("big.example.com", "TXT", POLICY)
    assert len(answer.records) == expected
    assert answer.truncated is True
    assert answer.ttl == 60


def test_a_server_that_never_answers_times_out() -> None:
    with mute_dns_server() as port:
        lookup = dns_lookup(make_settings(dns_resolvers=f"127.0.0.1:{port}", dns_timeout=0.3))
        with pytest.raises(ToolTimeoutError):
            lookup.lookup("example.com", "A", POLICY)


def test_timeout_is_shorter_than_the_tool_timeout() -> None:
    assert dns_lookup(make_settings(dns_timeout=30, tool_timeout=10)).timeout == pytest.approx(8.0)


def test_named_resolvers_serve_the_header_tool_too(server: tuple[int, ZoneResolver]) -> None:
    resolver = name_resolver(make_settings(dns_resolvers=f"127.0.0.1:{server[0]}"))
    assert isinstance(resolver, DnspythonResolver)
    assert [str(a) for a in resolver.resolve("www.example.com", 2.0)] == [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
    ]
    with pytest.raises(ResolveError) as caught:
        resolver.resolve("missing.example.com", 2.0)
    assert caught.value.missing is True


def test_named_resolver_deadline() -> None:
    with mute_dns_server() as port:
        resolver = name_resolver(make_settings(dns_resolvers=f"127.0.0.1:{port}"))
        with pytest.raises(ResolveTimeout):
            resolver.resolve("example.com", 0.3)


def test_system_resolver_reads_the_hosts_file() -> None:
    """getaddrinfo answers localhost from /etc/hosts, so no packet leaves the machine."""
    resolver = name_resolver(make_settings())
    assert isinstance(resolver, SystemResolver)
    assert ip_address("127.0.0.1") in resolver.resolve("localhost", 2.0)
