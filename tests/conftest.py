"""Shared fixtures: settings, an in-process ASGI client, a fixed clock."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devutils.http.app import Application, create_app
from devutils.registry import Registry, ToolContext, catalogue
from devutils.settings import Settings, load_settings

FIXED_NOW = datetime(2023, 12, 25, 15, 30, 45, tzinfo=UTC)  # 1703518245
IPADDRESS_FLAGS = (
    "is_private",
    "is_global",
    "is_reserved",
    "is_loopback",
    "is_link_local",
    "is_multicast",
    "is_unspecified",
    "is_site_local",
)


def make_settings(**overrides: Any) -> Settings:
    """Settings from an empty environment (tests never read the developer's variables)."""
    return load_settings(
        {"SECRETS_MOUNT_PATH": "/nonexistent", "RATE_LIMIT_ENABLED": "false"}, **overrides
    )


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    registry = Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))
    yield registry
    registry.close()  # its pool processes, if a call started any


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
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


@pytest.fixture
async def big_body_client(
    make_app: Callable[..., Application],
) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``client``, with a 2 MiB body limit for inputs past the default 1 MiB."""
    app = make_app(max_body_bytes=2 * 1024 * 1024)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


@pytest.fixture
def forbid_ipaddress_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every ``ipaddress`` is_* flag raise: they changed in patch releases (CVE-2024-4032),
    so the IP tables must decide from their own rows alone (security-notes §0)."""

    def forbidden(self: object) -> bool:
        raise AssertionError("an ipaddress is_* flag was consulted")

    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for flag in IPADDRESS_FLAGS:
            if hasattr(cls, flag):
                monkeypatch.setattr(cls, flag, property(forbidden))
