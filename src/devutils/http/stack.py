"""Where the production layers and extra front ends are attached to the application.

Kept apart from app.py so each concern's module owns its own wiring (auth, rate limits, metrics,
access logs, tracing, CORS, MCP).  Layers are wrapped innermost first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devutils.http.app import Application


def install(app: Application) -> None:
    """Attach endpoints and middleware; called once by create_app."""
    from devutils.http.playground import install_api_index, install_playground

    install_api_index(app)
    if app.settings.playground_enabled:
        install_playground(app)  # before the guards, which read app.public_routes

    mcp = None
    if app.settings.mcp_enabled:
        from devutils.frontends.mcp_http import install_mcp

        mcp = install_mcp(app)  # registers POST /mcp and the SDK manager's lifespan

    # Rate limiting: a router guard (after the authentication guard, which production inserts
    # first), the tool-call limiter, the MCP protocol-call limiter and the throttle for failed
    # authentications (applied by the authentication guard).
    from devutils.http.middleware.ratelimit import install_rate_limiting

    failure_throttle = install_rate_limiting(app, mcp)

    # Authentication guard; tracing, metrics (+ /metrics), access log and CORS layers.
    from devutils.http.middleware.production import install_production_layers

    install_production_layers(app, failure_throttle)
