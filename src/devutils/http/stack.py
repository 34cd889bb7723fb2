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
