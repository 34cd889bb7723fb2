"""The server's limits and timeouts (docs/operations.md, "Server limits")."""

from __future__ import annotations

from dataclasses import dataclass

from devutils.settings import Settings


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_connections: int = 1000
    max_header_bytes: int = 64 * 1024
    max_header_count: int = 100
    max_url_bytes: int = 8 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    send_timeout: float = 30.0
    keepalive_timeout: float = 5.0
    drain_delay: float = 0.0
    shutdown_timeout: float = 30.0
    # Request body bytes buffered for the application before the server stops reading the socket.
    body_buffer_bytes: int = 64 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        return cls(
            max_connections=settings.server_max_connections,
            max_header_bytes=settings.server_max_header_bytes,
            max_header_count=settings.server_max_header_count,
            max_url_bytes=settings.server_max_url_bytes,
            header_timeout=settings.server_header_timeout,
            body_timeout=settings.server_body_timeout,
            send_timeout=settings.server_send_timeout,
            keepalive_timeout=settings.server_keepalive_timeout,
            drain_delay=settings.shutdown_drain_delay,
            shutdown_timeout=settings.shutdown_timeout,
        )
