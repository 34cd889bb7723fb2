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
