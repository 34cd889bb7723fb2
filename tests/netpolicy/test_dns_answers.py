"""Names in DNS answers follow the network policy: CNAME/MX/NS/SRV/PTR/SOA targets and CNAME
chains into internal zones are refused, without further lookups; DNS_ALLOWED_ZONES lifts it.
Against a real dnslib server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from devutils.errors import SSRFBlockedError
from devutils.http.app import Application
from devutils.netpolicy.dnsquery import DnsLookup, dns_lookup
from devutils.netpolicy.policy import NetworkPolicy
from devutils.settings import SettingsError
from tests.conftest import make_settings
from tests.netpolicy.loopback import ZoneResolver, dns_server

ZONE = """
example.com. 300 IN A 93.184.216.34
mx-internal.example.com. 300 IN MX 10 mail.corp.internal.
mx-single-label.example.com. 300 IN MX 10 mailhost.
mx-public.example.com. 300 IN MX 10 mail.example.com.
mx-null.example.com. 300 IN MX 0 .
ns-internal.example.com. 300 IN NS ns1.kube-system.svc.cluster.local.
_sip._tcp.example.com. 300 IN SRV 10 60 5060 sip.default.svc.
_ldap._tcp.example.com. 300 IN SRV 10 60 389 dc1.ad.example.net.
cname-internal.example.com. 300 IN CNAME db.internal.
cname-local.example.com. 300 IN CNAME printer.local.
txt-via-cname.example.com. 300 IN CNAME secrets.internal.
secrets.internal. 300 IN TXT "db-password=hunter2"
soa-internal.example.com. 300 IN SOA ns.corp.internal. admin.example.com. 1 7200 3600 1209600 300
35.216.184.93.in-addr.arpa. 300 IN PTR host.corp.internal.
36.216.184.93.in-addr.arpa. 300 IN PTR www.example.com.
mx-private-zone.example.com. 300 IN MX 10 mx1.corp.example.net.
in.corp.example.net. 300 IN TXT "private zone"
7.7.7.7.in-addr.arpa. 300 IN CNAME 7.0/25.7.7.7.in-addr.arpa.
7.0/25.7.7.7.in-addr.arpa. 300 IN PTR host.example.com.
8.7.7.7.in-addr.arpa. 300 IN CNAME 8.0-25.7.7.7.in-addr.arpa.
8.0-25.7.7.7.in-addr.arpa. 300 IN PTR host2.example.com.
7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.4.6.0.6.2.ip6.arpa. 300 IN CNAME 7.sub64.0.0.0.0.0.0.0.0.7.4.6.0.6.2.ip6.arpa.
7.sub64.0.0.0.0.0.0.0.0.7.4.6.0.6.2.ip6.arpa. 300 IN PTR host6.example.com.
9.7.7.7.in-addr.arpa. 300 IN CNAME 5.0.0.10.in-addr.arpa.
10.7.7.7.in-addr.arpa. 300 IN CNAME 10.0/25.8.8.8.in-addr.arpa.
11.7.7.7.in-addr.arpa. 300 IN CNAME 11.0/25.10.in-addr.arpa.
12.7.7.7.in-addr.arpa. 300 IN CNAME 12.7.7.7.7.in-addr.arpa.
13.7.7.7.in-addr.arpa. 300 IN CNAME 13.0/25.7.7.7.ip6.arpa.
14.7.7.7.in-addr.arpa. 300 IN CNAME 7.7.7.in-addr.arpa.
15.7.7.7.in-addr.arpa. 300 IN CNAME 15.0/25.7.7.7.home.arpa.
5.0.0.10.in-addr.arpa. 300 IN PTR db.corp.internal.
10.0/25.8.8.8.in-addr.arpa. 300 IN PTR db.corp.internal.
11.0/25.10.in-addr.arpa. 300 IN PTR db.corp.internal.
12.7.7.7.7.in-addr.arpa. 300 IN PTR db.corp.internal.
13.0/25.7.7.7.ip6.arpa. 300 IN PTR db.corp.internal.
7.7.7.in-addr.arpa. 300 IN PTR db.corp.internal.
15.0/25.7.7.7.home.arpa. 300 IN PTR db.corp.internal.
6.0.0.10.in-addr.arpa. 300 IN PTR db.corp.internal.
1.1.168.192.in-addr.arpa. 300 IN PTR db.corp.internal.
"""

POLICY = NetworkPolicy()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, ZoneResolver]]:
    with dns_server(ZONE) as running:
        yield running


def lookup_for(port: int, **settings: Any) -> DnsLookup:
    return dns_lookup(make_settings(dns_resolvers=f"127.0.0.1:{port}", dns_timeout=2, **settings))


REFUSED = [
    ("mx-internal.example.com", "MX"),
    ("mx-single-label.example.com", "MX"),
    ("ns-internal.example.com", "NS"),
    ("_sip._tcp.example.com", "SRV"),
    ("cname-internal.example.com", "CNAME"),
    ("cname-local.example.com", "CNAME"),
    ("txt-via-cname.example.com", "TXT"),  # the TXT of an internal name, through a CNAME
    ("soa-internal.example.com", "SOA"),
    ("93.184.216.35", "PTR"),  # a public address whose name is internal
    # A PTR CNAME chain ending under .arpa outside the queried address's own classless zone:
    ("7.7.7.9", "PTR"),  # an internal address's reverse name
    ("7.7.7.10", "PTR"),  # another public block's classless zone
    ("7.7.7.11", "PTR"),  # a block (10/8) that does not hold the address
    ("7.7.7.12", "PTR"),  # no classless label
    ("7.7.7.13", "PTR"),  # the other family's tree
    ("7.7.7.14", "PTR"),  # the /24's own reverse name: no classless label
    ("7.7.7.15", "PTR"),  # not a reverse tree at all
]


@pytest.mark.parametrize(("domain", "rdtype"), REFUSED, ids=[f"{r[1]}-{r[0]}" for r in REFUSED])
def test_answers_naming_internal_hosts_are_refused(
    server: tuple[int, ZoneResolver], domain: str, rdtype: str
) -> None:
    port, resolver = server
    before = len(resolver.queries)
    with pytest.raises(SSRFBlockedError) as refused:
        lookup_for(port).lookup(domain, rdtype, POLICY)
    assert refused.value.details == "internal host names are not allowed"
    envelope = str(refused.value.envelope())
    assert domain not in envelope  # neither the query
    assert "corp" not in envelope  # nor the names of the answer are echoed
    # One query, no lookups of the names the answer pointed at.
    assert len(resolver.queries) == before + 1


ALLOWED = [
    ("mx-public.example.com", "MX", ("10 mail.example.com.",)),
    ("mx-null.example.com", "MX", ("0 .",)),
    ("_ldap._tcp.example.com", "SRV", ("10 60 389 dc1.ad.example.net.",)),
    ("93.184.216.36", "PTR", ("www.example.com.",)),
    # RFC 2317 classless reverse delegation into the queried address's own block.
    ("7.7.7.7", "PTR", ("host.example.com.",)),
    ("7.7.7.8", "PTR", ("host2.example.com.",)),  # the dash form of the classless label
    ("2606:4700::7", "PTR", ("host6.example.com.",)),  # in the /48's reverse zone
]


@pytest.mark.parametrize(
    ("domain", "rdtype", "records"), ALLOWED, ids=[f"{r[1]}-{r[0]}" for r in ALLOWED]
)
def test_public_targets_pass(
    server: tuple[int, ZoneResolver], domain: str, rdtype: str, records: tuple[str, ...]
) -> None:
    assert lookup_for(server[0]).lookup(domain, rdtype, POLICY).records == records


def test_private_zones_are_internal(server: tuple[int, ZoneResolver]) -> None:
    lookup = lookup_for(server[0], dns_private_zones="corp.example.net")
    with pytest.raises(SSRFBlockedError):
        lookup.lookup("mx-private-zone.example.com", "MX", POLICY)
    before = len(server[1].queries)
    with pytest.raises(SSRFBlockedError):
        lookup.lookup("in.corp.example.net", "TXT", POLICY)  # the query name itself: no query
    assert len(server[1].queries) == before
    # Without the setting the zone is public.
    answer = lookup_for(server[0]).lookup("in.corp.example.net", "TXT", POLICY)
    assert answer.records == ("private zone",)


def test_allowed_zones_lift_the_refusal(server: tuple[int, ZoneResolver]) -> None:
    lookup = lookup_for(server[0], dns_allowed_zones="corp.internal, .internal")
    assert lookup.lookup("mx-internal.example.com", "MX", POLICY).records == (
        "10 mail.corp.internal.",
    )
    assert lookup.lookup("txt-via-cname.example.com", "TXT", POLICY).records == (
        "db-password=hunter2",
    )
    assert lookup.lookup("secrets.internal", "TXT", POLICY).records == ("db-password=hunter2",)
    # Only the listed zones: a .local target is still refused.
    with pytest.raises(SSRFBlockedError):
        lookup.lookup("cname-local.example.com", "CNAME", POLICY)


@pytest.mark.parametrize("domain", ["5.0.0.10.in-addr.arpa", "10.0.0.5", "5.0.0.10.IN-ADDR.ARPA."])
def test_allowed_zones_lift_the_refusal_of_reverse_names(
    server: tuple[int, ZoneResolver], domain: str
) -> None:
    """A reverse zone in DNS_ALLOWED_ZONES covers the PTR names under it, whether the query is the
    address or its reverse name; like a forward name there, the answer is returned unchecked."""
    lookup = lookup_for(server[0], dns_allowed_zones="10.in-addr.arpa")
    assert lookup.lookup(domain, "PTR", POLICY).records == ("db.corp.internal.",)


@pytest.mark.parametrize(
    ("zones", "domain"),
    [
        ("10.in-addr.arpa", "192.168.1.1"),  # another private block
        ("5.0.0.10.in-addr.arpa", "10.0.0.6"),  # a sibling of the one allowed name
        ("", "10.0.0.5"),
    ],
)
def test_reverse_names_outside_the_allowed_zones_stay_refused(
    server: tuple[int, ZoneResolver], zones: str, domain: str
) -> None:
    port, resolver = server
    before = len(resolver.queries)
    with pytest.raises(SSRFBlockedError) as refused:
        lookup_for(port, dns_allowed_zones=zones).lookup(domain, "PTR", POLICY)
    assert refused.value.details == "destination address is not allowed"
    assert len(resolver.queries) == before


@pytest.mark.parametrize("value", ["bad zone", "a..b", "-", "x,*"])
def test_bad_zones_stop_start_up(value: str) -> None:
    with pytest.raises(SettingsError, match="DNS_ALLOWED_ZONES"):
        make_settings(dns_allowed_zones=value)


async def test_refusal_through_rest(
    make_app: Callable[..., Application], server: tuple[int, ZoneResolver]
) -> None:
    app = make_app(dns_resolvers=f"127.0.0.1:{server[0]}", dns_timeout=2)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.40", 40000))
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as http,
    ):
        refused = await http.post(
            "/api/v1/network/dns", json={"domain": "txt-via-cname.example.com", "recordType": "TXT"}
        )
        allowed = await http.post(
            "/api/v1/network/dns", json={"domain": "mx-public.example.com", "recordType": "MX"}
        )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "SSRF_BLOCKED"
    assert "hunter2" not in refused.text
    assert allowed.status_code == 200
    assert allowed.json()["data"]["records"] == ["10 mail.example.com."]
