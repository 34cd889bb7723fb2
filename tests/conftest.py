"""Shared fixtures: settings, an in-process ASGI client, a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devutils.http.app import Application, create_app
from devutils.registry import Registry, ToolContext, catalogue
from devutils.settings import Settings, load_settings

FIXED_NOW = datetime(2023, 12, 25, 15, 30, 45, tzinfo=UTC)  # 1703518245


def make_settings(**overrides: Any) -> Settings:
    """Settings from an empty environment (tests never read the developer's variables)."""
    return load_settings(
        {"SECRETS_MOUNT_PATH": "/nonexistent", "RATE_LIMIT_ENABLED": "false"}, **overrides
    )


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def registry(settings: Settings) -> Registry:
    return Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))


@pytest.fixture
def make_app() -> Callable[..., Application]:
    def build(**overrides: Any) -> Application:
        settings = make_settings(**overrides)
        return create_app(
            settings, Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))
        )

    return build


@pytest.fixture
async def client(make_app: Callable[..., Application]) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app()
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
