"""DNS_RESOLVERS name resolution when one address family fails and the other answers.

As ``getaddrinfo`` does, the addresses found are returned; only when neither family gives an
address is it an error (NXDOMAIN, failure and timeout kept apart).  Against a real dnslib server on
127.0.0.1 whose answers are scripted per name and record type; the header fetch dials through the
recording connector, which refuses anything that is not loopback.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import dnslib
import dnslib.server
import pytest

from devutils.netpolicy.fetch import HeaderFetcher, tls_context
from devutils.netpolicy.policy import NetworkPolicy
from devutils.netpolicy.resolve import (
    DnspythonResolver,
    ResolveError,
    ResolveTimeout,
    name_resolver,
)
from tests.conftest import make_settings
from tests.netpolicy.loopback import OK_HEAD, RecordingConnector, respond, serving

V4 = "127.0.0.2"
V6 = "2001:db8::7"
# name -> (A behaviour, AAAA behaviour): ok, nodata, servfail, refused or mute (never answers).
SCRIPT = {
    "aaaa-servfail.example.com.": ("ok", "servfail"),
    "aaaa-refused.example.com.": ("ok", "refused"),
    "aaaa-mute.example.com.": ("ok", "mute"),
    "a-servfail.example.com.": ("servfail", "ok"),
    "a-mute.example.com.": ("mute", "ok"),
    "both-fail.example.com.": ("servfail", "refused"),
    "fail-then-mute.example.com.": ("servfail", "mute"),
    "both-mute.example.com.": ("mute", "mute"),
    "fail-nodata.example.com.": ("servfail", "nodata"),
    "no-data.example.com.": ("nodata", "nodata"),
}
_RCODES = {"servfail": dnslib.RCODE.SERVFAIL, "refused": dnslib.RCODE.REFUSED}


class ScriptedResolver(dnslib.server.BaseResolver):  # type: ignore[misc]
    """Answers each name and type as ``script`` says: ok, nodata, servfail, refused, mute (no
    answer at all) or slow (ok after ``slow`` seconds)."""

    def __init__(self, script: dict[str, tuple[str, str]] | None = None, slow: float = 0.0) -> None:
        self.script = SCRIPT if script is None else script
        self.slow = slow
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request: Any, handler: Any) -> Any:
        qname, qtype = str(request.q.qname), dnslib.QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        reply = request.reply()
        if qname not in self.script:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
            return reply
        behaviour = self.script[qname][0 if qtype == "A" else 1]
        if behaviour == "mute":
            raise dnslib.DNSError("scripted silence")  # the server logs it and sends nothing
        if behaviour == "slow":
            time.sleep(self.slow)  # each query has its own server thread
        if behaviour in _RCODES:
            reply.header.rcode = _RCODES[behaviour]
        elif behaviour in ("ok", "slow") and qtype in ("A", "AAAA"):
            data = dnslib.A(V4) if qtype == "A" else dnslib.AAAA(V6)
            reply.add_answer(dnslib.RR(qname, request.q.qtype, rdata=data, ttl=60))
        return reply


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    quiet = dnslib.server.DNSLogger(log="-request,-reply,-truncated,-error", prefix=False)
    server = dnslib.server.DNSServer(
        ScriptedResolver(), address="127.0.0.1", port=free, logger=quiet
    )
    server.start_thread()
    try:
        yield free
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            server.server.server_close()


def resolver_for(port: int) -> DnspythonResolver:
    resolver = name_resolver(make_settings(dns_resolvers=f"127.0.0.1:{port}", dns_timeout=2))
    assert isinstance(resolver, DnspythonResolver)
    return resolver


FOUND = [
    ("aaaa-servfail.example.com", [V4]),
    ("aaaa-refused.example.com", [V4]),
    ("aaaa-mute.example.com", [V4]),
    ("a-servfail.example.com", [V6]),
]


@pytest.mark.parametrize(("name", "addresses"), FOUND, ids=[name for name, _ in FOUND])
def test_the_family_that_answered_is_used(port: int, name: str, addresses: list[str]) -> None:
    # A short deadline: a mute AAAA takes the rest of it, the A answer still counts.
    found = resolver_for(port).resolve(name, 0.6)
    assert [str(address) for address in found] == addresses


FAILED = [
    ("both-fail.example.com", ResolveError, False),
    ("fail-then-mute.example.com", ResolveError, False),  # the first failure decides
    ("fail-nodata.example.com", ResolveError, False),
    ("both-mute.example.com", ResolveTimeout, None),
    ("a-mute.example.com", ResolveTimeout, None),  # A is asked first and uses the deadline
    ("no-data.example.com", ResolveError, True),
    ("missing.example.com", ResolveError, True),  # NXDOMAIN
]


@pytest.mark.parametrize(("name", "error", "missing"), FAILED, ids=[row[0] for row in FAILED])
def test_without_any_address_the_failure_is_kept(
    port: int, name: str, error: type[Exception], missing: bool | None
) -> None:
    with pytest.raises(error) as caught:
        resolver_for(port).resolve(name, 0.6)
    assert getattr(caught.value, "missing", None) is missing


def test_headers_fetch_uses_the_ipv4_answer_when_aaaa_fails(port: int) -> None:
    settings = make_settings(
        dns_resolvers=f"127.0.0.1:{port}",
        dns_timeout=2,
        ssrf_allow_cidrs=f"{V4}/32",
        ssrf_allow_ports="1-65535",
    )
    connector = RecordingConnector()
    fetcher = HeaderFetcher(
        NetworkPolicy.from_settings(settings),
        name_resolver(settings),
        connector,
        tls_context(settings),
    )
    with serving(V4, respond(OK_HEAD)) as server:
        head = fetcher.fetch(f"http://aaaa-servfail.example.com:{server.port}/")
    assert head.status_code == 200
    assert connector.dials == [(V4, server.port)]
