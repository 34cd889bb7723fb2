"""``devutils mcp`` as a real subprocess: the SDK client over stdio, and the raw wire."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import orjson
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCNotification, JSONRPCRequest

from devutils.frontends.mcp_envelope import BAD_ID
from devutils.frontends.mcp_stdio import InFlight, relay_inbound
from devutils.registry import catalogue
from tests.frontends.mcp_support import MODES, modern_call, structured, tool_error
from tests.support import DEVUTILS, ROOT

# Only what the server needs: stdio_client merges this over a minimal default environment.
BASE_ENV = {"SECRETS_MOUNT_PATH": "/nonexistent", "LOG_LEVEL": "info"}


def _params(**env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "devutils", "mcp"], env={**BASE_ENV, **env}
    )


@pytest.mark.parametrize("mode", MODES)
async def test_sdk_client_over_stdio(mode: str) -> None:
    async with Client(_params(), mode=mode) as mcp:
        listed = (await mcp.list_tools()).tools
        ok = await mcp.call_tool(
            "crypto_hmac", {"content": "abc", "key": "k", "algorithm": "sha256"}
        )
        bad = await mcp.call_tool("crypto_hmac", {"content": "abc", "algorithm": "sha256"})
        misspelled = await mcp.call_tool(
            "crypto_hmac", {"content": "abc", "secret": "k", "algorithm": "sha256"}
        )
    # Sorted: the registration order follows import order, which differs between this test
    # process (whichever test modules ran first) and the server's.
    assert sorted(tool.name for tool in listed) == sorted(spec.name for spec in catalogue())
    assert structured(ok) == {
        "hmac": "342e519ce0ad6c03a36b98eeb3f1d130db4813b9df4d1160eda488d712dc78ee",
        "algorithm": "sha256",
    }
    error = tool_error(bad)
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == 'field "key" is required'
    error = tool_error(misspelled)
    assert error["message"] == 'unknown field "secret"; did you mean "key"?'
    assert error["details"] == (
        'field "key" is required; allowed fields: '
        "content, key, algorithm, inputEncoding, keyEncoding, outputFormat"
    )


async def test_toolsets_apply_over_stdio() -> None:
    async with Client(_params(MCP_TOOLSETS="crypto", MCP_DISABLED_TOOLS="crypto_hmac")) as mcp:
        names = [tool.name for tool in (await mcp.list_tools()).tools]
    expected = [s.name for s in catalogue() if s.family == "crypto" and s.name != "crypto_hmac"]
    assert names == expected


def _env(**env: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_", "LOG_"))}
    return {**inherited, **BASE_ENV, **env}


REQUESTS: list[dict[str, object]] = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "crypto_hash", "arguments": {"content": "abc", "algorithm": "md5"}},
    },
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "nope"}},
]


def test_stdout_carries_protocol_only_and_eof_exits_zero() -> None:
    """Like a real client: send, read every answer, then close stdin and expect exit code 0."""
    proc = subprocess.Popen(
        [*DEVUTILS, "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(LOG_LEVEL="debug"),
        cwd=ROOT,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        for message in REQUESTS:
            proc.stdin.write(orjson.dumps(message) + b"\n")
        proc.stdin.flush()
        # Every line on stdout must be a protocol message; three requests expect three replies.
        replies = [orjson.loads(proc.stdout.readline()) for _ in range(3)]
        proc.stdin.close()
        stdout_rest = proc.stdout.read()  # returns at EOF, when the server exits
        stderr = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr.decode()
    assert stdout_rest == b""
    assert [reply["jsonrpc"] for reply in replies] == ["2.0"] * 3
    by_id = {reply["id"]: reply for reply in replies}
    assert by_id[1]["result"]["serverInfo"]["name"] == "dev-utilities"
    assert by_id[2]["result"]["structuredContent"] == {
        "hash": "900150983cd24fb0d6963f7d28e17f72",
        "algorithm": "md5",
    }
    assert by_id[3]["error"]["code"] == -32602
    # Logs exist, and went to stderr as JSON lines.
    logs = [orjson.loads(line) for line in stderr.splitlines()]
    assert any(entry["msg"] == "serving MCP over stdio" for entry in logs)


def test_lines_are_logged_at_debug_without_their_text() -> None:
    """A refused line is answered and an empty one skipped (tests/frontends/
    test_mcp_stdio_refusals.py has the answers); debug logs say which, never with the line."""
    lines = [b'[{"jsonrpc":"2.0","id":9,"method":"SECRET"}]', b"", b"not json SECRET"]
    done = subprocess.run(
        [*DEVUTILS, "mcp"],
        input=b"".join(line + b"\n" for line in lines),
        capture_output=True,
        env=_env(LOG_LEVEL="debug"),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    codes = [orjson.loads(line)["error"]["code"] for line in done.stdout.splitlines()]
    assert codes == [-32600, -32700]
    logs = [orjson.loads(line) for line in done.stderr.splitlines()]
    answered = [entry for entry in logs if entry["msg"].startswith("answered a line")]
    assert [(entry["level"], entry["code"]) for entry in answered] == [
        ("DEBUG", -32600),
        ("DEBUG", -32700),
    ]
    assert [entry["error"] for entry in answered] == ["NotOneMessage", "NotJSON"]
    skipped = [entry for entry in logs if entry["msg"].startswith("skipped a line")]
    assert [entry["level"] for entry in skipped] == ["DEBUG"]  # the empty line
    assert b"SECRET" not in done.stderr


def test_a_line_that_is_not_utf8_is_refused_not_answered_on_altered_text() -> None:
    """Bytes that are not UTF-8 were decoded as U+FFFD and the call answered on that other text
    (a hash of "caf\ufffd"); the line is now refused, with the request's id."""
    call = {
        "jsonrpc": "2.0",
        "method": "tools/call",
        "params": {
            "name": "crypto_hash",
            "arguments": {"content": "caf\u00e9", "algorithm": "md5"},
        },
    }
    good = orjson.dumps({**call, "id": 12})
    bad = orjson.dumps({**call, "id": 11}).replace("caf\u00e9".encode(), b"caf\xe9")
    lines = [orjson.dumps(message) for message in REQUESTS[:2]] + [bad, good]
    done = subprocess.run(
        [*DEVUTILS, "mcp"],
        input=b"".join(line + b"\n" for line in lines),
        capture_output=True,
        env=_env(LOG_LEVEL="debug"),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    replies = {reply["id"]: reply for reply in map(orjson.loads, done.stdout.splitlines())}
    assert sorted(replies) == [1, 11, 12]
    assert replies[11]["error"] == {
        "code": -32600,
        "message": "Line is not UTF-8: send each JSON-RPC message as one line of UTF-8 text",
    }
    digest = hashlib.md5("caf\u00e9".encode()).hexdigest()  # noqa: S324 - a known answer
    assert replies[12]["result"]["structuredContent"]["hash"] == digest  # only the UTF-8 call


def _nested(levels: int) -> object:
    """``levels`` lists one inside another, a marker string in the innermost one."""
    value: object = ["SECRET"]
    for _ in range(levels - 1):
        value = [value]
    return value


def _deep_call(request_id: object, levels: int = 199) -> dict[str, object]:
    """A tools/call that is valid JSON but past the SDK's parser's recursion limit (about 200
    levels; this line nests ``levels + 3`` deep)."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "id_ulid", "arguments": {"count": _nested(levels)}},
    }


def _line(message: object) -> bytes:
    # The standard library's writer: orjson refuses to write past 255 levels.
    return json.dumps(message, separators=(",", ":")).encode()


def test_json_the_sdk_cannot_read_is_answered_with_the_request_id() -> None:
    """The SDK's parser refuses valid JSON nested about 200 deep; the line was skipped, and a
    client waited forever for its answer.  Now answered with the id, or with id null when the
    line holds no request (JSON-RPC 2.0 §5.1); the line's text is never echoed."""
    deep = _line(_deep_call(21))
    lone_surrogate = _line(
        {**_deep_call(24, 1), "params": {"name": "crypto_hash", "arguments": {"content": "X"}}}
    ).replace(b'"X"', b'"\\ud800SECRET"')
    lines = [
        *(orjson.dumps(message) for message in REQUESTS[:2]),
        deep,
        _line(_deep_call("twenty-two")),
        _line({"jsonrpc": "2.0", "method": "notifications/x", "params": {"p": _nested(220)}}),
        _line(_deep_call(23, 320)),  # past MAX_JSON_DEPTH: not parsed at all
        lone_surrogate,
        deep.replace(b'"id":21', b'"id":true'),  # no usable id: refused before the SDK reads it
        orjson.dumps(REQUESTS[2]),
    ]
    done = subprocess.run(
        [*DEVUTILS, "mcp"],
        input=b"".join(line + b"\n" for line in lines),
        capture_output=True,
        env=_env(LOG_LEVEL="debug", MAX_JSON_DEPTH="300"),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    replies = [orjson.loads(line) for line in done.stdout.splitlines()]
    by_id = {reply["id"]: reply for reply in replies if reply["id"] is not None}
    assert sorted(by_id, key=str) == [1, 2, 21, 24, "twenty-two"]
    assert by_id[2]["result"]["isError"] is False  # a line after them is still served
    too_deep = {
        "code": -32600,
        "message": "Invalid Request: nested too deeply",
        "data": {
            "code": "VALIDATION_ERROR",
            "message": "nested too deeply",
            "details": "nesting depth 202: over stdio the MCP SDK reads about 200 levels, "
            "fewer than MAX_JSON_DEPTH (300)",
        },
    }
    assert by_id[21]["error"] == by_id["twenty-two"]["error"] == too_deep
    assert by_id[24]["error"]["code"] == -32600
    assert by_id[24]["error"]["data"]["message"] == "JSON the MCP SDK cannot read"
    anonymous = [reply["error"] for reply in replies if reply["id"] is None]
    assert [(error["code"], error["message"]) for error in anonymous] == [
        (-32600, "Invalid Request: nested too deeply"),
        (-32700, "Parse error: nested too deeply"),
        (-32600, BAD_ID),
    ]
    assert anonymous[1]["data"]["details"] == "nesting depth 323 exceeds MAX_JSON_DEPTH (300)"
    assert b"SECRET" not in done.stdout
    assert b"SECRET" not in done.stderr
    assert done.stderr.count(b"answered a line the MCP SDK could not read") == 6


@pytest.mark.parametrize("mode", MODES)
async def test_sdk_client_gets_an_error_for_a_call_nested_too_deeply(mode: str) -> None:
    """The official client raises the error at once instead of waiting for ever."""
    with anyio.fail_after(60):
        async with Client(_params(), mode=mode) as mcp:
            with pytest.raises(MCPError) as refused:
                await mcp.call_tool("id_ulid", {"count": _nested(199)})
            after = await mcp.call_tool("id_ulid", {})
    assert refused.value.error.code == -32600
    assert refused.value.error.message == "Invalid Request: nested too deeply"
    assert after.is_error is False


def test_bad_toolset_configuration_exits_with_a_message() -> None:
    done = subprocess.run(
        [*DEVUTILS, "mcp"],
        input=b"",
        capture_output=True,
        env=_env(MCP_TOOLSETS="nope"),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 78
    assert done.stdout == b""
    assert b"MCP_TOOLSETS" in done.stderr


def _piped_calls(modern: bool) -> tuple[bytes, set[int]]:
    """A script's worth of requests: slow password hashes (a worker pool) among quick hashes."""
    lines = [] if modern else [orjson.dumps(message) for message in REQUESTS[:2]]
    expected = set() if modern else {1}
    for request_id in range(10, 40):
        if request_id % 6 == 0:
            name, arguments = "crypto_password_hash", {"password": f"pw{request_id}"}
        else:
            name, arguments = "crypto_hash", {"content": str(request_id), "algorithm": "md5"}
        if modern:
            _, body = modern_call(name, arguments, request_id)
        else:
            body = {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": name, "arguments": arguments},
            }
        lines.append(orjson.dumps(body))
        expected.add(request_id)
    return b"".join(line + b"\n" for line in lines), expected


@pytest.mark.parametrize("modern", [False, True], ids=["handshake", "2026-07-28"])
def test_piped_requests_are_all_answered_after_eof(modern: bool) -> None:
    """``printf ... | devutils mcp``: stdin closes right after the requests, yet every request
    gets its answer on stdout before the process exits 0 (the SDK alone cancelled them)."""
    script, expected = _piped_calls(modern)
    done = subprocess.run(
        [*DEVUTILS, "mcp"],
        input=script,  # written, then stdin is closed at once
        capture_output=True,
        # The five password hashes queue for the Argon2 slots: on a loaded machine the default
        # 2 s wait for a slot can pass (503), which is not what this test is about.
        env=_env(LOG_LEVEL="warn", ARGON_QUEUE_TIMEOUT="60"),
        cwd=ROOT,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr.decode()
    replies = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert sorted(reply["id"] for reply in replies) == sorted(expected)
    for reply in replies:
        assert "error" not in reply, reply
        if reply["id"] == 1:
            continue
        result = reply["result"]
        assert result["isError"] is False, result
        if reply["id"] % 6 == 0:
            assert result["structuredContent"]["hash"].startswith("$argon2id$")
        else:
            digest = hashlib.md5(str(reply["id"]).encode()).hexdigest()  # noqa: S324 - known answer
            assert result["structuredContent"]["hash"] == digest


def _request(request_id: int) -> SessionMessage:
    return SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=request_id, method="tools/call"))


async def _relay_until_closed(
    messages: list[SessionMessage], grace: float, answer: set[int]
) -> tuple[float, list[int]]:
    """Run the inbound relay over ``messages`` then EOF, with a server that answers only the
    ``answer`` ids; the time until it closes the server's read side, and the ids it forwarded."""
    in_flight = InFlight()
    source_send, source = anyio.create_memory_object_stream[SessionMessage | Exception](10)
    server_side, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception]()
    replies, _ = anyio.create_memory_object_stream[SessionMessage](10)
    for message in messages:
        source_send.send_nowait(message)
    source_send.close()  # EOF
    forwarded: list[int] = []
    started = time.monotonic()
    with anyio.fail_after(10):  # a relay that never closes fails rather than hangs
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(relay_inbound, source, server_side, in_flight, grace, replies, 256)
            async for item in server_reads:  # ends when the relay closes the read side
                assert isinstance(item, SessionMessage)
                if isinstance(item.message, JSONRPCRequest):
                    forwarded.append(int(item.message.id))
                    if item.message.id in answer:
                        in_flight.discard(item.message.id)
    return time.monotonic() - started, forwarded


async def test_a_request_never_answered_ends_after_the_grace() -> None:
    elapsed, forwarded = await _relay_until_closed([_request(1), _request(2)], 0.5, {1})
    assert forwarded == [1, 2]
    assert 0.5 <= elapsed < 5


async def test_a_cancelled_request_is_not_waited_for() -> None:
    cancel = SessionMessage(
        JSONRPCNotification(
            jsonrpc="2.0", method="notifications/cancelled", params={"requestId": "2"}
        )
    )
    elapsed, forwarded = await _relay_until_closed([_request(1), _request(2), cancel], 30, {1})
    assert forwarded == [1, 2]
    assert elapsed < 5


def _default_sigint() -> None:
    # A background job starts with SIGINT ignored; a terminal's foreground command has it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _waits_for_input(pid: int) -> bool:
    """A thread of ``pid`` sleeps in select/poll: the reader waiting for the client's line."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        if task.name != str(pid) and (task / "wchan").read_text().startswith("poll_schedule"):
            return True
    return False


def test_ctrl_c_while_waiting_for_a_line_exits_130() -> None:
    """`devutils mcp` in a terminal, then Ctrl-C with stdin still open.  The reader thread sat in
    a read() that nothing could cancel, so the server went on until the client's next line."""
    proc = subprocess.Popen(
        [*DEVUTILS, "mcp"],
        stdin=subprocess.PIPE,  # kept open and silent, as a terminal is
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
        cwd=ROOT,
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 30
        while not _waits_for_input(proc.pid):
            assert time.monotonic() < deadline, "devutils mcp never waited for input"
            assert proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)  # stdin stays open: only the signal can end it
        assert proc.stdout is not None
        out = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()
    assert (code, out) == (130, b"")
