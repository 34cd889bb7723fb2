"""Our HTTP server on a real loopback socket, in a thread of the test process, plus a raw client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson

from devutils.http.asgi import ASGIApp
from devutils.http.server.limits import ServerLimits
from devutils.http.server.runner import StopSignals, serve


@dataclass
class Served:
    port: int
    loop: asyncio.AbstractEventLoop
    signals: StopSignals
    result: list[int] = field(default_factory=list)

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.signals.received)

    # What the kernel knows of the server's sockets (Linux, /proc/net/tcp): signs a test can
    # wait for instead of sleeping on a guess.
    def accepted(self, client: socket.socket) -> bool:
        """Whether the server has accepted ``client``'s connection (taken it off the listener's
        queue: only then does its end have an inode)."""
        mine = client.getsockname()[1]
        return any(
            _port(local) == self.port and _port(remote) == mine and inode != "0"
            for local, remote, _, inode in _tcp_sockets()
        )

    def listening(self) -> bool:
        """Whether the listener is open (a stop closes it before it shuts connections down)."""
        return any(_port(local) == self.port and st == "0A" for local, _, st, _ in _tcp_sockets())


def _tcp_sockets() -> list[tuple[str, str, str, str]]:
    """Local address, remote address, state and inode of every IPv4 TCP socket."""
    with open("/proc/net/tcp", encoding="ascii") as table:
        rows = [line.split() for line in table.read().splitlines()[1:]]
    return [(row[1], row[2], row[3], row[9]) for row in rows]


def _port(address: str) -> int:
    return int(address.rpartition(":")[2], 16)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            raise TimeoutError(f"{what}: not within {seconds:g} s")
        time.sleep(0.005)


@contextlib.contextmanager
def served(
    app: ASGIApp, limits: ServerLimits | None = None, send_buffer: int | None = None
) -> Iterator[Served]:
    """``send_buffer`` caps the kernel's send buffer of the accepted connections (Linux copies it
    from the listening socket), so a large response waits in the server's transport rather than
    in a kernel buffer that autotuning may grow to megabytes."""
    sock = socket.create_server(("127.0.0.1", 0))
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    port = int(sock.getsockname()[1])
    loop = asyncio.new_event_loop()
    signals = StopSignals()
    handle = Served(port, loop, signals)

    def run() -> None:
        asyncio.set_event_loop(loop)
        handle.result.append(
            loop.run_until_complete(serve(app, sock, limits or ServerLimits(), signals=signals))
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        _wait_listening(port)
        yield handle
    finally:
        handle.stop()
        thread.join(15)
        loop.close()


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"GET /__ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if s.recv(100).startswith(b"HTTP/1.1"):
                return
        time.sleep(0.02)
    raise TimeoutError("server did not start")


def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def read_for(sock: socket.socket, seconds: float) -> bytes:
    """Whatever arrives within ``seconds`` (the connection may stay open)."""
    sock.settimeout(seconds)
    data = b""
    with contextlib.suppress(TimeoutError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


class Responses:
    """Content-Length framed responses read off one connection, in order."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {self.buffer!r}")
        self.buffer += chunk

    def next(self) -> tuple[bytes, list[bytes], bytes]:
        """Status line, header lines, body."""
        self.sock.settimeout(5)
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        length = int(header_value(lines, b"content-length") or b"0")
        self.buffer = rest
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, lines, body


def read_response(sock: socket.socket) -> tuple[bytes, list[bytes], bytes]:
    """One response, on a connection where nothing else is pending."""
    return Responses(sock).next()


def header_value(lines: list[bytes], name: bytes) -> bytes | None:
    for line in lines:
        key, _, value = line.partition(b":")
        if key.lower() == name:
            return value.strip()
    return None


def split(response: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def request(path: str, method: str = "GET", close: bool = True, extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode()


# Chunked bodies the parser refuses, by what is wrong with them.
BAD_BODIES = {
    "bad-chunk-size": b"ZZ\r\nabc\r\n0\r\n\r\n",
    "chunk-longer-than-its-size": b"3\r\nabcdef\r\n0\r\n\r\n",
    "bad-size-after-a-good-chunk": b"3\r\nabc\r\nQ\r\n0\r\n\r\n",
}


def assert_malformed_answer(data: bytes) -> None:
    """``data`` is the server's whole 400 answer to a malformed request, and nothing after it."""
    lines, body = split(data)
    assert lines[0] == b"HTTP/1.1 400 Bad Request"
    assert header_value(lines[1:], b"connection") == b"close"
    assert header_value(lines[1:], b"content-length") == b"%d" % len(body)  # nothing after it
    error = orjson.loads(body)["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "Malformed HTTP request")
