"""Name → addresses, once, with a deadline; and the DNS servers the service is configured to ask.

:class:`Resolver` is the seam tests use (a fixed map, a rebinding fake).  The system resolver
(``getaddrinfo``, so ``/etc/hosts`` and nsswitch apply, as in the reference) has no timeout of its
own, so it runs in a daemon thread that the caller stops waiting for at the deadline.  When
``DNS_RESOLVERS`` is set, names are resolved with dnspython against those servers instead, so the
header tool and the DNS tool see the same answers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Protocol

import dns.exception
import dns.nameserver
import dns.resolver

from devutils.netpolicy.denytable import IPAddress

# parse_nameserver is defined with the settings, which check DNS_RESOLVERS with it at start-up.
from devutils.settings import Settings, parse_nameserver


class ResolveError(Exception):
    """The name has no addresses (``missing``) or the lookup failed; never carries server detail."""

    def __init__(self, missing: bool) -> None:
        super().__init__("name does not resolve" if missing else "name resolution failed")
        self.missing = missing


class ResolveTimeout(Exception):
    """The lookup did not finish before the deadline."""


class Resolver(Protocol):
    def resolve(self, name: str, timeout: float) -> Sequence[IPAddress]:
        """Every address of ``name`` (A and AAAA), or raise ResolveError / ResolveTimeout."""
        ...


class SystemResolver:
    """``getaddrinfo`` with a deadline."""

    def resolve(self, name: str, timeout: float) -> Sequence[IPAddress]:
        outcome: list[Sequence[IPAddress] | BaseException] = []

        def work() -> None:
            try:
                infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
                addresses: list[IPAddress] = []
                for _family, _type, _proto, _canon, sockaddr in infos:
                    address = ip_address(str(sockaddr[0]).split("%", 1)[0])
                    if address not in addresses:
                        addresses.append(address)
                outcome.append(addresses)
            except BaseException as exc:  # handed to the waiting thread
                outcome.append(exc)

        thread = threading.Thread(target=work, name="devutils-resolve", daemon=True)
        thread.start()
        thread.join(timeout)
        if not outcome:
            raise ResolveTimeout
        result = outcome[0]
        if isinstance(result, socket.gaierror):
            missing = result.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5))
            raise ResolveError(missing) from None
        if isinstance(result, BaseException):
            raise ResolveError(False) from None
        if not result:
            raise ResolveError(True)
        return result


def dns_resolver(settings: Settings) -> dns.resolver.Resolver:
    """A dnspython resolver for DNS_RESOLVERS (or /etc/resolv.conf when empty)."""
    if settings.dns_resolvers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_nameserver(item))
            for item in settings.dns_resolvers
        ]
    else:
        try:
            resolver = dns.resolver.Resolver(configure=True)
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
    # Per-server wait (dnspython's default 2 s), so a dead first server leaves time for the next.
    resolver.timeout = min(2.0, settings.dns_timeout)
    resolver.lifetime = settings.dns_timeout
    resolver.cache = None
    return resolver


# How long AAAA may take once A has produced addresses (RFC 8305's "resolution delay" idea).
# RFC 8305 section 3 waits 50 ms, but for an AAAA answer already in flight next to A; here AAAA
# is only asked once A is back, so the grace must hold a whole AAAA round trip: to the configured
# server and, for an uncached AAAA, on to the name's authoritative servers (whose delegation the A
# lookup has just cached), a few hundred ms even between continents.  Missing it costs little:
# the A addresses are checked and dialled first anyway, AAAA only adds fallbacks.  Waiting longer
# would cost the caller's own budget (the header fetch shares one deadline with resolution).
AAAA_GRACE = 0.5


class DnspythonResolver:
    """A and AAAA through dnspython, for when the operator names the DNS servers.

    Like ``getaddrinfo`` (and Go's resolver), the addresses of a family that answered are
    returned when the other family fails (some authoritative servers mishandle AAAA): only
    checked addresses are ever dialled, so no check needs the failed family.  A is asked first,
    then AAAA: once A has given an address, AAAA gets at most :data:`AAAA_GRACE` seconds (a
    server that drops AAAA must not spend the caller's budget); otherwise it gets what is left of
    the deadline.  With no address at all, the first failure decides: timeout or failure; with
    none, the name is missing (NXDOMAIN or no data).  A silent A server still uses the whole
    deadline.
    """

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self._resolver = resolver

    def resolve(self, name: str, timeout: float) -> Sequence[IPAddress]:
        deadline = time.monotonic() + timeout
        addresses: list[IPAddress] = []
        failure: ResolveError | ResolveTimeout | None = None
        for rdtype in ("A", "AAAA"):
            # Only AAAA can follow addresses (A goes first); then it may add fallbacks, not stall.
            until = min(deadline, time.monotonic() + AAAA_GRACE) if addresses else deadline
            try:
                addresses += self._family(name, rdtype, until)  # A and AAAA never share one
            except (ResolveError, ResolveTimeout) as exc:
                failure = failure or exc
        if addresses:
            return addresses
        if failure is not None:
            raise failure
        raise ResolveError(missing=True)

    def _family(self, name: str, rdtype: str, deadline: float) -> list[IPAddress]:
        """The addresses of one record type; [] when the name or the type has none."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ResolveTimeout
        try:
            answer = self._resolver.resolve(
                name, rdtype, search=False, raise_on_no_answer=False, lifetime=remaining
            )
        except dns.resolver.NXDOMAIN:
            return []
        except dns.exception.Timeout:
            raise ResolveTimeout from None
        except dns.exception.DNSException:
            raise ResolveError(False) from None
        found: list[IPAddress] = []
        for rdata in answer.rrset or ():
            parsed = ip_address(rdata.address)
            if isinstance(parsed, IPv4Address | IPv6Address) and parsed not in found:
                found.append(parsed)
        return found


def name_resolver(settings: Settings) -> Resolver:
    """The service factory tools use: ``ctx.service(name_resolver)``."""
    if settings.dns_resolvers:
        return DnspythonResolver(dns_resolver(settings))
    return SystemResolver()
