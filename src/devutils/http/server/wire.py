"""Bytes on the wire: status lines, the Date header, response header checks, the server's own
error answers (our JSON error envelope, then the connection is closed)."""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus
from random import getrandbits

import orjson

from devutils.errors import ToolError
from devutils.http.asgi import STATE_KEY, Scope

# RFC 9110's reason phrases where they differ from the stdlib's older ones.
_PHRASES = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}
STATUS_LINES: dict[int, bytes] = {
    status.value: b"HTTP/1.1 %d %s\r\n"
    % (status.value, _PHRASES.get(status.value, status.phrase).encode())
    for status in HTTPStatus
}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# RFC 9110 §5.1 token characters for names; values may hold neither CR, LF nor NUL (§5.5),
# which is what would let a header value forge another header or end the block.
_INVALID_NAME = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_INVALID_VALUE = re.compile(rb"[\x00\r\n]")


def status_line(status: int) -> bytes:
    line = STATUS_LINES.get(status)
    if line is None:  # a status the stdlib has no phrase for: the phrase is optional (RFC 9112)
        line = b"HTTP/1.1 %d \r\n" % status
    return line


def check_header(name: bytes, value: bytes) -> None:
    """Refuse a response header that is not a token name or whose value could split lines."""
    if not name or _INVALID_NAME.search(name):
        raise RuntimeError("Invalid HTTP header name")
    if _INVALID_VALUE.search(value):
        raise RuntimeError("Invalid HTTP header value")


class DateHeader:
    """The ``date`` line (RFC 9110 §6.6.1), rendered once per second."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._line = b"date: %s\r\n" % formatdate(now, usegmt=True).encode()
        return self._line


DATE = DateHeader()


def error_response(error: ToolError, request_id: str | None = None) -> bytes:
    """A complete response for ``error`` that ends the connection: the server's own answers
    (malformed request, limits, timeouts) carry a request id and the security headers too.
    ``request_id`` is the request's own when the application already gave it one (the answer
    then matches its access line); else a new one."""
    from devutils.http.middleware.request_context import SECURITY_LINES

    body = orjson.dumps(error.envelope())
    return b"".join(
        (
            status_line(error.status),
            DATE.line(),
            b"content-type: application/json; charset=utf-8\r\ncontent-length: %d\r\n" % len(body),
            b"x-request-id: %s\r\n"
            % (request_id or getrandbits(128).to_bytes(16).hex()).encode("ascii"),
            SECURITY_LINES,
            b"connection: close\r\n\r\n",
            body,
        )
    )


def request_id_of(scope: Scope) -> str | None:
    """The id the application gave the request (our request context checked or made it), if
    it has run that far."""
    state = scope.get(STATE_KEY)
    return getattr(state, "request_id", None)
