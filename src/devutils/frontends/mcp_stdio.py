"""``devutils mcp``: the SDK server on stdin/stdout, finishing every request it read before EOF.

The SDK's :func:`~mcp.server.stdio.stdio_server` ends the serving loop at EOF on stdin, and the
loop cancels the requests still running: a script that pipes requests in
(``printf '%s\\n' "$INIT" "$CALL" | devutils mcp``) lost the replies to its slower calls.  A Unix
tool stops reading at EOF, finishes what it was given, writes every answer and exits 0, so two
relays sit between the SDK's stdio streams and :meth:`Server.run`: the inbound one notes each
request's id and, at EOF, holds the server's read side open until every noted request has been
answered (or cancelled by the client), within a bound; the outbound one forgets an id once its
answer has been handed to the stdout writer.

``stdio_server`` stays the transport: it also points fd 1 away from the wire while serving, so
nothing a tool runs can write into the protocol stream.  Stdin is ours (:func:`claimed_stdin`):
the SDK decodes it with ``errors="replace"``, which turned bytes that are not UTF-8 into U+FFFD
and answered a call on altered input (a hash of other text); decoded with ``surrogateescape``, such
a line is not UTF-8 text, and is refused as below.

Every line the server cannot serve is answered, as ``/mcp`` answers that body, or a client would
wait for ever (JSON-RPC 2.0 §5.1 says the server answers).  The SDK skips, without an answer, a
line its parser refuses, and takes a request whose id is not a string or an integer (null, a
float, an array) for a notification, which is never answered.  So the SDK reads the client's
lines through :class:`ScreenedInput`, which answers those that are not one JSON-RPC message of
UTF-8 JSON itself (:func:`screen`) and hands the SDK the others.  JSON the screen reads but the
SDK's parser does not (nested past its recursion limit, about 200 levels, yet within
``MAX_JSON_DEPTH``; a lone surrogate escape) is answered by the inbound relay from the SDK's
error, which holds the line (:func:`refusal`).  Blank lines are skipped without an answer.
A line longer than ``MAX_BODY_BYTES`` is never read whole (:class:`StoppableLines`): it is
answered as ``/mcp`` answers a body over that limit (:func:`too_long`), and the next line served.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import sys
from collections.abc import AsyncIterable, Callable, Coroutine, Iterator
from typing import IO, Any, NamedTuple, Protocol, cast

import anyio
import orjson
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
)
from pydantic import ValidationError as PydanticValidationError

from devutils.errors import RequestTooLargeError, ValidationError
from devutils.frontends.mcp_envelope import message_error
from devutils.http.asgi import mcp_refusal
from devutils.tools._jsontext import nesting_depth

log = logging.getLogger("devutils.mcp")

# Bytes read from the client at a time.
_READ_BYTES = 64 * 1024
# Past TOOL_TIMEOUT every call has stopped (the registry's deadline includes queueing); the
# margin covers writing the answers and a pool process that is being killed.
GRACE_MARGIN = 10.0


class Sink(Protocol):
    """The send side of the SDK's stdout writer (a stream type it does not export)."""

    async def send(self, item: SessionMessage, /) -> None: ...

    async def aclose(self) -> None: ...


class InFlight:
    """Ids of the requests read and not yet answered.

    Keyed by the id's text: the SDK correlates ``7`` and ``"7"`` as one id (a client may echo
    an id stringified in ``notifications/cancelled``).  A count per key, since nothing stops a
    client from reusing an id and the SDK answers each request.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._drained: anyio.Event | None = None

    def __len__(self) -> int:
        return sum(self._counts.values())

    def add(self, request_id: int | str) -> None:
        key = str(request_id)
        self._counts[key] = self._counts.get(key, 0) + 1

    def discard(self, request_id: int | str) -> None:
        key = str(request_id)
        count = self._counts.get(key, 0)
        if count > 1:
            self._counts[key] = count - 1
        elif count == 1:
            del self._counts[key]
        if self._drained is not None and not self._counts:
            self._drained.set()

    async def wait_drained(self) -> None:
        """Return once every request has been answered; call after the last :meth:`add`."""
        if not self._counts:
            return
        self._drained = anyio.Event()
        await self._drained.wait()


TOO_DEEP = "nested too deeply"


def refusal(failure: Exception, max_depth: int) -> JSONRPCError | None:
    """The answer to a line the SDK's JSON parser refused, or None to skip the line.

    JSON that we read although the SDK's parser does not (nested past its recursion limit, an
    integer past its range, a lone surrogate escape) gets ``-32600``, with the line's id when it
    is a request, or the client would wait for that answer forever; id null otherwise (JSON-RPC
    2.0 §5.1).  A line nested past ``max_depth`` is not parsed: ``-32700``, id null, as ``/mcp``
    answers a body its parser gives up on.  Skipped, as the SDK does: a line that is not JSON,
    and JSON the SDK read that is not one JSON-RPC message (its error does not hold the line).
    """
    unparsed = _unparsed_line(failure)
    if unparsed is None:
        return None
    line, reason = unparsed
    depth = nesting_depth(line)
    if depth > max_depth:
        return _too_deep(depth, max_depth)
    try:
        message = _decoded(line)
    except RecursionError:
        return _too_deep(depth, max_depth)
    except ValueError:
        return None  # not JSON: the screen answers such a line before the SDK reads it
    if "recursion limit" in reason:
        error = ValidationError(
            TOO_DEEP,
            f"nesting depth {depth}: over stdio the MCP SDK reads about 200 levels, "
            f"fewer than MAX_JSON_DEPTH ({max_depth})",
        )
    else:
        # The parser's reason is not quoted: only its own wording is known not to hold input.
        error = ValidationError("JSON the MCP SDK cannot read", "its JSON parser refused it")
    return _refused(_request_id(message), INVALID_REQUEST, "Invalid Request", error)


def _too_deep(depth: int, max_depth: int) -> JSONRPCError:
    """``-32700``, id null: a line too deep to read, past ``MAX_JSON_DEPTH`` or the stack."""
    if depth > max_depth:
        details = f"nesting depth {depth} exceeds MAX_JSON_DEPTH ({max_depth})"
    else:  # MAX_JSON_DEPTH near 1000 and the stack already in use
        details = f"nesting depth {depth} is more than the server reads"
    return _refused(None, PARSE_ERROR, "Parse error", ValidationError(TOO_DEEP, details))


def _decoded(line: str) -> Any:
    """The line's JSON value.  Numbers are not read as numbers need to be: only ids, methods and
    the message's shape are looked at, so an integer past Python's digit limit must not make
    valid JSON unreadable here."""
    return json.loads(line, parse_int=_integer, parse_constant=_no_constant)


def _unparsed_line(failure: Exception) -> tuple[str, str] | None:
    """The line the SDK's parser refused as JSON and the parser's reason; pydantic's
    ``json_invalid`` error holds the whole input.  None for any other failure."""
    if isinstance(failure, PydanticValidationError):
        for error in failure.errors(include_url=False):
            line = error.get("input")
            if error["type"] == "json_invalid" and isinstance(line, str):
                return line, str(error.get("ctx", {}).get("error", ""))
    return None


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:  # more digits than int() reads from text
        return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _request_id(message: Any) -> int | str | None:
    """The id to answer: a request's (an object with a string ``method``) string or integer id."""
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return None
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    return request_id


def _refused(
    request_id: int | str | None, code: int, kind: str, error: ValidationError
) -> JSONRPCError:
    """Worded as ``/mcp`` words a refusal: ``data`` is the REST error object."""
    data = ErrorData(code=code, message=f"{kind}: {error.message}", data=error.to_dict())
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=data)


NOT_UTF8 = "Line is not UTF-8: send each JSON-RPC message as one line of UTF-8 text"
NOT_JSON = "Parse error: the line is not JSON"
NOT_UTF8_JSON = "Parse error: the line is not UTF-8 JSON"


class Refusal(NamedTuple):
    """What the screen does with a line the SDK is not given."""

    answer: JSONRPCError | None  # None: skipped without an answer (a blank line)
    kind: str  # what was wrong, for the debug log, which never holds the line


def screen(line: str, max_depth: int) -> Refusal | None:
    """None for a line the SDK may be given: one JSON-RPC message of UTF-8 JSON.  Otherwise the
    answer ``/mcp`` gives that body, quoting none of it: ``-32700`` for text that is not JSON
    (or nested past ``max_depth``), ``-32600`` with ``mcp_envelope``'s message for JSON that is
    not one JSON-RPC message, ``-32600`` for a request that is not UTF-8.

    The id is the line's when it is a request (an object with a string ``method`` and a string
    or integer ``id``), even one that breaks another rule (``"jsonrpc": "1.0"``, ``params`` not
    an object): the client waits for that id, and over stdio only an answer with it ends the
    wait (``/mcp`` answers with id null, since its HTTP response ends the wait).
    """
    if not line.strip():
        return Refusal(None, "EmptyLine")
    depth = nesting_depth(line)
    if depth > max_depth:
        return Refusal(_too_deep(depth, max_depth), "TooDeep")
    utf8 = _is_utf8(line)
    try:
        message = _decoded(line)
    except RecursionError:
        return Refusal(_too_deep(depth, max_depth), "TooDeep")
    except ValueError:
        return Refusal(_plain(None, PARSE_ERROR, NOT_JSON if utf8 else NOT_UTF8_JSON), "NotJSON")
    request_id = _request_id(message)
    if not utf8:
        if request_id is None:
            return Refusal(_plain(None, PARSE_ERROR, NOT_UTF8_JSON), "NotUTF8")
        return Refusal(_plain(request_id, INVALID_REQUEST, NOT_UTF8), "NotUTF8")
    problem = message_error(message)
    if problem is None:
        return None
    # A bad id (BAD_ID) is no id to answer with: _request_id gives None for it.
    return Refusal(_plain(request_id, INVALID_REQUEST, problem), "NotOneMessage")


def _is_utf8(line: str) -> bool:
    """False when ``surrogateescape`` kept bytes that are not UTF-8 (as lone surrogates)."""
    try:
        line.encode()
    except UnicodeEncodeError:
        return False
    return True


def _plain(request_id: int | str | None, code: int, message: str) -> JSONRPCError:
    """Worded as ``/mcp`` words a body it refuses before the SDK: a message, no ``data``."""
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


class LineTooLong(NamedTuple):
    """A line longer than ``MAX_BODY_BYTES``, read no further than the limit and then skipped
    up to its line feed; ``head``, its first bytes (at most ``_HEAD_BYTES``), may name the
    request's id."""

    head: bytes
    limit: int


# Bytes of an over-long line kept to find its request id in: a client writes ``jsonrpc``, ``id``
# and ``method`` before ``params`` (the SDK clients' field order).
_HEAD_BYTES = 4096


def too_long(line: LineTooLong) -> JSONRPCError:
    """The answer to a line over ``MAX_BODY_BYTES``: ``/mcp``'s to a body over it (its 413),
    ``-32600`` with the REST error object in ``data``, and the request's id when the line's
    first bytes name it (only an answer with that id ends the client's wait)."""
    # Worded as read_body's refusal, so a client sees one answer on both transports.
    error = RequestTooLargeError(
        "Request body too large", f"Maximum allowed size is {line.limit} bytes"
    )
    answer = orjson.loads(mcp_refusal(error))
    data = ErrorData.model_validate(answer["error"])
    return JSONRPCError(jsonrpc="2.0", id=leading_request_id(line.head), error=data)


_MEMBERS = json.JSONDecoder(parse_int=_integer, parse_constant=_no_constant)


def leading_request_id(head: bytes) -> int | str | None:
    """The request id :func:`_request_id` finds among the members of a JSON object that are
    whole in ``head``, the start of a line too long to read: None unless ``id`` and ``method``
    come before the first member cut off."""
    text = head.decode("utf-8", "replace")  # only a character cut at the end is replaced
    index = _after_blanks(text, 0)
    if not text.startswith("{", index):
        return None
    members: dict[str, Any] = {}
    index += 1
    with contextlib.suppress(ValueError, RecursionError):
        while True:
            key, index = _MEMBERS.raw_decode(text, _after_blanks(text, index))
            index = _after_blanks(text, index)
            if not isinstance(key, str) or not text.startswith(":", index):
                break
            members[key], index = _MEMBERS.raw_decode(text, _after_blanks(text, index + 1))
            index = _after_blanks(text, index)
            if not text.startswith(",", index):
                break
            index += 1
    return _request_id(members)


def _after_blanks(text: str, index: int) -> int:
    """The index of the first character at or after ``index`` that is not JSON whitespace."""
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index


class StoppableLines:
    """Lines of a file descriptor (a pipe, a terminal, a file), decoded as UTF-8 that keeps bytes
    which are not (as lone surrogates), that a :meth:`stop` from another thread ends as if at
    EOF.  A blocking read in a worker thread cannot be cancelled, so Ctrl-C waited for the
    client's next line; this reader waits for either (``select``) and so can be told to stop.

    A line longer than ``max_bytes`` (its line feed not counted) is :class:`LineTooLong`: it is
    never held whole, or one line could take all the memory there is (``/mcp`` reads no more
    than ``MAX_BODY_BYTES`` of a body either)."""

    def __init__(self, fd: int, max_bytes: int) -> None:
        self._fd = fd
        self._max_bytes = max_bytes
        self._wake, self._waker = os.pipe()
        self._buffer = bytearray()
        self._searched = 0  # bytes of the buffer known to hold no line feed
        self._eof = False

    def stop(self) -> None:
        """Make the pending and every later :meth:`readline` return ``""``."""
        with contextlib.suppress(OSError):
            os.write(self._waker, b"\0")

    def readline(self) -> str | LineTooLong:
        """The next line with its line feed (the last one may have none), ``""`` at the end."""
        buffer = self._buffer
        while (end := buffer.find(b"\n", self._searched)) < 0 and not self._eof:
            if self._too_long(len(buffer)):
                return self._skip_line()
            self._searched = len(buffer)
            if not self._read():
                return ""
        length = end if end >= 0 else len(buffer)
        if self._too_long(length):
            head = bytes(buffer[:_HEAD_BYTES])
            del buffer[: length + 1]
            self._searched = 0
            return LineTooLong(head, self._max_bytes)
        cut = end + 1 if end >= 0 else len(buffer)
        line = bytes(buffer[:cut])
        del buffer[:cut]
        self._searched = 0
        return line.decode("utf-8", "surrogateescape")

    def _too_long(self, length: int) -> bool:
        return length > self._max_bytes

    def _read(self) -> bool:
        """Add the next chunk to the buffer (none at EOF); False once :meth:`stop` was called."""
        ready, _, _ = select.select([self._fd, self._wake], [], [])
        if self._wake in ready:
            return False
        chunk = os.read(self._fd, _READ_BYTES)
        self._eof = not chunk
        self._buffer += chunk
        return True

    def _skip_line(self) -> LineTooLong | str:
        """Drop the over-long line whose start is buffered, reading on to its line feed a chunk
        at a time; ``""`` if stopped before then."""
        buffer = self._buffer
        head = bytes(buffer[:_HEAD_BYTES])
        del buffer[:]
        while (end := buffer.find(b"\n")) < 0 and not self._eof:
            del buffer[:]
            if not self._read():
                return ""
        del buffer[: end + 1 if end >= 0 else len(buffer)]
        self._searched = 0
        return LineTooLong(head, self._max_bytes)


class ScreenedInput:
    """The client's lines as the SDK reads them, less those :func:`screen` refuses: each of
    those is handed to ``refused``, run on the event loop (``anyio.from_thread.run``), before
    the next line is read.  Read through ``anyio.wrap_file``, whose ``readline`` and line
    iteration call :meth:`readline` in a worker thread."""

    def __init__(
        self,
        wire: StoppableLines,
        max_depth: int,
        refused: Callable[[Refusal], Coroutine[Any, Any, None]],
    ) -> None:
        self._wire = wire
        self._max_depth = max_depth
        self._refused = refused

    def readline(self) -> str:
        """The next line the SDK may read, or ``""`` at EOF (or once stopped)."""
        while True:
            line = self._wire.readline()
            if isinstance(line, LineTooLong):
                anyio.from_thread.run(self._refused, Refusal(too_long(line), "TooLong"))
                continue
            if not line:
                return line
            refusal = screen(line, self._max_depth)
            if refusal is None:
                return line
            anyio.from_thread.run(self._refused, refusal)


async def relay_inbound(
    source: AsyncIterable[SessionMessage | Exception],
    server_side: ObjectSendStream[SessionMessage | Exception],
    in_flight: InFlight,
    grace: float,
    replies: ObjectSendStream[SessionMessage],
    max_depth: int,
) -> None:
    """Pass client messages to the server; at EOF close its read side once all are answered.

    ``replies`` carries the answers to lines the SDK refused (:func:`refusal`) to stdout.
    """
    async with server_side, replies:
        async for item in source:
            if isinstance(item, Exception):
                await _refuse(item, replies, in_flight, max_depth)
                continue
            if isinstance(item, SessionMessage):
                message = item.message
                if isinstance(message, JSONRPCRequest):
                    in_flight.add(message.id)
                elif (
                    isinstance(message, JSONRPCNotification)
                    and message.method == "notifications/cancelled"
                ):
                    # The SDK never answers a request the client cancelled.
                    cancelled = cancelled_request_id_from_params(message.params)
                    if cancelled is not None:
                        in_flight.discard(cancelled)
            await server_side.send(item)
        with anyio.move_on_after(grace) as waiting:
            await in_flight.wait_drained()
        if waiting.cancelled_caught:
            # Closing now makes the SDK cancel them and answer each with "Connection closed".
            log.warning(
                "stdin closed; requests still unanswered after the grace period",
                extra={"requests": len(in_flight), "grace_s": grace},
            )


async def _refuse(
    failure: Exception,
    replies: ObjectSendStream[SessionMessage],
    in_flight: InFlight,
    max_depth: int,
) -> None:
    """Answer a line the SDK could not read, or skip it; logs name the error type only, since
    the line is the client's input."""
    await answer_refusal(
        Refusal(refusal(failure, max_depth), type(failure).__name__), replies, in_flight
    )


async def answer_refusal(
    refused: Refusal, replies: ObjectSendStream[SessionMessage], in_flight: InFlight
) -> None:
    """Answer a line the server is not given, or skip it; logs name what was wrong only,
    since the line is the client's input."""
    answer = refused.answer
    if answer is None:
        log.debug("skipped a line that is not a JSON-RPC message", extra={"error": refused.kind})
        return
    log.debug(
        "answered a line the MCP SDK could not read",
        extra={"error": refused.kind, "code": answer.error.code},
    )
    if answer.id is not None:
        in_flight.add(answer.id)  # the outbound relay forgets it once the answer is written
    await replies.send(SessionMessage(answer))


async def relay_outbound(
    server_side: ObjectReceiveStream[SessionMessage],
    sink: Sink,
    in_flight: InFlight,
) -> None:
    """Pass server messages to stdout's writer, forgetting each answered request."""
    try:
        async with server_side:
            async for item in server_side:
                await sink.send(item)
                message = item.message
                if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
                    in_flight.discard(message.id)
    finally:
        # The writer drains what it was handed, and stdio_server waits for it, before exit.
        await sink.aclose()


@contextlib.contextmanager
def claimed_stdin(max_line_bytes: int) -> Iterator[StoppableLines | None]:
    """The client's input as lines that keep bytes that are not UTF-8 (as lone surrogates), read
    from a private duplicate of fd 0 while fd 0 itself points at the null device, so nothing a
    tool runs can read the client's input (as ``stdio_server`` does for the stdin it opens).
    Started with fd 0 closed (``devutils mcp <&-``), there is no input: the null device, read as
    a stdin at EOF, so the server exits 0 at once (the SDK would read ``sys.stdin``, None).
    None when ``sys.stdin`` is not fd 0 (replaced in-process): ``stdio_server`` then decides."""
    try:
        if sys.stdin is None:
            wire = os.open(os.devnull, os.O_RDONLY)
        else:
            wire = os.dup(0) if sys.stdin.fileno() == 0 else -1
    except (OSError, ValueError):
        wire = -1
    if wire < 0:
        yield None
        return
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        yield StoppableLines(wire, max_line_bytes)
    finally:
        os.dup2(wire, 0)


async def serve_stdio(
    server: Server[Any], grace: float, max_depth: int, max_line_bytes: int
) -> None:
    """Serve one client on stdin/stdout until EOF and every answer is written.

    ``grace``: how long after EOF requests may still run before the server gives up on them;
    ``max_depth``: ``MAX_JSON_DEPTH``, the deepest line read to answer one the SDK refused;
    ``max_line_bytes``: ``MAX_BODY_BYTES``, the longest line read.
    """
    in_flight = InFlight()
    with claimed_stdin(max_line_bytes) as wire:
        await _serve(server, grace, max_depth, wire, in_flight)


async def _serve(
    server: Server[Any],
    grace: float,
    max_depth: int,
    wire: StoppableLines | None,
    in_flight: InFlight,
) -> None:
    to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception]()
    server_writes, from_server = anyio.create_memory_object_stream[SessionMessage]()
    # The answers to refused lines share the server's way out; stdout ends when both close.  The
    # screen's last answer is sent before the SDK reads EOF, so before the relay closes this.
    replies = server_writes.clone()

    async def refused(refusal: Refusal) -> None:
        await answer_refusal(refusal, replies, in_flight)

    # Without a claimed wire the SDK opens stdin itself, unscreened.
    screened = None
    if wire is not None:
        # Read as a text file: wrap_file calls its readline, which is all the SDK reads.
        screened = anyio.wrap_file(cast(IO[str], ScreenedInput(wire, max_depth, refused)))
    async with stdio_server(stdin=screened) as (stdin, stdout), anyio.create_task_group() as tasks:
        tasks.start_soon(relay_inbound, stdin, to_server, in_flight, grace, replies, max_depth)
        tasks.start_soon(relay_outbound, from_server, stdout, in_flight)
        try:
            await server.run(server_reads, server_writes, server.create_initialization_options())
        finally:
            if wire is not None:
                # Cancelled (Ctrl-C): the SDK's reader, in a thread, sees EOF and lets the
                # task group end.  After a normal end the wire is at EOF already.
                wire.stop()
