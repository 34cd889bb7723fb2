"""Bounded HTTP load from a few threads over keep-alive connections (http.client)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _worker(port: int, calls: list[Call]) -> Counter[int]:
    statuses: Counter[int] = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for call in calls:
        headers = {"Content-Type": "application/json", **call.headers}
        try:
            conn.request(call.method, call.path, body=call.body, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            statuses[0] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.close()
    return statuses


def send_many(port: int, call: Call, count: int, threads: int = 8) -> Counter[int]:
    """Send ``call`` ``count`` times; returns a Counter of status codes (0 = transport error)."""
    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    total: Counter[int] = Counter()
    with ThreadPoolExecutor(threads) as pool:
        for statuses in pool.map(lambda n: _worker(port, [call] * n), shares):
            total.update(statuses)
    return total


def slow_request(port: int, call: Call, seconds: float) -> int:
    """Send the headers, then the body over ``seconds``: the server's request takes that long."""
    body = call.body or b""
    head = (
        f"{call.method} {call.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in call.headers.items())
        + "\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body[:1])
        time.sleep(seconds)
        sock.sendall(body[1:])
        reply = sock.recv(64)
    return int(reply.split(b" ", 2)[1])


def slow_requests(port: int, call: Call, seconds: float, count: int) -> list[int]:
    results: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        status = slow_request(port, call, seconds)
        with lock:
            results.append(status)

    workers = [threading.Thread(target=one) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results
