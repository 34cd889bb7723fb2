"""One HTTP/1.1 connection: httptools' documented parser callbacks, limits, timers, keep-alive.

Limits are enforced while the request head arrives, before any of it reaches the application:

- the request-target: counted per ``on_url`` fragment, refused with 414 past the limit;
- header count: counted per ``on_header``, refused with 431 past the limit;
- the header block: the request-target and header lines are counted as the parser hands them
  over; and since the parser keeps the header being read in memory until it ends, the bytes fed
  to it while a head is open are counted too, after each read, so at most one read (256 KiB with
  uvloop) beyond the limit is ever held.  Past the limit: 431 and close.
- time: a connection must complete a request head within ``header_timeout`` of opening or of
  that request's first byte (408 when part of it came, else a silent close); an idle keep-alive
  connection is closed after ``keepalive_timeout``; a request body must be complete within
  ``body_timeout`` of the end of its head (408 and close, whether it trickles or stalls).
- connections: past ``max_connections`` open ones, a new connection gets a 503 and is closed.
- sending: a client must take response bytes.  While the transport's buffer is above its
  high-water mark (writing paused), and after the server closed a connection with bytes still
  buffered, a timer checks every ``send_timeout`` that the client took some; when it took none,
  the connection is aborted: the buffer is dropped, the socket reset, and an application waiting
  to send learns the client is gone.  Responses that fit the buffer never start it.

What HTTP/1.1 does not let a server read is refused before the application runs, and the
connection closed: an unknown method or a transfer coding other than chunked (501), a
Transfer-Encoding that does not end with chunked or in an HTTP/1.0 request (400: the body's length
is unknown), a major version other than 1 (505).  A higher 1.x minor version is served as 1.1.

Pipelined requests run one after another; while one is waiting its turn the socket is not read.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections import deque
from dataclasses import dataclass, field
from http import HTTPMethod
from typing import Any, cast
from urllib.parse import unquote

import httptools

from devutils.errors import (
    HttpVersionNotSupportedError,
    RequestHeaderTooLargeError,
    RequestTimeoutError,
    ServiceUnavailableError,
    ToolError,
    UnimplementedError,
    UriTooLongError,
    ValidationError,
)
from devutils.http.asgi import TRUSTED_HEADERS, ASGIApp
from devutils.http.server.cycle import RequestCycle
from devutils.http.server.limits import ServerLimits
from devutils.http.server.wire import error_response, request_id_of

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
LINGER_SECONDS = 2.0  # after an error answer: how long a client still sending is read and ignored
# At a stop: how long a connection with a request on its way (not yet read) has to deliver its
# head, at most (never beyond the header timeout).
STOP_GRACE_SECONDS = 1.0
# RFC 9110 §5.5: whitespace around a field value is not part of it.
OWS = b" \t"
# Bytes a chunked body may spend between body bytes (chunk-size lines, the trailer section) beyond
# the header byte limit, before it is refused 431.
CHUNK_FRAMING_SLACK = 1024
# RFC 9110 §5.6.2: a method, a transfer coding's name.  Only such tokens, and short ones, are
# ever quoted back in an answer.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
SHOWN_TOKEN_BYTES = 20
# The first bytes of a request kept while its head is read, to name a method the parser refuses.
REQUEST_START_BYTES = 32
_METHODS = frozenset(HTTPMethod)
# RFC 9110 §7.2 Host = uri-host [":" port], read loosely (RFC 3986 §3.2.2): a bracketed IP
# literal or a reg-name of unreserved, pct-encoded and sub-delims characters, then digits.  No
# space, control or non-ASCII byte, no "/", "@", "?" or "#".  Empty is allowed (§7.2: a target
# without an authority).
_HOST = re.compile(
    rb"(?:\[[0-9A-Za-z:._~%!$&'()*+,;=-]*\]"  # IP-literal
    rb"|[0-9A-Za-z._~%!$&'()*+,;=-]*)"  # IPv4address or reg-name
    rb"(?::[0-9]*)?"
)
# The methods llhttp reads only on an RTSP request line (RFC 2326 §10).
_RTSP_METHODS = frozenset(
    b"ANNOUNCE DESCRIBE FLUSH GET_PARAMETER PAUSE PLAY RECORD REDIRECT SETUP SET_PARAMETER "
    b"TEARDOWN".split()
)
# The head a fresh parser is given to read the body of a request with an Upgrade header (see
# _ignore_upgrade): the request's own framing fields go in its %s.  Connection: close, with the
# parser's data-after-close leniency, makes it drop whatever follows that body.
_BODY_HEAD = b"POST / HTTP/1.1\r\nConnection: close\r\n%s\r\n"
_FRAMING_FIELDS = (b"content-length", b"transfer-encoding")

# Rendered per answer (error_response): each carries the current Date and its own request id.
MALFORMED = ValidationError("Malformed HTTP request")
TOO_MANY_CONNECTIONS = ServiceUnavailableError(
    "Too many connections", "Retry on another connection later"
)


@dataclass(slots=True)
class ServerState:
    """What every connection of one worker shares."""

    app: ASGIApp
    limits: ServerLimits
    lifespan_state: dict[str, Any] = field(default_factory=dict)
    connections: set[HttpProtocol] = field(default_factory=set)
    stopping: bool = False


class _Refused(Exception):
    def __init__(self, error: ToolError) -> None:
        super().__init__(error.code)
        self.error = error


class HttpProtocol(asyncio.Protocol):
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.app = state.app
        self.limits = state.limits
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        # llhttp refuses any version but 0.9, 1.0, 1.1 and 2.0 with a generic parse error, which
        # cannot tell a client that HTTP/1.2 is served as 1.1 or that HTTP/3.0 gets 505; with
        # this documented option it parses any single-digit version, and on_headers_complete
        # checks it (_served_version): nothing but 1.x reaches the application.
        self.parser.set_dangerous_leniencies(lenient_version=True)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.write_paused = False
        self.reading_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        # The send deadline: runs only while bytes wait in the transport's buffer, either writing
        # is paused or the server closed the connection (see _watch_sending).
        self.send_timer: asyncio.TimerHandle | None = None
        self.written = 0  # bytes handed to the transport
        self.taken = 0  # of those, the bytes that had left its buffer when the timer was set
        # The body deadline of the request being parsed, set only when a read ends with its body
        # still incomplete (most bodies arrive with their head: no timer for them).
        self.body_timer: asyncio.TimerHandle | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.active: RequestCycle | None = None  # the request whose application is running
        self.parsing: RequestCycle | None = None  # the request whose body is arriving
        self.waiting: deque[RequestCycle] = deque()  # pipelined requests, not started yet
        self.task: asyncio.Task[None] | None = None
        self.served = False  # a request of this connection reached the application
        # The error answer to a pipelined request the parser refused while an earlier one was
        # running: written, and the connection closed, once the responses before it are out.
        self.failure: bytes | None = None
        # A request refused while its body arrived, before its application ran (see _answer):
        # its answer waits for the request id the application gives it.
        self.held: RequestCycle | None = None
        # The request head being parsed.
        self.in_head = False
        self.in_body = False
        self.head_bytes = 0
        self.url_parts: list[bytes] = []
        self.url_size = 0
        self.head_size = 0  # request-target and header lines, as parsed
        self.hosts = 0  # Host fields in the head
        # A request with an Upgrade header was read (see _ignore_upgrade): once its body is in,
        # whatever else arrives is dropped, since the connection closes after its answer.
        self.upgraded = False
        # The trailer section of a chunked body: counted against the header limits, then dropped.
        self.trailer_count = 0
        self.trailer_size = 0
        self.since_body = 0  # bytes read since the last body bytes: chunk framing and trailers
        self.headers: list[tuple[bytes, bytes]] = []
        # The first bytes of the request being read, when a read began with it (None when it
        # began inside a read after another request: the parser does not tell the offset).
        self.request_start: bytes | None = None

    @property
    def stopping(self) -> bool:
        return self.state.stopping

    # --- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        if len(self.state.connections) >= self.limits.max_connections:
            # Answer rather than hold it: at the cap, the file descriptors are kept for the rest.
            self.closed = True
            transport.write(error_response(TOO_MANY_CONNECTIONS))
            transport.close()
            return
        self.state.connections.add(self)
        self.client = _address(transport.get_extra_info("peername"))
        self.server = _address(transport.get_extra_info("sockname"))
        self._set_timer(self.limits.header_timeout, self._head_timed_out)
        if self.stopping:  # accepted just before the listener closed: shutdown() has not seen it
            self.shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.connections.discard(self)
        self._cancel_timer()
        self._cancel_body_timer()
        self._cancel_send_timer()
        active, task = self.active, self.task
        if (
            active is not None
            and task is not None
            and not active.response_complete
            and active.waiter is None
        ):
            # The client left before its answer: nobody can read it, so the work stops (a pool
            # process running the call is killed).  HTTP has no other cancel signal, and MCP's
            # Streamable HTTP makes a disconnect the cancellation of the request.  An application
            # waiting in receive() is not cancelled: http.disconnect tells it, with the server's
            # own answer when it gave one.
            task.cancel()
        for cycle in (active, self.parsing, *self.waiting):
            if cycle is not None:
                cycle.lost()
        self.waiting.clear()
        self._release_writers()

    def data_received(self, data: bytes) -> None:
        if self.closed or self.failure is not None or self.held is not None:
            return  # after a parse error the parser is unusable: the rest is not read
        if self.upgraded and not self.in_body:
            return  # after the body of a request with Upgrade: the connection closes, unread
        if self.in_body:
            self.since_body += len(data)
        else:
            self.head_bytes += len(data)
            if not self.in_head:  # between requests: this read begins the next one
                self.request_start = data[:REQUEST_START_BYTES]
        upgrade: int | None = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            refused = exc.__context__
            self._refuse(refused.error if isinstance(refused, _Refused) else MALFORMED)
            return
        except httptools.HttpParserUpgrade as exc:
            upgrade = exc.args[0]
        except httptools.HttpParserInvalidMethodError:
            self._refuse(_unknown_method(self.request_start))
            return
        except httptools.HttpParserError:
            # The HTTP/2 connection preface (PRI * HTTP/2.0) stops the parser after its version.
            version = self.parser.get_http_version()
            major = int(version.partition(".")[0])
            if major >= 2:
                self._refuse(_version_refused(version))
            else:
                self._refuse(_rtsp_method(self.request_start) or MALFORMED)
            return
        if upgrade is not None:
            # Not in the except clause: an error raised there while the body is parsed would get
            # HttpParserUpgrade as its __context__, in place of the _Refused that says why.
            self._ignore_upgrade(data[upgrade:])
            return
        if self.in_head and self.head_bytes > self.limits.max_header_bytes:
            self.fail(error_response(RequestHeaderTooLargeError()))
        elif self.in_body:
            if self.since_body > self.limits.max_header_bytes + CHUNK_FRAMING_SLACK:
                # httptools buffers a trailer field until it ends, before on_header can count it.
                self._refuse(RequestHeaderTooLargeError("Trailer section too large"))
                return
            self._watch_body()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._watch_sending()

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.closed:
            # The client keeps up.  Once closed, the rest of the buffer must still leave in time.
            self._cancel_send_timer()
        self._release_writers()

    # --- httptools callbacks ---------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.in_head = True
        self.url_parts = []
        self.url_size = 0
        self.head_size = 0
        self.headers = []
        self.hosts = 0
        if self.active is None and not self.stopping:
            # From the first byte of a request to the end of its head (keep-alive timer off).
            # Not once stopping: the head must come within the stop's grace (shutdown()).
            self._set_timer(self.limits.header_timeout, self._head_timed_out)

    def on_url(self, url: bytes) -> None:
        self.url_size += len(url)
        self.head_size += len(url)
        if self.url_size > self.limits.max_url_bytes:
            raise _Refused(UriTooLongError())
        self.url_parts.append(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.in_head:
            self._trailer(name, value)
            return
        if len(self.headers) >= self.limits.max_header_count:
            raise _Refused(RequestHeaderTooLargeError("Too many header fields"))
        # A head that arrived in one read is complete before the byte count below sees it.
        self.head_size += len(name) + len(value) + 4
        if self.head_size > self.limits.max_header_bytes:
            raise _Refused(RequestHeaderTooLargeError())
        name = name.lower()
        value = value.strip(OWS)
        if name == b"host":
            self.hosts += 1
            if not _HOST.fullmatch(value):  # on every route, probes too (RFC 9112 §3.2)
                raise _Refused(ValidationError("Invalid request", "invalid Host header value"))
        self.headers.append((name, value))

    def _trailer(self, name: bytes, value: bytes) -> None:
        """A trailer field of a chunked body.  Never merged into the headers (RFC 9110 §6.5.1:
        a client must not be able to add an API key, X-Forwarded-For or Content-Type after the
        checks that read the head); bounded like the head, since it is parsed all the same."""
        self.trailer_count += 1
        self.trailer_size += len(name) + len(value) + 4
        if self.trailer_count > self.limits.max_header_count:
            raise _Refused(RequestHeaderTooLargeError("Too many trailer fields"))
        if self.trailer_size > self.limits.max_header_bytes:
            raise _Refused(RequestHeaderTooLargeError("Trailer section too large"))

    def on_headers_complete(self) -> None:
        parser = self.parser
        method = parser.get_method()
        if method == b"CONNECT":
            # RFC 9110 §9.3.6: a tunnel, which only a proxy opens.
            raise _Refused(
                UnimplementedError(
                    "Request method not implemented", "method CONNECT: this server is no proxy"
                )
            )
        parsed = httptools.parse_url(b"".join(self.url_parts))
        version = _served_version(parser.get_http_version())
        headers = self.headers
        _check_transfer_codings(headers, version)
        _check_host_count(self.hosts, version)
        if parsed.host is not None:
            headers = _target_host(headers, parsed.host, parsed.port)
        if self.active is None:
            self._cancel_timer()
        self.in_head = False
        self.trailer_count = self.trailer_size = self.since_body = 0
        self.in_body = True
        self.head_bytes = 0
        raw_path: bytes = parsed.path or b"/"
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": ASGI_VERSION,
            "http_version": version,
            "method": method.decode("ascii"),
            "scheme": "http",
            "path": path,
            "raw_path": raw_path,
            "query_string": parsed.query or b"",
            "root_path": "",
            "headers": headers,
            "client": self.client,
            "server": self.server,
            "state": self.state.lifespan_state.copy(),
        }
        expect_continue = version == "1.1" and (b"expect", b"100-continue") in [
            (name, value.lower()) for name, value in headers if name == b"expect"
        ]
        cycle = RequestCycle(self, scope, parser.should_keep_alive(), expect_continue)
        # Our extension (devutils.http.asgi.TRUSTED_HEADERS): our send takes pre-rendered lines.
        scope["extensions"] = {TRUSTED_HEADERS: {"send": cycle.send}}
        self.parsing = cycle
        if self.active is None:
            self._start(cycle)
        else:
            self.waiting.append(cycle)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        self.since_body = 0
        if self.parsing is not None:
            self.parsing.add_body(body)

    def on_message_complete(self) -> None:
        if self.parser.should_upgrade():
            return  # ended at its head by httptools: its body is still to be read (_ignore_upgrade)
        self.in_body = False
        self._cancel_body_timer()
        self.head_bytes = 0
        self.request_start = None  # a request after it in the same read starts at an unknown offset
        if self.parsing is not None:
            self.parsing.end_body()
            self.parsing = None

    # --- used by the request cycles --------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.written += len(data)
            self.transport.write(data)

    async def drain(self) -> None:
        if self.drain_waiter is None or self.drain_waiter.done():
            self.drain_waiter = self.loop.create_future()
        await self.drain_waiter

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.waiting and not self.closed and self.failure is None:
            self.reading_paused = False
            if self.transport is not None:
                self.transport.resume_reading()

    def cycle_done(self, cycle: RequestCycle) -> None:
        extensions = cycle.scope.get("extensions")
        if extensions is not None:
            # The offer holds the cycle's send and the cycle holds the scope: break the loop now
            # rather than leave it to the garbage collector.
            extensions.pop(TRUSTED_HEADERS, None)
        self.active = None
        self.task = None
        if self.closed:
            return
        if cycle is self.parsing and cycle.response_complete:
            # Answered before its body was read (413, 401, 429): the next request cannot be
            # found, and a client still sending the body must not get a reset in place of it.
            self._close_lingering()
            return
        if not cycle.keep_alive or not cycle.response_complete or self.stopping:
            self.close()
            return
        if self.waiting:
            self._start(self.waiting.popleft())
            self.resume_reading()
            self._watch_body()
            return
        if self.failure is not None:
            self.write(self.failure)
            self._close_lingering()
            return
        self.resume_reading()
        if self.in_head:
            self._set_timer(self.limits.header_timeout, self._head_timed_out)
        else:
            self._set_timer(self.limits.keepalive_timeout, self.close)

    def fail(self, response: bytes) -> None:
        """Answer ``response`` to the request being parsed and close.

        The request running (and those pipelined before this one) are answered first: the
        refused request's answer must not cut theirs short or land in the middle of one.
        """
        if self.closed or self.failure is not None:
            return
        if self.active is not None:
            self.failure = response
            self.pause_reading()
            return
        self.write(response)
        self._close_lingering()

    def _close_lingering(self) -> None:
        """Close after an error answer without losing it.

        A client still sending (a slow header block, a body nobody will read) would have its
        next bytes meet a closed socket; the kernel answers them with a reset, and a reset makes
        the client's kernel drop the answer it had not read yet.  So, as web servers do (Apache's
        and nginx's lingering close): end our side (FIN after the answer), ignore what still
        arrives, and close for good when the client does or after ``LINGER_SECONDS``.  The
        connection stops counting as open at once, and shutdown does not wait for it.
        """
        transport = self.transport
        if transport is None or not transport.can_write_eof():
            self.close()
            return
        self.closed = True  # data_received ignores the rest
        self._cancel_timer()
        self._cancel_body_timer()
        self.state.connections.discard(self)
        if self.reading_paused:  # what still arrives is read and dropped, not left to reset
            self.reading_paused = False
            transport.resume_reading()
        transport.write_eof()
        self._watch_sending()  # the answer must still be taken, even by a client that sends on
        self.timer = self.loop.call_later(LINGER_SECONDS, transport.close)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._cancel_timer()
            self._cancel_body_timer()
            if self.transport is not None:
                # The transport closes the socket once its buffer is flushed, however long that
                # takes: a client that reads nothing would hold the buffer for ever.
                self._watch_sending()
                self.transport.close()

    # --- shutdown --------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Close now when idle; else after the current response (``stopping`` is set).

        Not idle, though no request runs: a connection that has not sent its first request yet
        (accepted a moment ago, its request maybe unread in the kernel's buffer), one whose
        request head is arriving, and a keep-alive one whose next request is in that buffer.
        Closing a socket with unread data sends a reset, and the client loses its request
        without knowing whether it ran.  Each gets ``STOP_GRACE_SECONDS`` (at most the header
        timeout) to deliver a request head, answered with ``connection: close``; then, as at a
        header timeout, 408 if part of a head came, else a close.
        """
        if self.closed or self.active is not None:
            return
        if self.served and not self.in_head and not self._unread():
            self.close()
            return
        grace = min(self.limits.header_timeout, STOP_GRACE_SECONDS)
        self._set_timer(grace, self._head_timed_out)

    def _unread(self) -> bool:
        """Whether bytes the event loop has not read yet wait in the socket's receive buffer."""
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None:
            return False
        try:
            # A duplicate descriptor: the transport's socket object may not offer recv (uvloop).
            with socket.fromfd(sock.fileno(), sock.family, sock.type) as peek:
                return bool(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except OSError:  # nothing there (EAGAIN), or the connection is gone
            return False

    def abort(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.close()

    # --- internals -------------------------------------------------------------------------------
    def _start(self, cycle: RequestCycle) -> None:
        self.served = True
        self.active = cycle
        self.task = self.loop.create_task(cycle.run(self.app))

    def _refuse(self, error: ToolError) -> None:
        """The request being read is refused (``error`` is the answer): its head, or its chunked
        body (a bad chunk, trailers over the limits)."""
        cycle = self.parsing
        if cycle is None:
            self.fail(error_response(error))
            return
        self.parsing = None
        self.in_body = False
        self._cancel_body_timer()
        if cycle is not self.active:
            self.waiting.remove(cycle)  # pipelined: its application never ran
            self.fail(error_response(error))
            return
        # The application is reading this body: receive() tells it the client is gone
        # (http.disconnect, with our answer when we give one), and what it sends from now on is
        # dropped.
        answered = not cycle.response_started
        cycle.lost(error if answered else None)
        if cycle.response_complete:
            self._close_lingering()  # answered before its body (401, 429): that answer stands
        elif cycle.response_started:
            self.close()  # a response under way cannot be replaced by an error answer
        else:
            self._answer(cycle, error)

    def _answer(self, cycle: RequestCycle, error: ToolError) -> None:
        """Answer ``error`` to the running request ``cycle`` (its response not started), and
        close.  The answer carries the request's id, so that it matches the access log line: our
        request context gives that id when the application starts.  A request refused in the
        read that brought its head (a bad chunk right after it) has a task that has not run yet,
        so its answer is held until the application has: at its first receive or send, or its
        end (answer_held).  Reads are ignored meanwhile, as once the answer is written."""
        if not cycle.running:
            self.held = cycle
            return
        self.write(error_response(error, request_id_of(cycle.scope)))
        self._close_lingering()

    def answer_held(self) -> None:
        """Write the answer held by _answer, now that its application has run."""
        cycle, self.held = self.held, None
        if cycle is not None and cycle.answer is not None and not self.closed:
            self._answer(cycle, cycle.answer)

    def _ignore_upgrade(self, rest: bytes) -> None:
        """No protocol upgrades here (``curl --http2`` asks for h2c): RFC 9110 §7.8 lets a server
        ignore Upgrade, so the request is answered as plain HTTP/1.1 and the connection then
        closes.  httptools ends such a message at its head (``rest`` is what followed it), so its
        body is read by a fresh parser given a head with the request's own framing fields: the
        bytes are then decoded, and bounded, exactly as any request's body (chunks, trailers,
        their errors and limits, the body timeout), by the same callbacks."""
        self.upgraded = True
        cycle = self.parsing
        if cycle is None:  # refused meanwhile: the connection reads nothing more
            return
        cycle.keep_alive = False
        framing = b"".join(
            b"%s: %s\r\n" % field for field in cycle.scope["headers"] if field[0] in _FRAMING_FIELDS
        )
        self.parser = httptools.HttpRequestParser(_UpgradeBody(self))
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        # Fields this parser accepted in the request's head: no error.  Without a body, the
        # message completes here (on_message_complete ends it).
        self.parser.feed_data(_BODY_HEAD % framing)
        self.data_received(rest)  # even empty: a body still to come starts its deadline

    def _head_timed_out(self) -> None:
        self.timer = None
        if self.active is not None:
            return  # the running request has no deadline of the server's
        self.fail(error_response(RequestTimeoutError()) if self.in_head else b"")

    def _watch_body(self) -> None:
        """Start the body deadline of the running request if its body is still arriving (not of
        a pipelined one waiting its turn: the socket is not read for it yet)."""
        if self.body_timer is None and self.parsing is not None and self.parsing is self.active:
            self.body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

    def _body_timed_out(self) -> None:
        self.body_timer = None
        cycle = self.parsing
        if cycle is None or self.closed:
            return
        if cycle.response_started:
            cycle.lost()  # the application reading the body learns it at once
            self.close()  # the application's answer is cut short: nothing more can be said
            return
        answer = RequestTimeoutError("Request body not received in time")
        cycle.lost(answer)
        # A lingering close: the client is still sending, and a reset would lose the 408.
        self._answer(cycle, answer)

    def _cancel_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def _set_timer(self, delay: float, callback: Any) -> None:
        self._cancel_timer()
        self.timer = self.loop.call_later(delay, callback)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _watch_sending(self) -> None:
        """Start the send deadline if bytes wait in the transport's buffer and it is not running."""
        transport = self.transport
        if self.send_timer is not None or transport is None:
            return
        buffered = transport.get_write_buffer_size()
        if buffered:
            self.taken = self.written - buffered
            self.send_timer = self.loop.call_later(self.limits.send_timeout, self._send_timed_out)

    def _send_timed_out(self) -> None:
        """Abort unless the client took bytes since the timer was set: a slow reader of a large
        response (one write of megabytes) may need far longer than the timeout for all of it,
        so the deadline is for any progress, as nginx's send_timeout is between two writes."""
        self.send_timer = None
        transport = self.transport
        if transport is None:
            return
        buffered = transport.get_write_buffer_size()
        if not buffered:
            return  # all taken: the transport closes, or writing resumes
        if self.written - buffered > self.taken:
            self._watch_sending()
            return
        self.closed = True
        self._cancel_timer()
        self._cancel_body_timer()
        # Drops the buffer and resets the connection; connection_lost follows and tells the
        # request still sending, if any, that the client is gone.
        transport.abort()

    def _cancel_send_timer(self) -> None:
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None

    def _release_writers(self) -> None:
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _UpgradeBody:
    """The callbacks of the parser reading the body of a request with an Upgrade header: the
    connection's, once the head of that parser's own (not the request's) has been read."""

    __slots__ = ("conn", "in_head")

    def __init__(self, conn: HttpProtocol) -> None:
        self.conn = conn
        self.in_head = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.in_head:
            self.conn.on_header(name, value)  # a trailer field (the connection is in the body)

    def on_headers_complete(self) -> None:
        self.in_head = False

    def on_body(self, body: bytes) -> None:
        self.conn.on_body(body)

    def on_message_complete(self) -> None:
        self.conn.on_message_complete()


def _served_version(version: str) -> str:
    """The version a request is served as.  RFC 9110 §2.5: a higher 1.x minor version than ours
    is served as HTTP/1.1 (llhttp already parses any minor above 0 by the 1.1 rules: keep-alive,
    chunked).  Any other major version is refused with 505 (RFC 9110 §15.6.6): HTTP/2 and 3
    have their own framing, and HTTP/0.9 had no headers, so our answer would not be one."""
    major, _, minor = version.partition(".")
    if major != "1":
        raise _Refused(_version_refused(version))
    return version if minor in ("0", "1") else "1.1"


def _version_refused(version: str) -> ToolError:
    # The parser reads a single digit on either side of the dot: nothing else can be echoed.
    return HttpVersionNotSupportedError(details=f"HTTP/{version}: this server speaks HTTP/1.1")


def _check_transfer_codings(headers: list[tuple[bytes, bytes]], version: str) -> None:
    """RFC 9112 §6.1 and §6.3.  Only chunked is implemented: a request whose last coding is
    chunked but applies others first (``gzip, chunked``) is framed, but its content could not be
    decoded: 501.  One whose last coding is not chunked (``br``), or that names chunked twice,
    has a body of unknown length, as has any HTTP/1.0 request with Transfer-Encoding: 400.
    Either way the parser is stopped, so the connection closes after the answer."""
    values = [value for name, value in headers if name == b"transfer-encoding"]
    if not values:
        return
    if version == "1.0":
        raise _Refused(
            ValidationError(MALFORMED.message, "Transfer-Encoding in an HTTP/1.0 request")
        )
    codings = [c.strip(OWS).lower() for value in values for c in value.split(b",")]
    codings = [coding for coding in codings if coding]  # a list may hold empty elements
    if not codings or codings[-1] != b"chunked" or b"chunked" in codings[:-1]:
        what = "Transfer-Encoding does not end with a single chunked: the body length is unknown"
        raise _Refused(ValidationError(MALFORMED.message, what))
    if len(codings) == 1:
        return  # chunked alone: the one coding the parser decodes
    names = [_shown(coding.partition(b";")[0].rstrip(OWS)) for coding in codings[:-1]]
    shown = ", ".join(dict.fromkeys(name for name in names if name))
    raise _Refused(
        UnimplementedError(
            "Transfer coding not implemented",
            f"only chunked is implemented, not {shown}" if shown else "only chunked is implemented",
        )
    )


def _unknown_method(start: bytes | None) -> ToolError:
    """The answer to a request line whose method the parser does not know (RFC 9110 §9.1:
    methods are case-sensitive, so ``get`` is one too): 501.  Bytes that are no method at all
    (no token then a space: binary, a TLS handshake, ``GARBAGE``) are a malformed request, and
    so, as before, are the bytes of a request that began inside a read after another request:
    the parser does not say where, so they cannot be told from garbage."""
    if start is None:
        return MALFORMED
    start = start.lstrip(b"\r\n")  # RFC 9112 §2.2: empty lines before a request are ignored
    token = _TOKEN.match(start)
    end = token.end() if token else 0
    if token is None or start[end : end + 1] not in (b" ", b""):
        return MALFORMED
    method = _shown(token.group()) if end < len(start) else None
    if method is None:
        return UnimplementedError("Request method not implemented")
    details = f"method {method}"
    if method.upper() in _METHODS:
        details += f" (methods are case-sensitive: {method.upper()})"
    return UnimplementedError("Request method not implemented", details)


def _rtsp_method(start: bytes | None) -> ToolError | None:
    """501 for a request line whose method is RTSP's (``DESCRIBE``, ``PLAY``): the parser knows
    those, so it refuses them on an HTTP line as a malformed one.  Such a line always fails as
    the first request of its read, so ``start`` is its own: other methods there may be a request
    served before the one that failed."""
    if start is None:
        return None
    token = _TOKEN.match(start.lstrip(b"\r\n"))
    if token is None or token.group() not in _RTSP_METHODS:
        return None
    return _unknown_method(start)


def _shown(token: bytes) -> str | None:
    """``token`` as quoted back to the client, if it is a short RFC 9110 token."""
    if len(token) > SHOWN_TOKEN_BYTES or not _TOKEN.fullmatch(token):
        return None
    return token.decode("ascii")


def _check_host_count(hosts: int, version: str) -> None:
    """RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host and for several Host fields
    (each value is checked as it is read), with an absolute-form target as well, whose
    authority only replaces a valid Host (§3.2.2)."""
    if hosts != 1 and (hosts or version == "1.1"):
        what = "several Host headers" if hosts else "no Host header (HTTP/1.1 needs one)"
        raise _Refused(ValidationError("Invalid request", what))


def _target_host(
    headers: list[tuple[bytes, bytes]], host: bytes, port: int | None
) -> list[tuple[bytes, bytes]]:
    """An absolute-form request target (``GET http://name/path``) names the host: RFC 9112
    §3.2.2 says to ignore the Host fields then, so Host checks and links see the target's."""
    authority = b"[%s]" % host if b":" in host else host
    if port is not None:
        authority += b":%d" % port
    return [*(pair for pair in headers if pair[0] != b"host"), (b"host", authority)]


def _address(value: Any) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return (str(value[0]), int(value[1]))
    return None
