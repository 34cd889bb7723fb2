"""Host and Origin checks for REST and ``/mcp`` alike (DNS-rebinding and cross-site protection).

A page in a developer's browser can reach a service on their machine by name (DNS rebinding: the
page's own name resolves to 127.0.0.1, so ``Host`` carries the attacker's name) or by sending a
cross-site request (``Origin`` names the page).  Both are refused here, before authentication and
any work:

* ``Host`` must match ALLOWED_HOSTS (empty: the loopback names on any port).  A request with no
  ``Host`` or several ``Host`` headers is refused; several are 400, since proxies and the app
  could each read a different one.
* ``Origin``, when present, must match ALLOWED_ORIGINS or CORS_ALLOW_ORIGINS (origins the operator
  already lets browsers read from), or name the request's own (allowed) Host: a page this server
  served, such as the playground, calling it.  While ALLOWED_HOSTS is the loopback default, loopback origins
  (``http(s)://localhost|127.0.0.1|[::1]`` on any port) are allowed too: a browser client on the
  developer's own machine.  Requests without ``Origin`` (not a browser) pass.

Probe and scrape paths (health, metrics) are exempt: kubelets and Prometheus address pods by IP.
Refusals are 403 ``FORBIDDEN`` (a refused Host's details name ALLOWED_HOSTS; 400 ``VALIDATION_ERROR`` for several Host headers), as the REST
envelope or, on ``/mcp``, a JSON-RPC error without id.
"""

from __future__ import annotations

from collections.abc import Awaitable

from devutils.errors import ForbiddenError, ToolError, ValidationError
from devutils.http.asgi import ASGIApp, Receive, Scope, Send
from devutils.http.host_patterns import (
    HostPattern,
    OriginPattern,
    parse_host_pattern,
    parse_origin_pattern,
    split_host_port,
    without_default_port,
)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
LOOPBACK_ORIGINS = tuple(
    f"{scheme}://{host}:*" for scheme in ("http", "https") for host in LOOPBACK_HOSTS
)
EXEMPT_PATHS = frozenset(("/health", "/health/live", "/health/ready", "/metrics"))
_VERDICT_CACHE_SIZE = 1024

HOST_REFUSED = "Host header not allowed"
ORIGIN_REFUSED = "Origin header not allowed"
SEVERAL_HOSTS = "several Host headers"
SEVERAL_ORIGINS = "several Origin headers"
# The refusal's details say what to change (ALLOWED_HOSTS), never which names are configured.
HOST_HINT_DEFAULT = (
    "ALLOWED_HOSTS is not set, so only localhost, 127.0.0.1 and [::1] (any port) are served; "
    "to reach this server by another name, list it: ALLOWED_HOSTS=devbox,devbox.lan "
    "(host, host:port, *.suffix)"
)
HOST_HINT_CONFIGURED = (
    "this Host is not in ALLOWED_HOSTS; add the name clients use to reach the server"
)


class HostOriginGuard:
    """The allow-lists, compiled once; verdicts cached per (Host, Origin) pair."""

    def __init__(
        self,
        hosts: tuple[str, ...],
        origins: tuple[str, ...],
        cors_origins: tuple[str, ...] = (),
    ) -> None:
        loopback_default = not hosts
        self.host_hint = HOST_HINT_DEFAULT if loopback_default else HOST_HINT_CONFIGURED
        self.hosts: tuple[HostPattern, ...] = tuple(
            parse_host_pattern(entry) for entry in hosts or LOOPBACK_HOSTS
        )
        entries = (*origins, *cors_origins, *(LOOPBACK_ORIGINS if loopback_default else ()))
        self.origins: tuple[OriginPattern, ...] = tuple(
            parse_origin_pattern(entry) for entry in entries
        )
        self._verdicts: dict[tuple[bytes | None, bytes | None], str | None] = {}

    def host_allowed(self, host: str | None) -> bool:
        if host is None:
            return False
        name, port = split_host_port(host)
        return any(pattern.matches(name, port) for pattern in self.hosts)

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None:
            return True
        value = origin.lower().rstrip("/")
        return any(pattern.matches(value) for pattern in self.origins)

    def verdict(self, host: bytes | None, origin: bytes | None) -> str | None:
        """Why a request with these headers is refused, or None.  Clients repeat the same few
        values, and the check would otherwise cost a tenth of an MCP call."""
        key = (host, origin)
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        verdict: str | None = None
        if not self.host_allowed(host.decode("latin-1") if host is not None else None):
            verdict = HOST_REFUSED
        elif not self.origin_allowed(
            origin.decode("latin-1") if origin is not None else None
        ) and not same_origin(host, origin):
            verdict = ORIGIN_REFUSED
        if len(self._verdicts) >= _VERDICT_CACHE_SIZE:
            self._verdicts.clear()  # bounded: a client cycling through values gains nothing
        self._verdicts[key] = verdict
        return verdict

    def refusal(self, scope: Scope) -> ToolError | None:
        host: bytes | None = None
        origin: bytes | None = None
        hosts = origins = 0
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = bytes(value)
                hosts += 1
            elif name == b"origin":
                origin = bytes(value)
                origins += 1
        if hosts > 1 or origins > 1:
            return ValidationError(
                "Invalid request", SEVERAL_HOSTS if hosts > 1 else SEVERAL_ORIGINS
            )
        reason = self.verdict(host, origin)
        if reason is None:
            return None
        return ForbiddenError(reason, self.host_hint if reason == HOST_REFUSED else None)


def same_origin(host: bytes | None, origin: bytes | None) -> bool:
    """An ``http(s)://`` Origin naming exactly the request's own Host: a page this server served
    (the playground) calling it.  Not cross-site, and the Host has already passed ALLOWED_HOSTS,
    so a foreign or DNS-rebinding page cannot pass this way (Django's CSRF check does the same).
    The Origin scheme's default port, written out on either side, is the same as none (a Host
    of ``api.example.com:443`` for ``https://api.example.com``)."""
    if host is None or origin is None:
        return False
    scheme, sep, authority = origin.decode("latin-1").lower().partition("://")
    if not sep or scheme not in ("http", "https"):
        return False
    own = host.decode("latin-1").lower()
    return without_default_port(scheme, authority) == without_default_port(scheme, own)


class HostOriginMiddleware:
    def __init__(self, app: ASGIApp, guard: HostOriginGuard) -> None:
        self.app = app
        self.guard = guard

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function returning the next awaitable, as the router does: no coroutine of its
        # own per request.  A REST refusal is raised here and reaches the request-context layer's
        # ``await`` like any other error, which renders, logs and counts the envelope.
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            return self.app(scope, receive, send)
        error = self.guard.refusal(scope)
        if error is None:
            return self.app(scope, receive, send)
        raise error  # on /mcp a JSON-RPC error (asgi.send_error)
