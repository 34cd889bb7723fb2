"""DISABLED_TOOLS turns a tool off on every front door; MCP_DISABLED_TOOLS only on MCP."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from mcp import Client, MCPError

from devutils.cli import main
from devutils.frontends.mcp import build_server
from devutils.http.app import Application
from devutils.registry import Registry, ToolContext, catalogue
from devutils.settings import SettingsError
from tests.conftest import make_settings
from tests.middleware.asgi_client import in_process

HMAC_ARGS = {"content": "abc", "key": "k", "algorithm": "sha256"}
HASH_ARGS = {"content": "abc", "algorithm": "md5"}


def _registry(**overrides: str) -> Registry:
    settings = make_settings(**overrides)
    return Registry(catalogue(), ToolContext(settings))


@pytest.mark.parametrize("entry", ["crypto_hmac", "/api/v1/crypto/hmac"], ids=["name", "path"])
def test_registry_leaves_out_tools_named_or_by_path(entry: str) -> None:
    registry = _registry(disabled_tools=f"{entry},id_uuid")
    assert registry.get("crypto_hmac") is None
    assert registry.by_path("/api/v1/crypto/hmac") is None
    assert registry.get("id_uuid") is None
    assert registry.get("crypto_hash") is not None
    assert len(registry) == len(catalogue()) - 2
    assert {spec.name for spec in registry.disabled} == {"crypto_hmac", "id_uuid"}


def test_unknown_name_stops_start_up() -> None:
    with pytest.raises(SettingsError, match=r"DISABLED_TOOLS: unknown tool.*crypto_hmca"):
        _registry(disabled_tools="crypto_hmca")


async def test_rest_openapi_and_catalogue_leave_it_out(
    make_app: Callable[..., Application],
) -> None:
    app = make_app(disabled_tools="crypto_hmac")
    async with app.lifespan(), in_process(app) as http:
        off = await http.post("/api/v1/crypto/hmac", json=HMAC_ARGS)
        on = await http.post("/api/v1/crypto/hash", json=HASH_ARGS)
        openapi = (await http.get("/openapi.json")).json()
        listing = (await http.get("/api/v1/tools")).json()["data"]["tools"]
    assert off.status_code == 404
    assert off.json()["error"]["code"] == "NOT_FOUND"
    assert on.status_code == 200
    assert "/api/v1/crypto/hmac" not in openapi["paths"]
    assert "/api/v1/crypto/hash" in openapi["paths"]
    names = {tool["name"] for tool in listing}
    assert "crypto_hmac" not in names
    assert "crypto_hash" in names


async def test_mcp_hides_and_refuses_it() -> None:
    registry = _registry(disabled_tools="crypto_hmac")
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        listed = {tool.name for tool in (await mcp.list_tools()).tools}
        with pytest.raises(MCPError, match="Unknown tool"):
            await mcp.call_tool("crypto_hmac", HMAC_ARGS)
    assert "crypto_hmac" not in listed
    assert "crypto_hash" in listed


def test_mcp_only_switch_may_name_a_globally_disabled_tool() -> None:
    registry = _registry(disabled_tools="crypto_hmac", mcp_disabled_tools="crypto_hmac,id_uuid")
    settings = registry.context.settings
    build_server(registry, settings)  # no "unknown name" for the tool DISABLED_TOOLS removed
    with pytest.raises(SettingsError, match="MCP_DISABLED_TOOLS"):
        build_server(registry, make_settings(mcp_disabled_tools="nope"))


async def test_mcp_disabled_tools_stays_mcp_only(make_app: Callable[..., Application]) -> None:
    app = make_app(mcp_disabled_tools="crypto_hmac")
    async with app.lifespan(), in_process(app) as http:
        rest = await http.post("/api/v1/crypto/hmac", json=HMAC_ARGS)
    assert rest.status_code == 200


def test_cli_refuses_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SECRETS_MOUNT_PATH", "/nonexistent")
    monkeypatch.setenv("DISABLED_TOOLS", "/api/v1/crypto/hmac")
    code = main(["crypto", "hmac", "--content", "abc", "--key", "k", "--algorithm", "sha256"])
    captured = capsys.readouterr()
    assert code == 66
    error = json.loads(captured.err)["error"]
    assert error["code"] == "NOT_FOUND"
    assert "DISABLED_TOOLS" in error["details"]
    assert captured.out == ""
    assert main(["tools"]) == 0
    listed = capsys.readouterr().out
    commands = [line.split("  ")[0] for line in listed.splitlines()]
    assert "crypto hmac" not in commands
    assert "crypto hmac verify" in commands  # only the path named is turned off
    assert "crypto hash" in commands
