"""Run the HTTP server (uvicorn, one process) with a graceful SIGTERM.

On SIGTERM or SIGINT: readiness turns 503 at once, the listener stays open for
``SHUTDOWN_DRAIN_DELAY`` seconds so load balancers notice, then it closes, in-flight requests get up
to ``SHUTDOWN_TIMEOUT`` seconds to finish, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from types import FrameType

import uvicorn

from devutils.http.app import Application, create_app
from devutils.http.server_protocol import protocol_class
from devutils.settings import Settings

log = logging.getLogger("devutils.server")


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Application) -> None:
        super().__init__(config)
        self.devutils_app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        app = self.devutils_app
        if app.health.draining or app.settings.shutdown_drain_delay <= 0:
            app.health.draining = True
            self._stop(sig, frame)
            return
        app.health.draining = True
        log.info("draining before shutdown", extra={"delay_s": app.settings.shutdown_drain_delay})
        # uvicorn's main loop ticks every 0.1 s, so a timer set from the signal handler fires.
        asyncio.get_event_loop().call_later(
            app.settings.shutdown_drain_delay, self._stop, sig, frame
        )

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn re-raises a captured signal after shutting down, so the process would die "by
        # SIGTERM"; a requested graceful stop is a success and exits 0.
        self._captured_signals.clear()


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    from devutils.observability.logging import configure_logging

    configure_logging(settings)
    if settings.server_tls_enabled:
        log.warning(
            "SERVER_TLS_ENABLED is set: TLS is terminated by the ingress, serving plain HTTP"
        )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host or settings.server_host,
        port=port or settings.server_port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=protocol_class(),  # uvicorn's httptools protocol, taking pre-rendered header lines
        lifespan="on",
        interface="asgi3",  # Application.__call__ returns an awaitable rather than being async
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,  # X-Forwarded-For is handled by us, only from TRUSTED_PROXIES
        date_header=True,  # RFC 9110 §6.6.1: an origin server with a clock must send Date
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024,
    )
    server = _Server(config, app)
    # uvicorn installs its own SIGINT/SIGTERM handlers that call handle_exit.
    server.run()
    return 0 if server.started else 1
