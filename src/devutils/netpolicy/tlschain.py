"""The certificate chain a TLS server presents, fetched through the network policy.

The destination is checked exactly as for network/headers (host rules, allowed ports, one
resolution, every address against the deny table) and only the checked addresses are dialled,
through the same injectable connector.  The handshake runs over memory BIOs: every byte the server
sends passes through :meth:`ChainFetcher._exchange`, so the byte cap and the one monotonic
deadline hold by construction, whatever the server does.  No application data is ever sent.

Why pyOpenSSL: Python 3.11's ``ssl`` exposes only the leaf (``getpeercert(binary_form=True)``);
``get_unverified_chain`` is public only from 3.13.  pyOpenSSL (PyCA, over the ``cryptography``
we already use) returns the whole presented chain through a public API.

Verification is off for the handshake, so a broken chain can still be inspected; whether the
chain verifies (to the Mozilla roots of certifi, as network/headers trusts, and for the host name)
is reported as data, using ``cryptography.x509.verification``.

No client certificate is ever sent.  A TLS 1.2 server that requires one sends its chain, then a
CertificateRequest, and aborts with an alert after our (empty) reply; the chain it presented is
still what the caller asked for, so it is returned with a warning instead of a 502.  In TLS 1.3
the client's side finishes before the server judges the (empty) certificate, so the handshake
completes here and the request is only reported.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
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
HANDSHAKE_FAILED: Final = "TLS handshake failed"
CLIENT_CERTIFICATE_REQUIRED: Final = (
    "the server requires a client certificate and ended the handshake (TLS alert {alert}) "
    "because none was sent: the chain is the one it presented before that"
)
CLIENT_CERTIFICATE_REQUESTED: Final = (
    "the server requested a client certificate and completed the handshake without one"
)
CLIENT_CERTIFICATE_REQUESTED_TLS13: Final = (
    "the server requested a client certificate; none was sent, and a TLS 1.3 server decides "
    "only after presenting its chain, so it may require one"
)
# OpenSSL's SSL_state_string_long once the client has read a CertificateRequest (TLS 1.2 and 1.3).
_READ_CERTIFICATE_REQUEST = b"SSLv3/TLS read server certificate request"
_FATAL = 2  # alert level, the high byte of the info callback's ``ret`` for an alert
# What servers send when a required client certificate is missing: OpenSSL in TLS 1.2
# (handshake_failure), Go and others in TLS 1.2 (bad_certificate), anyone in TLS 1.3 (RFC 8446).
_NO_CLIENT_CERTIFICATE_ALERTS: Final = {
    40: "handshake_failure",
    42: "bad_certificate",
    116: "certificate_required",
}


@dataclass(frozen=True)
class PresentedChain:
    certificates: tuple[x509.Certificate, ...]  # as sent, leaf first, at most MAX_CERTIFICATES
    truncated: bool  # the server sent more than MAX_CERTIFICATES
    protocol: str
    cipher: str
    warnings: tuple[str, ...] = ()  # e.g. a client certificate was requested and not sent


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


@dataclass
class _HandshakeWatch:
    """The info callback: OpenSSL reports a CertificateRequest and received alerts only here."""

    certificate_requested: bool = False
    fatal_alerts: list[int] = field(default_factory=list)  # descriptions, as the server sent them

    def __call__(self, conn: SSL.Connection, where: int, ret: int) -> None:
        if where & SSL.SSL_CB_READ_ALERT == SSL.SSL_CB_READ_ALERT:
            if ret >> 8 == _FATAL:
                self.fatal_alerts.append(ret & 0xFF)
        elif where & SSL.SSL_CB_LOOP and conn.get_state_string() == _READ_CERTIFICATE_REQUEST:
            self.certificate_requested = True

    def refusal(self) -> str | None:
        """The alert's name if the server aborted because no client certificate was sent."""
        if not self.certificate_requested or not self.fatal_alerts:
            return None
        return _NO_CLIENT_CERTIFICATE_ALERTS.get(self.fatal_alerts[0])


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
        watch = _HandshakeWatch()
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_verify(SSL.VERIFY_NONE)  # inspected, not trusted: see verify_chain
        context.set_info_callback(watch)
        conn = SSL.Connection(context, None)  # memory BIOs: every byte passes through here
        name = destination.url.host.name
        if name is not None:  # SNI carries names only, never addresses (RFC 6066)
            conn.set_tlsext_host_name(name.encode("ascii"))
        conn.set_connect_state()
        refusal: str | None = None
        try:
            self._exchange(conn, sock, deadline)
        except TimeoutError:
            raise deadline.expired() from None
        except SSL.Error:
            refusal = watch.refusal()
            if refusal is None:
                raise UpstreamError(details=HANDSHAKE_FAILED) from None
        except OSError:
            raise UpstreamError(details="the connection failed") from None
        try:
            chain = conn.get_peer_cert_chain(as_cryptography=True) or []
        except (ValueError, x509.InvalidVersion):  # DER OpenSSL took but cryptography refuses
            raise UpstreamError(details=UNPARSABLE_CERTIFICATE) from None
        if refusal is not None and not chain:  # aborted before any certificate: nothing to show
            raise UpstreamError(details=HANDSHAKE_FAILED)
        protocol = conn.get_protocol_version_name()
        return PresentedChain(
            certificates=tuple(chain[:MAX_CERTIFICATES]),
            truncated=len(chain) > MAX_CERTIFICATES,
            protocol=protocol,
            cipher=conn.get_cipher_name() or "",
            warnings=_client_certificate_warnings(watch, refusal, protocol),
        )

    def _exchange(self, conn: SSL.Connection, sock: socket.socket, deadline: Deadline) -> None:
        """Drive the handshake to its end, within the byte cap and the deadline."""
        received = 0
        while True:
            try:
                conn.do_handshake()
                return
            except SSL.WantReadError:
                pass
            self._flush(conn, sock, deadline)
            sock.settimeout(deadline.remaining())
            data = sock.recv(_RECV_BYTES)
            if not data:
                raise UpstreamError(details="the host closed the connection during the handshake")
            received += len(data)
            if received > self.max_bytes:
                raise UpstreamError(details=f"the TLS handshake exceeds {self.max_bytes} bytes")
            conn.bio_write(data)

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


def _client_certificate_warnings(
    watch: _HandshakeWatch, refusal: str | None, protocol: str
) -> tuple[str, ...]:
    if refusal is not None:
        return (CLIENT_CERTIFICATE_REQUIRED.format(alert=refusal),)
    if not watch.certificate_requested:
        return ()
    if protocol == "TLSv1.3":
        return (CLIENT_CERTIFICATE_REQUESTED_TLS13,)
    return (CLIENT_CERTIFICATE_REQUESTED,)
