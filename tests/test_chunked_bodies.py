"""Bodies without Content-Length (chunked transfer encoding) are read whole and still limited."""

from __future__ import annotations

import hashlib
import socket
import time

import httpx
import orjson
import pytest

from tests.support import ServerProcess, run_server


def _chunked_post(port: int, path: str, chunks: list[bytes]) -> tuple[int, bytes]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in chunks:  # one send per chunk, so the server sees several body messages
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
        data = b""
        while part := sock.recv(65536):
            data += part
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def test_chunked_body_is_read_whole_and_over_limit_is_refused() -> None:
    content = "x" * 3000
    body = orjson.dumps({"content": content, "algorithm": "sha256"})
    pieces = [body[:10], body[10:1500], body[1500:]]
    with run_server({"MAX_BODY_BYTES": "4096"}) as server:
        status, payload = _chunked_post(server.port, "/api/v1/crypto/hash", pieces)
        assert status == 200
        expected = hashlib.sha256(content.encode()).hexdigest()
        assert orjson.loads(payload)["data"]["hash"] == expected

        big = orjson.dumps({"content": "y" * 5000, "algorithm": "sha256"})
        status, payload = _chunked_post(
            server.port, "/api/v1/crypto/hash", [big[:3000], big[3000:]]
        )
        assert status == 413
        assert orjson.loads(payload)["error"]["code"] == "REQUEST_TOO_LARGE"


def test_a_malformed_chunked_body_is_a_400_envelope_and_no_application_error() -> None:
    head = (
        b"POST /api/v1/crypto/hash HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with run_server() as server:
        for bad in (b"ZZ\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(head + bad)
                data = b""
                while part := sock.recv(65536):
                    data += part
            status_line, _, rest = data.partition(b"\r\n")
            assert status_line == b"HTTP/1.1 400 Bad Request", data
            envelope = orjson.loads(rest.partition(b"\r\n\r\n")[2])
            assert envelope == {
                "success": False,
                "error": {"code": "VALIDATION_ERROR", "message": "Malformed HTTP request"},
            }
        logs = server.logs()
    assert '"level":"ERROR"' not in logs
    assert "the application raised" not in logs


def test_a_body_cut_short_by_a_malformed_chunk_is_never_acted_on() -> None:
    # A whole JSON object arrives as the first chunk, then a chunk the parser refuses: the tool
    # must not run on the part that came (the client got the server's 400, not its answer).
    head = (
        b"POST /api/v1/crypto/hash HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: cut-short\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    first = orjson.dumps({"content": "x", "algorithm": "sha256"})
    with run_server() as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head + b"%x\r\n%s\r\n" % (len(first), first))
            time.sleep(0.3)  # the application is now waiting for the rest of the body
            sock.sendall(b"ZZ\r\nabc\r\n0\r\n\r\n")
            data = b""
            while part := sock.recv(65536):
                data += part
        assert data.startswith(b"HTTP/1.1 400 Bad Request"), data
        assert b"\r\nx-request-id: cut-short\r\n" in data  # the answer matches its log line
        lines = access_lines(server, "/api/v1/crypto/hash")
        metrics = httpx.get(server.base + "/metrics").text
    # Recorded as the server's answer (400, malformed request), not as a hash computed (200), a
    # client that left (499) or a 400 of the tool's own about truncated JSON.
    assert [(e["status"], e["error_code"], e["request_id"]) for e in lines] == [
        (400, "VALIDATION_ERROR", "cut-short")
    ]
    assert 'route="/api/v1/crypto/hash",status_code="400"} 1.0' in metrics


def test_a_body_timeout_is_recorded_as_the_408_the_client_got() -> None:
    head = (
        b"POST /api/v1/crypto/hash HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: too-slow\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    with run_server({"SERVER_BODY_TIMEOUT": "1"}) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head)
            data = b""
            while part := sock.recv(65536):
                data += part
        assert data.startswith(b"HTTP/1.1 408 Request Timeout"), data
        assert b"\r\nx-request-id: too-slow\r\n" in data
        lines = access_lines(server, "/api/v1/crypto/hash")
        metrics = httpx.get(server.base + "/metrics").text
    assert [(e["status"], e["error_code"]) for e in lines] == [(408, "REQUEST_TIMEOUT")]
    assert 'route="/api/v1/crypto/hash",status_code="408"} 1.0' in metrics


def access_lines(server: ServerProcess, route: str) -> list[dict[str, object]]:
    """The access-log lines of ``route``, once the first has been written."""
    return log_lines(server, route=route, msg="request")


def log_lines(server: ServerProcess, **fields: object) -> list[dict[str, object]]:
    """The JSON log lines with these field values, once the first has been written."""
    deadline = time.monotonic() + 10
    lines: list[dict[str, object]] = []
    while not lines and time.monotonic() < deadline:
        time.sleep(0.1)
        entries = [orjson.loads(line) for line in server.logs().splitlines() if line[:1] == "{"]
        lines = [e for e in entries if all(e.get(k) == v for k, v in fields.items())]
    return lines


def test_an_mcp_body_the_client_abandons_is_a_499_on_the_sdks_path_too() -> None:
    # With rate limits off, a request that is not a direct-path candidate (here: a repeated
    # header) is the SDK's alone; its body ending early must still be the client's leaving
    # (499), not an unhandled error (500) in the logs and metrics.
    head = (
        b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n"
        b"X-Dup: 1\r\nX-Dup: 2\r\nX-Request-ID: abandoned-mcp\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with run_server({"RATE_LIMIT_ENABLED": "false"}) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head + b'5\r\n{"jso\r\n')
            time.sleep(0.3)  # the body is being read
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        lines = log_lines(server, request_id="abandoned-mcp")
    assert [(entry.get("status"), entry["level"]) for entry in lines] == [(499, "WARNING")], lines


# Request bodies the server refuses itself while the application reads them, and its answer.
REFUSED_BODIES = {
    "bad-chunk-size": (b"zz\r\n", 400),
    "bad-chunk-extension": (b"1;\x01\r\na\r\n0\r\n\r\n", 400),
    "too-many-trailer-fields": (b"0\r\n" + b"t: 1\r\n" * 101 + b"\r\n", 431),
}


def _refused_exchange(port: int, sends: list[bytes]) -> bytes:
    """The server's whole answer to ``sends``, the later ones once the application reads."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for number, data in enumerate(sends):
            if number:
                time.sleep(0.3)  # the application is now waiting for the body
            sock.sendall(data)
        answer = b""
        while part := sock.recv(65536):
            answer += part
    return answer


@pytest.mark.parametrize("what", REFUSED_BODIES, ids=REFUSED_BODIES.keys())
def test_the_servers_own_answer_carries_the_request_id_of_its_access_line(what: str) -> None:
    """However the bytes arrive: a bad chunk in the same read as the head (the application has
    not run yet, so the request has no id yet), or in a later one.  With a valid client
    X-Request-ID the answer echoes it; without one, the answer's id is the one logged."""
    body, status = REFUSED_BODIES[what]
    cases = [
        (same_read, client_id)
        for same_read in (True, False)
        for client_id in (None, f"{what}-{'one' if same_read else 'two'}-reads")
    ]
    with run_server() as server:
        for same_read, client_id in cases:
            sent_id = b"X-Request-ID: %s\r\n" % client_id.encode() if client_id else b""
            head = (
                b"POST /api/v1/crypto/hash HTTP/1.1\r\nHost: localhost\r\n%s"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % sent_id
            )
            answer = _refused_exchange(server.port, [head + body] if same_read else [head, body])
            case = (what, same_read, client_id)
            assert answer.startswith(b"HTTP/1.1 %d " % status), (case, answer)
            fields = dict(
                line.split(b": ", 1) for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]
            )
            answered_id = fields[b"x-request-id"].decode()
            if client_id is not None:
                assert answered_id == client_id, case
            lines = log_lines(server, msg="request", request_id=answered_id)
            assert [(e["route"], e["status"]) for e in lines] == [
                ("/api/v1/crypto/hash", status)
            ], case
