"""Authentication layer: every route needs a credential except the open ones.

Default-deny: health checks are always open and ``/metrics`` is open unless METRICS_REQUIRE_AUTH;
everything else, including ``/openapi.json``, ``/api/v1/tools``, ``/api/v1/status``, ``/mcp`` and
unknown paths (401 rather than a 404 that would map the API for a stranger), needs a credential.
With AUTH_METHOD=none this layer is not installed at all (so METRICS_REQUIRE_AUTH has nothing to
require).  CORS preflights never get here: the CORS layer outside answers them, as browsers send
them without credentials.
"""

from __future__ import annotations

from devutils.auth import AUTH_REASONS, Authenticator, CredentialError
from devutils.http.asgi import ASGIApp, Receive, Scope, Send, send_error, state_of
from devutils.observability.metrics import AUTH_FAILURES

HEALTH_ROUTES = frozenset({"/health", "/health/live", "/health/ready"})


def open_routes(metrics_require_auth: bool) -> frozenset[str]:
    return HEALTH_ROUTES if metrics_require_auth else HEALTH_ROUTES | {"/metrics"}


class AuthMiddleware:
    def __init__(self, app: ASGIApp, authenticator: Authenticator, open_: frozenset[str]) -> None:
        self.app = app
        self.authenticate = authenticator
        self.open = open_
        # Bound once: .labels() per failure would cost a lock and a dict lookup.
        self._failures = {reason: AUTH_FAILURES.labels(reason=reason) for reason in AUTH_REASONS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = state_of(scope) if scope["type"] == "http" else None
        if state is None or state.route in self.open:
            await self.app(scope, receive, send)
            return
        try:
            principal = self.authenticate(scope["headers"])
        except CredentialError as exc:
            self._failures[exc.reason].inc()
            # Answered here, so the outer layers see an ordinary 401 response.
            await send_error(send, exc, scope)
            return
        state.principal = principal
        state.authenticated = True
        await self.app(scope, receive, send)
