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
    if app.settings.mcp_enabled:
        from devutils.frontends.mcp_http import install_mcp

        install_mcp(app)  # registers POST /mcp and the SDK manager's lifespan

    # Rate limiting: a router guard (after the authentication guard, which production inserts
    # first) and the tool-call limiter.
    from devutils.http.middleware.ratelimit import install_rate_limiting

    install_rate_limiting(app)

    # Authentication guard; tracing, metrics (+ /metrics), access log and CORS layers.
    from devutils.http.middleware.production import install_production_layers

    install_production_layers(app)
