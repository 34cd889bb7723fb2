"""Bodies without Content-Length (chunked transfer encoding) are read whole and still limited."""

from __future__ import annotations

import hashlib
import socket

import orjson

from tests.support import run_server


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
