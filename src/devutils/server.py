"""``devutils serve``: bind, then serve on our HTTP server in one process or N workers.

On SIGTERM or SIGINT: readiness turns 503 at once, the listener stays open for
``SHUTDOWN_DRAIN_DELAY`` seconds so load balancers notice, then it closes, in-flight requests get
up to ``SHUTDOWN_TIMEOUT`` seconds to finish, and the process exits 0 (with workers: each worker
drains so, and the supervisor exits 0 once they all have).

Nothing here imports the application at module level: the supervisor imports this module and
must never load the application (its workers are fresh interpreters that load it only after
``devutils.workers.in_worker`` ran).
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import signal
import socket

from devutils.http.server import STOP_SIGNALS
from devutils.http.server.limits import ServerLimits
from devutils.settings import Settings, SettingsError
from devutils.workers import cpu_limit

log = logging.getLogger("devutils.server")

LOOPBACK_NAMES = frozenset(("localhost", "localhost.localdomain"))


def serve(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> int:
    from devutils.observability.logging import configure_logging

    configure_logging(settings)
    if settings.server_tls_enabled:
        log.warning(
            "SERVER_TLS_ENABLED is set: TLS is terminated by the ingress, serving plain HTTP"
        )
    count = workers or settings.server_workers or cpu_limit()
    host = host or settings.server_host
    # From the moment the port listens, connections queue on it: a stop that comes before the
    # process can drain (it imports and builds the application, or starts its workers) must
    # stay pending until it can, not kill it by the default action and reset them.  Unblocked
    # once the handlers are in place: runner.serve (one process), Supervisor.run (workers,
    # once the first is started).
    # A start-up that fails instead exits with these still blocked: nothing waits on them.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    sock = bind(host, settings.server_port if port is None else port)
    _announce(settings, host, int(sock.getsockname()[1]), count)
    if count == 1:
        return run_app(settings, sock)
    from devutils.http.server.supervisor import Supervisor

    return Supervisor(settings, sock, count).run()


def run_app(settings: Settings, sock: socket.socket, parent_pid: int | None = None) -> int:
    """Build the application and serve it on ``sock`` in this process until stopped."""
    from devutils.http.app import create_app
    from devutils.http.server.runner import run
    from devutils.observability.logging import configure_logging

    configure_logging(settings)
    app = create_app(settings)

    def drain() -> None:
        app.health.draining = True

    return run(app, sock, ServerLimits.from_settings(settings), drain, parent_pid)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket; an address we cannot listen on is a configuration error (exit 78,
    one line naming the address): the fix is another SERVER_PORT or SERVER_HOST, not a bug."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        shown = f"[{host}]" if ":" in host else host
        raise SettingsError(f"cannot listen on {shown}:{port}: {_bind_problem(exc, port)}") from exc


def _bind_problem(exc: OSError, port: int) -> str:
    code = exc.errno or 0
    # create_server re-raises a failed name look-up as a plain OSError with the (negative) EAI_*
    # code, and appends the address to every message: describe by the code instead.
    if isinstance(exc, socket.gaierror) or code < 0:
        return "cannot resolve the host name (set SERVER_HOST or --host)"
    if code == errno.EADDRINUSE:
        return "address already in use (set SERVER_PORT or --port)"
    if code == errno.EACCES and port < 1024:
        return "permission denied: ports below 1024 need privileges (set SERVER_PORT or --port)"
    if code == errno.EADDRNOTAVAIL:
        return "address not available on this host (set SERVER_HOST or --host)"
    reason = os.strerror(code).lower() if code else str(exc)
    return f"{reason} (check SERVER_HOST and SERVER_PORT, or --host and --port)"


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _announce(settings: Settings, host: str, port: int, count: int) -> None:
    """One start-up line: the address, the worker count, the auth mode and who can reach it.

    WARNING when the address is reachable beyond loopback and authentication is off.
    """
    shown = f"[{host}]" if ":" in host else host
    plural = "worker" if count == 1 else "workers"
    url = f"http://{shown}:{port}"
    auth = settings.auth_method
    head = f"listening on {url} ({count} {plural}); AUTH_METHOD={auth}"
    extra = {"listen": url, "exposed": not is_loopback(host)}
    if is_loopback(host):
        log.info(f"{head}; loopback only", extra=extra)
    elif auth == "none":
        log.warning(
            f"{head}; reachable beyond loopback WITHOUT authentication: anyone who can reach "
            "this port can call every tool (set AUTH_METHOD, or bind --host 127.0.0.1)",
            extra=extra,
        )
    else:
        log.info(f"{head}; reachable beyond loopback, authentication required", extra=extra)
