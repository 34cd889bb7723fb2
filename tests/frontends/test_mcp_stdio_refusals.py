"""``devutils mcp`` answers every line it cannot serve, as ``/mcp`` answers that body.

The SDK alone skipped them (or took a request with an unusable id for a notification), so a
client waited for ever for the answer.  Each test runs the real server as a subprocess, writes
raw lines, and checks the exact answers, then that a valid request after them is still served.
"""

from __future__ import annotations

import os
import select
import subprocess
import time

import orjson

from devutils.frontends.mcp_envelope import BAD_ID, BATCH, NOT_A_MESSAGE
from tests.frontends.test_mcp_stdio import REQUESTS
from tests.frontends.test_mcp_stdio import _env as env_for_stdio
from tests.support import DEVUTILS, ROOT

INITIALIZE, INITIALIZED = (orjson.dumps(message) for message in REQUESTS[:2])
PING = b'{"jsonrpc":"2.0","id":99,"method":"ping"}'  # the valid request after the refused lines
NOT_UTF8 = "Line is not UTF-8: send each JSON-RPC message as one line of UTF-8 text"


def _env() -> dict[str, str]:
    return env_for_stdio(LOG_LEVEL="debug")


def _serve(lines: list[bytes]) -> tuple[list[dict[str, object]], bytes]:
    """Every answer to ``[INITIALIZE, INITIALIZED, *lines, PING]`` then EOF, checking that the
    initialize and the ping were answered, and the server's stderr; the other answers in order."""
    script = [INITIALIZE, INITIALIZED, *lines, PING]
    done = subprocess.run(
        [*DEVUTILS, "mcp"],
        input=b"".join(line + b"\n" for line in script),
        capture_output=True,
        env=_env(),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    replies = [orjson.loads(line) for line in done.stdout.splitlines()]
    served = {reply["id"]: reply for reply in replies if reply["id"] in (1, 99)}
    assert served[1]["result"]["serverInfo"]["name"] == "dev-utilities"
    assert served[99] == {"jsonrpc": "2.0", "id": 99, "result": {}}  # still served after them
    return [reply for reply in replies if reply["id"] not in (1, 99)], done.stderr


def _errors(replies: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    """(id, code, message) of each answer, which must be an error without ``data``."""
    found = []
    for reply in replies:
        assert reply["jsonrpc"] == "2.0"
        assert set(reply) == {"jsonrpc", "id", "error"}, reply
        error = reply["error"]
        assert isinstance(error, dict)
        assert set(error) == {"code", "message"}, error  # no data: nothing of the line is quoted
        found.append((reply["id"], error["code"], error["message"]))
    return found


def test_text_that_is_not_json_is_a_parse_error_with_id_null() -> None:
    replies, stderr = _serve(
        [
            b'{"jsonrpc":"2.0","id":1,"method":"ping"',  # truncated
            b"hello SECRET",
            b'{"jsonrpc":"2.0","id":2,"method":"ping"} SECRET',  # trailing text
        ]
    )
    assert _errors(replies) == [(None, -32700, "Parse error: the line is not JSON")] * 3
    assert b"SECRET" not in stderr
    assert stderr.count(b"answered a line the MCP SDK could not read") == 3


def test_json_that_is_not_one_message_is_an_invalid_request() -> None:
    replies, stderr = _serve(
        [
            b'[{"jsonrpc":"2.0","id":9,"method":"ping"},{"jsonrpc":"2.0","id":10,"method":"ping"}]',
            b'{"jsonrpc":"2.0","id":null,"method":"ping"}',
            b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
            b'{"jsonrpc":"2.0","id":["SECRET"],"method":"ping"}',
            b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}',
            b'{"jsonrpc":"2.0","id":true,"method":"notifications/initialized"}',
            b'{"jsonrpc":"2.0","\\u0069d":null,"method":"ping"}',  # an escaped key is "id" too
            b'{"jsonrpc":"2.0","id":5,"method":5}',  # no string method: not a request
            b'{"jsonrpc":"2.0","id":6,"method":"SECRET","params":[1]}',
            b'{"jsonrpc":"1.0","id":7,"method":"ping"}',
            b'{"jsonrpc":"2.0","id":"eight","method":"ping","params":"SECRET"}',
            b'"SECRET"',
        ]
    )
    assert _errors(replies) == [
        (None, -32600, BATCH),
        *[(None, -32600, BAD_ID)] * 6,
        (None, -32600, NOT_A_MESSAGE),
        # A request's own id, so that the client's wait for it ends.
        (6, -32600, NOT_A_MESSAGE),
        (7, -32600, NOT_A_MESSAGE),
        ("eight", -32600, NOT_A_MESSAGE),
        (None, -32600, NOT_A_MESSAGE),
    ]
    assert b"SECRET" not in stderr


def test_a_line_that_is_not_utf8_is_refused_with_the_request_id() -> None:
    request = b'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"caf\xe9"}}'
    replies, stderr = _serve(
        [
            request,
            b'{"jsonrpc":"2.0","method":"notifications/caf\xe9"}',  # no id to answer with
            request.replace(b"11", b"[11]"),  # nor here
            request[:-1],  # not JSON
        ]
    )
    assert _errors(replies) == [
        (11, -32600, NOT_UTF8),
        *[(None, -32700, "Parse error: the line is not UTF-8 JSON")] * 3,
    ]
    assert b"caf" not in stderr


def test_empty_lines_are_skipped_without_an_answer() -> None:
    """The SDK skips a blank line (its parser refuses it and the server answers nothing): kept."""
    replies, stderr = _serve([b"", b"   \t", b"\r"])
    assert replies == []
    assert stderr.count(b"skipped a line that is not a JSON-RPC message") == 3


def _readline(stdout: int, deadline: float) -> bytes:
    """One line from the server's stdout, failing rather than waiting past ``deadline``."""
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no answer in time; got {line!r}"
        chunk = os.read(stdout, 1)
        assert chunk, "stdout closed"
        line += chunk
    return line


def test_a_client_that_keeps_stdin_open_gets_the_answer() -> None:
    """The answer comes while the client waits, not at EOF: a real client never closes stdin."""
    proc = subprocess.Popen(
        [*DEVUTILS, "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        deadline = time.monotonic() + 60
        proc.stdin.write(INITIALIZE + b"\n" + INITIALIZED + b"\n")
        proc.stdin.flush()
        assert orjson.loads(_readline(proc.stdout.fileno(), deadline))["id"] == 1
        proc.stdin.write(b'{"jsonrpc":"1.0","id":7,"method":"ping"}\n')
        proc.stdin.flush()
        refused = orjson.loads(_readline(proc.stdout.fileno(), deadline))
        proc.stdin.write(PING + b"\n")
        proc.stdin.flush()
        served = orjson.loads(_readline(proc.stdout.fileno(), deadline))
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert refused == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32600, "message": NOT_A_MESSAGE},
    }
    assert served == {"jsonrpc": "2.0", "id": 99, "result": {}}
