"""The certificate chain a TLS server presents, fetched through the network policy.

The destination is checked exactly as for network/headers (host rules, allowed ports, one
resolution, every address against the deny table) and only the checked addresses are dialled,
through the same injectable connector.  The handshake runs over memory BIOs: every byte the server
sends passes through :meth:`ChainFetcher._handshake`, so the byte cap and the one monotonic
deadline hold by construction, whatever the server does.  No application data is ever sent.

Why pyOpenSSL: Python 3.11's ``ssl`` exposes only the leaf (``getpeercert(binary_form=True)``);
``get_unverified_chain`` is public only from 3.13.  pyOpenSSL (PyCA, over the ``cryptography``
we already use) returns the whole presented chain through a public API.

Verification is off for the handshake, so a broken chain can still be inspected; whether the
chain verifies (to the Mozilla roots of certifi, as network/headers trusts, and for the host name)
is reported as data, using ``cryptography.x509.verification``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Final

import certifi
from cryptography import x509
from cryptography.x509 import verification
from OpenSSL import SSL

from devutils.errors import UpstreamError
from devutils.netpolicy.fetch import Connector, Deadline, connect_first
from devutils.netpolicy.policy import Destination, NetworkPolicy
from devutils.netpolicy.resolve import Resolver
from devutils.settings import Settings

# A real chain is 3-10 KiB; OpenSSL's own default limit on the certificate list is 100 KiB.
MAX_HANDSHAKE_BYTES: Final = 256 * 1024
MAX_CERTIFICATES: Final = 32
_RECV_BYTES = 16 * 1024
_MAX_ERROR_CHARS = 200
UNPARSABLE_CERTIFICATE: Final = "the host sent a certificate that cannot be parsed"


@dataclass(frozen=True)
class PresentedChain:
    certificates: tuple[x509.Certificate, ...]  # as sent, leaf first, at most MAX_CERTIFICATES
    truncated: bool  # the server sent more than MAX_CERTIFICATES
    protocol: str
    cipher: str


def trust_store(settings: Settings) -> verification.Store:
    """The service factory for the roots a chain is verified against (tests swap in their own)."""
    with open(certifi.where(), "rb") as roots:
        return verification.Store(x509.load_pem_x509_certificates(roots.read()))


@dataclass(frozen=True)
class Verdict:
    trusted: bool
    error: str | None


def verify_chain(
    chain: tuple[x509.Certificate, ...],
    destination: Destination,
    store: verification.Store,
    now: datetime,
) -> Verdict:
    """Whether ``chain`` (leaf first) builds to a root in ``store`` and names the host."""
    if not chain:
        return Verdict(False, "the server sent no certificate")
    host = destination.url.host
    subject: verification.Subject
    if isinstance(host.address, IPv4Address | IPv6Address):
        subject = x509.IPAddress(host.address)
    else:
        try:
            subject = x509.DNSName(host.text)
        except ValueError:
            return Verdict(False, "the host name cannot be matched against certificates")
    try:
        policy = verification.PolicyBuilder().store(store).time(now)
        policy.build_server_verifier(subject).verify(chain[0], list(chain[1:]))
    except (verification.VerificationError, ValueError) as exc:
        return Verdict(False, str(exc)[:_MAX_ERROR_CHARS])
    return Verdict(True, None)


class ChainFetcher:
    def __init__(
        self,
        policy: NetworkPolicy,
        resolver: Resolver,
        connector: Connector,
        max_bytes: int = MAX_HANDSHAKE_BYTES,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.connector = connector
        self.max_bytes = max_bytes

    def fetch(self, host: str, port: int) -> tuple[Destination, PresentedChain]:
        deadline = Deadline(self.policy.timeout)
        destination = self.policy.endpoint(host, port, self.resolver, deadline.remaining())
        sock = connect_first(self.connector, destination.addresses, port, deadline)
        try:
            return destination, self._handshake(sock, destination, deadline)
        finally:
            sock.close()

    def _handshake(
        self, sock: socket.socket, destination: Destination, deadline: Deadline
    ) -> PresentedChain:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_verify(SSL.VERIFY_NONE)  # inspected, not trusted: see verify_chain
        conn = SSL.Connection(context, None)  # memory BIOs: every byte passes through here
        name = destination.url.host.name
        if name is not None:  # SNI carries names only, never addresses (RFC 6066)
            conn.set_tlsext_host_name(name.encode("ascii"))
        conn.set_connect_state()
        received = 0
        try:
            while True:
                try:
                    conn.do_handshake()
                    break
                except SSL.WantReadError:
                    pass
                self._flush(conn, sock, deadline)
                sock.settimeout(deadline.remaining())
                data = sock.recv(_RECV_BYTES)
                if not data:
                    raise UpstreamError(
                        details="the host closed the connection during the handshake"
                    )
                received += len(data)
                if received > self.max_bytes:
                    raise UpstreamError(details=f"the TLS handshake exceeds {self.max_bytes} bytes")
                conn.bio_write(data)
        except TimeoutError:
            raise deadline.expired() from None
        except SSL.Error:
            raise UpstreamError(details="TLS handshake failed") from None
        except OSError:
            raise UpstreamError(details="the connection failed") from None
        try:
            chain = conn.get_peer_cert_chain(as_cryptography=True) or []
        except (ValueError, x509.InvalidVersion):  # DER OpenSSL took but cryptography refuses
            raise UpstreamError(details=UNPARSABLE_CERTIFICATE) from None
        return PresentedChain(
            certificates=tuple(chain[:MAX_CERTIFICATES]),
            truncated=len(chain) > MAX_CERTIFICATES,
            protocol=conn.get_protocol_version_name(),
            cipher=conn.get_cipher_name() or "",
        )

    @staticmethod
    def _flush(conn: SSL.Connection, sock: socket.socket, deadline: Deadline) -> None:
        """Send whatever the TLS engine has queued (ClientHello, key shares, alerts)."""
        while True:
            try:
                outgoing = conn.bio_read(_RECV_BYTES)
            except SSL.WantReadError:
                return
            sock.settimeout(deadline.remaining())
            sock.sendall(outgoing)
