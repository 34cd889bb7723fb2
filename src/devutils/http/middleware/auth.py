"""Authentication guard: every route needs a credential except the open ones.

Default-deny: health checks are always open and ``/metrics`` is open unless METRICS_REQUIRE_AUTH;
everything else, including ``/openapi.json``, ``/api/v1/tools``, ``/api/v1/status``, ``/mcp`` and
unknown paths (401 rather than a 404 that would map the API for a stranger), needs a credential.
With AUTH_METHOD=none the guard is not installed at all (so METRICS_REQUIRE_AUTH has nothing to
require).  CORS preflights never get here: the CORS layer outside answers them, as browsers send
them without credentials.  The guard runs in the router, inside the metrics and access-log
layers, so refusals are counted and logged like any 401.

Every failure is counted (``auth_failures_total{reason}``) and, with rate limiting on, charged to
the client address; past RATE_LIMIT_AUTH_FAILURES_* the failure is answered 429 with Retry-After
instead of 401.  Success is never throttled here: a correct credential from an address that keeps
failing still passes (only its normal rate class applies), so an attacker guessing keys from a
shared address cannot lock the real owner out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from devutils.auth import AUTH_REASONS, Authenticator, CredentialError
from devutils.http.asgi import Guard, RequestState, Scope
from devutils.observability.metrics import AUTH_FAILURES

# Charges each failure to its address: raises a RateLimitError (429) when the address is over its
# limit, at once or through the awaitable it returns (a shared store must be asked over the
# network); returns (None, or through the awaitable) when the failure stands as a 401.
FailureThrottle = Callable[[RequestState], Awaitable[object] | None]

HEALTH_ROUTES = frozenset({"/health", "/health/live", "/health/ready"})


def open_routes(metrics_require_auth: bool) -> frozenset[str]:
    return HEALTH_ROUTES if metrics_require_auth else HEALTH_ROUTES | {"/metrics"}


def auth_guard(
    authenticate: Authenticator, open_: frozenset[str], throttle: FailureThrottle | None = None
) -> Guard:
    # Bound once: .labels() per failure would cost a lock and a dict lookup.
    failures = {reason: AUTH_FAILURES.labels(reason=reason) for reason in AUTH_REASONS}

    def guard(scope: Scope, state: RequestState) -> Awaitable[None] | None:
        if state.route in open_:
            return None
        try:
            # Only the X-API-Key and Authorization headers, collected by the request context.
            principal = authenticate(state.credentials)
        except CredentialError as exc:
            failures[exc.reason].inc()
            pending = throttle(state) if throttle is not None else None
            if pending is None:
                raise
            return _fail_after(pending, exc)
        state.principal = principal
        state.authenticated = True
        return None

    return guard


async def _fail_after(pending: Awaitable[object], failure: CredentialError) -> None:
    """``failure`` once the shared store has charged it (a 429 raises from ``pending``)."""
    await pending
    try:
        raise failure
    finally:
        # The traceback holds this frame: without the local it holds no cycle back to the error,
        # which reference counting frees at once rather than the cyclic collector later.
        del failure
