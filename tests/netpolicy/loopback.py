"""Loopback-only test doubles for the network policy: scripted HTTP servers, a canary, DNS servers,
fake resolvers and connectors.  Nothing here ever opens a socket to a non-loopback address."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

import dnslib
import dnslib.server
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devutils.netpolicy.denytable import IPAddress
from devutils.netpolicy.resolve import ResolveError

Handler = Callable[[socket.socket, "TcpServer"], None]
LOOPBACK = ("127.0.0.0/8", "::1")


def _is_loopback(address: str) -> bool:
    parsed = ip_address(address)
    return parsed == IPv6Address("::1") or (
        isinstance(parsed, IPv4Address) and parsed.packed[0] == 127
    )


class TcpServer:
    """A listener on a loopback address; each accepted connection runs ``handler`` in a thread."""

    def __init__(
        self,
        host: str,
        handler: Handler | None = None,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        assert _is_loopback(host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(64)
        self.host = host
        self.port: int = self.listener.getsockname()[1]
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.server_names: list[str | None] = []
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            if self.handler is not None:
                self.handler(conn, self)
        except OSError:
            pass
        finally:
            conn.close()

    def read_head(self, conn: socket.socket) -> bytes:
        data = b""
        conn.settimeout(5)
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        self.requests.append(data)
        return data

    def close(self) -> None:
        self.stopped.set()
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it listening.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(5)


@contextlib.contextmanager
def serving(host: str, handler: Handler | None = None, **kwargs: Any) -> Iterator[TcpServer]:
    server = TcpServer(host, handler, **kwargs)
    try:
        yield server
    finally:
        server.close()


@dataclass
class Canary:
    """Listeners on 127.0.0.1 and ::1 with one port; any connection at all is a guard failure."""

    v4: TcpServer
    v6: TcpServer | None

    @property
    def port(self) -> int:
        return self.v4.port

    @property
    def hits(self) -> int:
        return self.v4.connections + (self.v6.connections if self.v6 else 0)


@contextlib.contextmanager
def canary() -> Iterator[Canary]:
    v4 = TcpServer("127.0.0.1")
    v6: TcpServer | None
    try:
        v6 = TcpServer("::1", port=v4.port)
    except OSError:
        v6 = None
    try:
        yield Canary(v4, v6)
    finally:
        v4.close()
        if v6:
            v6.close()


# --- scripted HTTP behaviours ------------------------------------------------------------------
def respond(head: bytes, body_forever: bool = False) -> Handler:
    def handler(conn: socket.socket, server: TcpServer) -> None:
        server.read_head(conn)
        conn.sendall(head)
        # A body that never ends: the fetcher must return without reading it.
        while body_forever and not server.stopped.is_set():
            conn.sendall(b"x" * 4096)
            time.sleep(0.01)

    return handler


OK_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/plain\r\n"
    b"Set-Cookie: a=1\r\n"
    b"Set-Cookie: b=2\r\n"
    b"X-Custom-Header: v\r\n"
    b"Content-Length: 100000000\r\n\r\n"
)


def redirect_to(location: str) -> Handler:
    return respond(
        f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
    )


def dribble(interval: float) -> Handler:
    """One header line every ``interval`` seconds, forever: each read succeeds, the head never ends."""

    def handler(conn: socket.socket, server: TcpServer) -> None:
        server.read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not server.stopped.is_set():
            conn.sendall(b"X-Slow: 1\r\n")
            time.sleep(interval)

    return handler


def header_bomb(total: int) -> Handler:
    line = b"X-Bomb: " + b"a" * 1000 + b"\r\n"
    return respond(b"HTTP/1.1 200 OK\r\n" + line * (total // len(line)) + b"\r\n")


def silent(conn: socket.socket, server: TcpServer) -> None:
    server.read_head(conn)
    server.stopped.wait(30)


def hang_up(conn: socket.socket, server: TcpServer) -> None:
    server.read_head(conn)


# --- resolvers and connectors --------------------------------------------------------------
class MapResolver:
    """A fixed name → addresses map; names not in it do not exist."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def resolve(self, name: str, timeout: float) -> Sequence[IPAddress]:
        self.calls.append(name)
        if name not in self.answers:
            raise ResolveError(missing=True)
        return [ip_address(item) for item in self.answers[name]]


class RebindingResolver:
    """Answers ``first`` on the first call and ``later`` on every call after (DNS rebinding)."""

    def __init__(self, first: str, later: str) -> None:
        self.first, self.later = first, later
        self.calls = 0

    def resolve(self, name: str, timeout: float) -> Sequence[IPAddress]:
        self.calls += 1
        return [ip_address(self.first if self.calls == 1 else self.later)]


@dataclass
class RecordingConnector:
    """Records every dial.  Loopback dials go through for real; anything else is refused, so a
    broken guard can never reach a real outside address from a test."""

    dials: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        self.dials.append((str(address), port))
        if not _is_loopback(str(address)):
            raise ConnectionRefusedError("test connector refuses non-loopback addresses")
        family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect((str(address), port))
        return sock


# --- TLS ------------------------------------------------------------------------------------
@dataclass
class TlsPair:
    server: ssl.SSLContext
    client: ssl.SSLContext


def make_tls(tmp: Path, name: str) -> TlsPair:
    """A throwaway CA and a leaf for ``name``; the client context trusts only that CA."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devutils test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp / "leaf.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
    client = ssl.create_default_context(cafile=str(tmp / "ca.pem"))
    return TlsPair(server, client)


def record_sni(server: TcpServer) -> None:
    def callback(
        sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, ctx: ssl.SSLContext
    ) -> None:
        server.server_names.append(name)

    assert server.tls is not None
    server.tls.sni_callback = callback


# --- DNS --------------------------------------------------------------------------------------
class ZoneResolver(dnslib.server.BaseResolver):  # type: ignore[misc]
    """Answers from zone text, chasing CNAMEs inside the zone; unknown names are NXDOMAIN."""

    def __init__(self, zone: str) -> None:
        self.records = dnslib.RR.fromZone(zone)
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        qname = str(request.q.qname)
        qtype = dnslib.QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        names = {str(rr.rname) for rr in self.records}
        if qname not in names:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
            return reply
        for _ in range(8):
            matches = [rr for rr in self.records if str(rr.rname) == qname]
            wanted = [rr for rr in matches if dnslib.QTYPE[rr.rtype] == qtype]
            cnames = [rr for rr in matches if dnslib.QTYPE[rr.rtype] == "CNAME"]
            if wanted or not cnames or qtype == "CNAME":
                for rr in wanted:
                    reply.add_answer(rr)
                break
            reply.add_answer(*cnames)
            qname = str(cnames[0].rdata.label)
        return reply


@contextlib.contextmanager
def dns_server(zone: str) -> Iterator[tuple[int, ZoneResolver]]:
    """A dnslib server on 127.0.0.1 (UDP and TCP on one ephemeral port)."""
    resolver = ZoneResolver(zone)
    for _attempt in range(20):
        port = _free_udp_port()
        try:
            udp = dnslib.server.DNSServer(resolver, address="127.0.0.1", port=port, logger=_quiet())
            tcp = dnslib.server.DNSServer(
                resolver, address="127.0.0.1", port=port, tcp=True, logger=_quiet()
            )
        except OSError:
            continue
        break
    else:  # pragma: no cover
        raise RuntimeError("no free port for the DNS server")
    udp.start_thread()
    tcp.start_thread()
    try:
        yield port, resolver
    finally:
        udp.stop()
        tcp.stop()
        udp.server.server_close()
        tcp.server.server_close()


@contextlib.contextmanager
def mute_dns_server() -> Iterator[int]:
    """A UDP port on 127.0.0.1 that receives queries and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quiet() -> Any:
    return dnslib.server.DNSLogger(log="-request,-reply,-truncated,-error", prefix=False)
