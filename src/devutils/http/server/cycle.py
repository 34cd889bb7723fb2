"""One request and its response: the ASGI ``receive`` and ``send`` of a single HTTP exchange.

``send`` takes one documented extension of ours (``scope["extensions"]["devutils.trusted_headers"]``,
see :mod:`devutils.http.asgi`): an ``http.response.start`` message may carry, under that key,
bytes of complete ``name: value\\r\\n`` lines the application rendered and guarantees valid; they
are written after the checked ``headers`` list without being checked again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from devutils.errors import InternalError, ToolError
from devutils.http.asgi import SERVER_ANSWER, TRUSTED_HEADERS, ASGIApp, Message, Scope
from devutils.http.server.wire import (
    CONTINUE,
    DATE,
    check_header,
    error_response,
    request_id_of,
    status_line,
)

if TYPE_CHECKING:
    from devutils.http.server.protocol import HttpProtocol

log = logging.getLogger("devutils.server")

CONTENT_LENGTH_LINE = b"content-length: "
NEWLINE = ord("\n")
DISCONNECT: Message = {"type": "http.disconnect"}
NO_BODY_STATUSES = frozenset((204, 304))
# Bodies up to this size are copied behind the response head so both leave in one write; a
# larger one is written after the head (the copy would cost more than the system call saved).
COALESCE_MAX_BYTES = 64 * 1024


class RequestCycle:
    __slots__ = (
        "answer",
        "body_done",
        "body_sent",
        "body_size",
        "chunked",
        "chunks",
        "conn",
        "disconnected",
        "expect_continue",
        "head",
        "head_only",
        "keep_alive",
        "remaining",
        "response_complete",
        "response_started",
        "running",
        "scope",
        "waiter",
    )

    def __init__(
        self, conn: HttpProtocol, scope: Scope, keep_alive: bool, expect_continue: bool
    ) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.head_only = scope["method"] == "HEAD"
        self.answer: ToolError | None = None  # the server's own answer, once it gave one
        self.chunks: list[bytes] = []
        self.body_size = 0
        self.body_done = False  # the whole request body has been parsed
        self.body_sent = False  # ... and handed to the application
        self.disconnected = False
        self.running = False  # the application's task has begun to run
        self.response_started = False
        self.response_complete = False
        self.chunked = False
        self.remaining: int | None = None  # Content-Length bytes still to send
        # The response head, held back until the first body message when a body of known length
        # follows: head and body then leave in one write (one send() system call, not two).
        self.head = b""
        self.waiter: asyncio.Future[None] | None = None

    # --- from the connection -------------------------------------------------------------------
    def add_body(self, data: bytes) -> None:
        self.chunks.append(data)
        self.body_size += len(data)
        if self.body_size > self.conn.limits.body_buffer_bytes:
            self.conn.pause_reading()  # until the application has taken what is buffered
        self.wake()

    def end_body(self) -> None:
        self.body_done = True
        self.wake()

    def lost(self, answer: ToolError | None = None) -> None:
        """The client is gone, or ``answer`` is what the server sent it instead of the
        application's response."""
        self.disconnected = True
        if answer is not None:  # kept when the connection then closes (lost() again)
            self.answer = answer
        self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self, app: ASGIApp) -> None:
        self.running = True
        try:
            try:
                await app(self.scope, self.receive, self.send)
            finally:
                if self.conn.held is self:  # it neither read nor answered: before the close below
                    self.conn.answer_held()
        except asyncio.CancelledError:
            self.conn.close()
            raise
        except Exception as exc:
            # The type only: an exception's text or traceback may carry request data.
            log.error("the application raised", extra={"error": type(exc).__name__})
            if not self.response_started and not self.disconnected:
                self.conn.write(self._internal_error())
            self._flush_head()
            self.conn.close()
        else:
            if not self.response_complete and not self.disconnected:
                if not self.response_started:
                    log.error("the application returned without a response")
                    self.conn.write(self._internal_error())
                self._flush_head()
                self.conn.close()  # a response cut short cannot be framed: end it
        finally:
            self.conn.cycle_done(self)

    def _internal_error(self) -> bytes:
        return error_response(InternalError("Internal server error"), request_id_of(self.scope))

    # --- ASGI ------------------------------------------------------------------------------------
    async def receive(self) -> Message:
        if self.conn.held is self:
            self.conn.answer_held()  # the request id is known now (HttpProtocol._answer)
        if self.expect_continue and not self.response_started and not self.disconnected:
            # RFC 9110 §10.1.1: the client waits for this before it sends the body.
            self.expect_continue = False
            self.conn.write(CONTINUE)
        if (
            not self.chunks
            and (self.body_sent or not self.body_done)
            and not self.disconnected
            and not self.response_complete
        ):
            self.conn.resume_reading()
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.disconnected or self.response_complete:
            if self.answer is not None:
                return {
                    "type": "http.disconnect",
                    SERVER_ANSWER: (self.answer.status, self.answer.code),
                }
            return DISCONNECT
        if self.chunks:
            body = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
            self.chunks.clear()
            self.body_size = 0
            self.conn.resume_reading()
        else:
            body = b""
        more = not self.body_done
        if not more:
            self.body_sent = True
        return {"type": "http.request", "body": body, "more_body": more}

    async def send(self, message: Message) -> None:
        if self.conn.held is self:
            self.conn.answer_held()
        if self.conn.write_paused and not self.disconnected:
            await self.conn.drain()
        if self.disconnected:
            return  # as other servers do: the application learns it from receive()
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected http.response.start, got {kind!r}")
            self._start(message)
        elif not self.response_complete:
            if kind != "http.response.body":
                raise RuntimeError(f"expected http.response.body, got {kind!r}")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"{kind!r} after the response completed")

    def _start(self, message: Message) -> None:
        self.response_started = True
        self.expect_continue = False
        status: int = message["status"]
        parts = [status_line(status), DATE.line()]
        length: int | None = None
        for raw_name, raw_value in message.get("headers", ()):
            name = bytes(raw_name).lower()
            value = bytes(raw_value)
            check_header(name, value)
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                continue  # framing is the server's: chunked is added below when needed
            elif name == b"connection":
                if b"close" in [token.strip() for token in value.lower().split(b",")]:
                    self.keep_alive = False
                continue  # the server writes its own Connection header
            parts.extend((name, b": ", value, b"\r\n"))
        trusted: bytes | None = message.get(TRUSTED_HEADERS)
        if trusted:
            parts.append(trusted)
            if length is None:
                length = _trusted_length(trusted)
        no_body = self.head_only or status in NO_BODY_STATUSES or status < 200
        if length is not None:
            self.remaining = 0 if no_body else length
        elif not no_body:
            if self.scope["http_version"] == "1.0":
                self.keep_alive = False  # no chunked coding in HTTP/1.0: the close ends the body
            else:
                self.chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
        if self.conn.parsing is self:
            # Answered before its body arrived (e.g. a 401 or 429): the connection will be closed
            # after the response (the next request cannot be found), so the client must know.
            self.keep_alive = False
        if not self.keep_alive or self.conn.stopping:
            self.keep_alive = False
            parts.append(b"connection: close\r\n")
        elif self.scope["http_version"] == "1.0":
            parts.append(b"connection: keep-alive\r\n")
        parts.append(b"\r\n")
        if self.remaining:
            self.head = b"".join(parts)  # written with the first body message
        else:
            self.conn.write(b"".join(parts))

    def _body(self, body: bytes, more: bool) -> None:
        if body and not self.head_only:
            if self.chunked:
                self.conn.write(b"%x\r\n%s\r\n" % (len(body), body))
            else:
                if self.remaining is not None:
                    self.remaining -= len(body)
                    if self.remaining < 0:
                        raise RuntimeError("response body longer than its Content-Length")
                if self.head and len(body) <= COALESCE_MAX_BYTES:
                    body = self.head + body
                    self.head = b""
                self._flush_head()
                self.conn.write(body)
        self._flush_head()  # an empty first body message: the head goes now
        if not more:
            if self.chunked and not self.head_only:
                self.conn.write(b"0\r\n\r\n")
            if self.remaining:  # shorter than announced: the client cannot frame the next one
                self.keep_alive = False
            self.response_complete = True
            self.wake()

    def _flush_head(self) -> None:
        if self.head:
            self.conn.write(self.head)
            self.head = b""


def _trusted_length(trusted: bytes) -> int | None:
    at = trusted.find(CONTENT_LENGTH_LINE)
    while at > 0 and trusted[at - 1] != NEWLINE:  # only at the start of a line
        at = trusted.find(CONTENT_LENGTH_LINE, at + 1)
    if at < 0:
        return None
    start = at + len(CONTENT_LENGTH_LINE)
    return int(trusted[start : trusted.index(b"\r", start)])
