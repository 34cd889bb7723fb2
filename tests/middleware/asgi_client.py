"""An in-process client for an application built by ``make_app`` (no lifespan needed)."""

from __future__ import annotations

import httpx

from devutils.http.app import Application


def in_process(app: Application) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")
