"""A small keep-alive load client for when wrk is not installed: requests/s over N connections.

    python -m bench.quick_load http://127.0.0.1:8080/health --connections 32 --seconds 5

It runs in Python on the same machine as the server, so it takes CPU from it: compare servers
measured with it in the same run, never with wrk figures.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from urllib.parse import urlsplit


async def _client(host: str, port: int, path: str, until: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    done = 0
    while time.monotonic() < until:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        done += 1
    counts.append(done)
    writer.close()


async def _run(url: str, connections: int, seconds: float) -> float:
    parts = urlsplit(url)
    counts: list[int] = []
    until = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(
            _client(
                parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/", until, counts
            )
            for _ in range(connections)
        )
    )
    return sum(counts) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{asyncio.run(_run(args.url, args.connections, args.seconds)):.0f} req/s")


if __name__ == "__main__":
    main()
