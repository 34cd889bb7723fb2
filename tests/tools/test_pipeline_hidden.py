"""A pipeline step naming a tool the MCP front end hides gets, over MCP, exactly the answer an
unknown name gets, with its step number: the answer must not tell that the name exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client

from devutils.frontends.mcp import build_server
from devutils.http.app import create_app
from devutils.registry import Registry, ToolContext, catalogue
from tests.conftest import FIXED_NOW, make_settings
from tests.frontends.mcp_support import MODES, structured, tool_error

HASH_STEP = {"tool": "crypto_hash", "args": {"content": "a", "algorithm": "md5"}}
FIRST_STEP = {"tool": "text_info", "args": {"content": "a"}}


@pytest.fixture(
    params=[
        {"mcp_disabled_tools": "crypto_hash,network_dns"},
        {"mcp_toolsets": "pipeline,text"},
    ],
    ids=["MCP_DISABLED_TOOLS", "MCP_TOOLSETS"],
)
def hiding(request: pytest.FixtureRequest) -> Iterator[Registry]:
    """A registry whose MCP front end hides crypto_hash and network_dns (and offers pipeline)."""
    overrides: dict[str, str] = request.param
    settings = make_settings(pipeline_network_tools=True, **overrides)
    registry = Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))
    yield registry
    registry.close()


async def pipeline_error(registry: Registry, mode: str, steps: list[Any]) -> dict[str, Any]:
    async with Client(build_server(registry, registry.context.settings), mode=mode) as mcp:
        return tool_error(await mcp.call_tool("pipeline", {"steps": steps}))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("hidden", "unknown"),
    [
        ("crypto_hash", "crypto_hashx"),
        ("/api/v1/crypto/hash", "/api/v1/crypto/hashx"),
        # Hidden and a network tool: still unknown, not "makes network requests".
        ("network_dns", "network_dnsx"),
    ],
    ids=["name", "path", "network-tool"],
)
async def test_a_hidden_step_tool_is_answered_as_an_unknown_one(
    hiding: Registry, mode: str, hidden: str, unknown: str
) -> None:
    hidden_error = await pipeline_error(hiding, mode, [FIRST_STEP, {"tool": hidden, "args": {}}])
    unknown_error = await pipeline_error(hiding, mode, [FIRST_STEP, {"tool": unknown, "args": {}}])
    assert hidden_error == {
        "code": "VALIDATION_ERROR",
        "message": "Pipeline failed",
        "details": f"step 2: unknown tool: {hidden}",
    }
    assert unknown_error == hidden_error | {"details": f"step 2: unknown tool: {unknown}"}


@pytest.mark.parametrize("mode", MODES)
async def test_steps_mcp_offers_still_run_and_rest_is_not_affected(
    hiding: Registry, mode: str
) -> None:
    steps = [FIRST_STEP, {"tool": "text_case", "args": {"content": "a", "caseType": "UPPERCASE"}}]
    async with Client(build_server(hiding, hiding.context.settings), mode=mode) as mcp:
        result = structured(await mcp.call_tool("pipeline", {"steps": steps}))
    assert result["result"] == {"result": "A", "caseType": "UPPERCASE"}
    # REST offers every tool: the same step MCP hides runs there, in the same application.
    app = create_app(hiding.context.settings, hiding)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            response = await http.post("/api/v1/pipeline", json={"steps": [FIRST_STEP, HASH_STEP]})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"]["hash"] == "0cc175b9c0f1b6a831c399e269772661"
