"""GET a URL's response head through the network policy, dialling only the checked addresses.

Why a small HTTP/1.1 client on h11 over a socket we connect ourselves, rather than httpx with a
custom httpcore backend: every property the guard needs is then true by construction instead of
by configuration.  There is no second resolution (we call ``connect`` with the checked IP), no
proxy code path (environment variables are never read), no redirect or decompression code path,
and the body is never read because we stop at the response head.  One monotonic deadline is
applied to every socket operation (connect, TLS handshake, each send and receive), so a server
that dribbles header bytes cannot stretch the call, which per-operation timeouts cannot promise.
h11 does the parsing; its incomplete-event limit and a count of the bytes it parsed cap the
header block.  TLS uses the host name for SNI and certificate verification, and the IP address
only for the connection.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

import certifi
import h11

from devutils import __version__
from devutils.errors import ToolTimeoutError, UpstreamError
from devutils.netpolicy.denytable import IPAddress
from devutils.netpolicy.policy import Destination, NetworkPolicy
from devutils.netpolicy.resolve import Resolver
from devutils.settings import Settings

USER_AGENT = f"MCP-Network-Utility/1.1 (dev-utilities {__version__})"
_RECV_BYTES = 16 * 1024
_CLOSED = "the host closed the connection without a response"

Connector = Callable[[IPAddress, int, float], socket.socket]


def direct_connect(address: IPAddress, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection to exactly this address (no name lookup of any kind)."""
    family = socket.AF_INET if isinstance(address, IPv4Address) else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((str(address), port))
    except BaseException:
        sock.close()
        raise
    return sock


def socket_connector(settings: Settings) -> Connector:
    """The service factory for the connector (tests swap in a recording one)."""
    return direct_connect


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificate verification against the Mozilla roots, as httpx does."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.set_alpn_protocols(["http/1.1"])
    return context


@dataclass(frozen=True)
class ResponseHead:
    status_code: int
    headers: tuple[tuple[str, str], ...]  # (lower-case name, value) in wire order


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise self.expired()
        return left

    def expired(self) -> ToolTimeoutError:
        return ToolTimeoutError(details=f"the host did not answer within {self.seconds:g} s")


def connect_first(
    connector: Connector, addresses: Sequence[IPAddress], port: int, deadline: Deadline
) -> socket.socket:
    """A connection to the first checked address that accepts one, within the deadline."""
    for address in addresses:
        try:
            return connector(address, port, deadline.remaining())
        except TimeoutError:
            raise deadline.expired() from None
        except OSError:
            continue
    raise UpstreamError(details="could not connect to the host")


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class HeaderFetcher:
    def __init__(
        self,
        policy: NetworkPolicy,
        resolver: Resolver,
        connector: Connector,
        tls: ssl.SSLContext,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.connector = connector
        self.tls = tls

    def fetch(self, url: str) -> ResponseHead:
        deadline = Deadline(self.policy.timeout)
        destination = self.policy.destination(url, self.resolver, deadline.remaining())
        sock = self._connect(destination.addresses, destination.url.port, deadline)
        try:
            if destination.url.scheme == "https":
                sock = self._handshake(sock, destination, deadline)
            return self._exchange(sock, destination, deadline)
        except TimeoutError:
            raise deadline.expired() from None
        finally:
            sock.close()

    def _connect(
        self, addresses: Sequence[IPAddress], port: int, deadline: Deadline
    ) -> socket.socket:
        return connect_first(self.connector, addresses, port, deadline)

    def _handshake(
        self, sock: socket.socket, destination: Destination, deadline: Deadline
    ) -> socket.socket:
        context = self.tls
        sock.settimeout(deadline.remaining())
        try:
            return context.wrap_socket(sock, server_hostname=destination.server_name)
        except ssl.SSLCertVerificationError:
            raise UpstreamError(details="TLS certificate verification failed") from None
        except (ssl.SSLError, ConnectionError):
            raise UpstreamError(details="TLS handshake failed") from None

    def _exchange(
        self, sock: socket.socket, destination: Destination, deadline: Deadline
    ) -> ResponseHead:
        cap = self.policy.max_header_bytes
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=cap)
        request = h11.Request(
            method="GET",
            target=destination.url.target,
            headers=[
                ("Host", destination.url.host_header),
                ("User-Agent", USER_AGENT),
                ("Accept", "*/*"),
                ("Accept-Encoding", "identity"),
                ("Connection", "close"),
            ],
        )
        received = 0
        try:
            for outgoing in (request, h11.EndOfMessage()):
                sock.settimeout(deadline.remaining())
                sock.sendall(conn.send(outgoing) or b"")
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    if received > cap:
                        raise _too_large(cap)
                    sock.settimeout(deadline.remaining())
                    data = sock.recv(_RECV_BYTES)
                    received += len(data)
                    conn.receive_data(data)
                elif isinstance(event, h11.Response):
                    # The head can cross the cap and end within one read, which h11's
                    # incomplete-event limit never sees: measure what it parsed (every byte
                    # received so far but the unparsed rest, body bytes, h11 still holds).
                    if received - len(conn.trailing_data[0]) > cap:
                        raise _too_large(cap)
                    headers = tuple(
                        (_decode(name), _decode(value)) for name, value in event.headers
                    )
                    return ResponseHead(event.status_code, headers)
                elif isinstance(event, h11.InformationalResponse):
                    continue
                else:  # ConnectionClosed before a response
                    raise UpstreamError(details=_CLOSED)
        except h11.RemoteProtocolError:
            if received > cap:
                raise _too_large(cap) from None
            if received == 0:
                raise UpstreamError(details=_CLOSED) from None
            raise UpstreamError(details="the host sent an invalid HTTP response") from None
        except TimeoutError:
            raise deadline.expired() from None
        except ssl.SSLError:
            raise UpstreamError(details="TLS error while reading the response") from None
        except OSError:
            raise UpstreamError(details="the connection failed") from None


def _too_large(cap: int) -> UpstreamError:
    return UpstreamError(details=f"the response header block exceeds {cap} bytes")
