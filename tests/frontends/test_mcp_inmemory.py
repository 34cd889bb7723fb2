"""The MCP front end through the SDK's own client, in process: listing, calls, errors, toolsets."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

from devutils.errors import RateLimitError
from devutils.frontends.mcp import McpFrontend, build_server
from devutils.frontends.rest import tool_listing
from devutils.frontends.schema import compact_input_schema, compact_output_schema
from devutils.models import NoInput, ToolOutput
from devutils.registry import CallInfo, Proceed, Registry, ToolContext, ToolSpec
from devutils.settings import Settings, SettingsError
from tests.conftest import make_settings
from tests.frontends.mcp_support import MODES, only_text, structured, tool_error
from tests.support import HASH_FIELDS

SHA256_HELLO = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"


@pytest.mark.parametrize("mode", MODES)
async def test_lists_every_registry_tool_once(registry: Registry, mode: str) -> None:
    async with Client(build_server(registry, registry.context.settings), mode=mode) as mcp:
        listed = (await mcp.list_tools()).tools
    assert len(listed) == len(registry)
    assert [tool.name for tool in listed] == [spec.name for spec in registry]


async def test_tool_definitions_come_from_the_registry(registry: Registry) -> None:
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    for spec in registry:
        tool = listed[spec.name]
        assert tool.title == spec.title
        assert tool.description == spec.description
        # The same flat camelCase schema REST documents (compacted: see test_mcp_catalogue),
        # not nested under a parameter name.
        assert tool.input_schema == compact_input_schema(spec)
        assert tool.output_schema is None  # MCP_OUTPUT_SCHEMAS is off by default
        annotations = tool.annotations
        assert annotations is not None
        assert annotations.read_only_hint is spec.read_only
        assert annotations.open_world_hint is spec.open_world
        if spec.read_only:
            # Meaningless for a read-only tool (MCP schema), so not listed.
            assert annotations.idempotent_hint is None
            assert annotations.destructive_hint is None
        else:
            assert annotations.idempotent_hint is spec.idempotent
            assert annotations.destructive_hint is False
    open_world = {name for name, tool in listed.items() if tool.annotations.open_world_hint}  # type: ignore[union-attr]
    assert open_world == {spec.name for spec in registry if spec.open_world}


@pytest.mark.parametrize(
    ("overrides", "open_world"),
    [
        ({}, False),
        ({"pipeline_network_tools": True}, True),
        # Its steps cannot be the network tools MCP does not offer.
        ({"pipeline_network_tools": True, "mcp_toolsets": "pipeline,text,network"}, True),
        ({"pipeline_network_tools": True, "mcp_toolsets": "pipeline,text"}, False),
        (
            {
                "pipeline_network_tools": True,
                "mcp_disabled_tools": "network_dns,network_headers,network_tls",
            },
            False,
        ),
    ],
    ids=["default", "network steps", "network offered", "network not offered", "network disabled"],
)
async def test_a_pipeline_that_may_reach_the_network_is_open_world(
    overrides: dict[str, Any], open_world: bool
) -> None:
    """PIPELINE_NETWORK_TOOLS lets pipeline steps make requests: a client deciding what needs
    the user's approval by openWorldHint must see it, over MCP as in the REST catalogue."""
    settings = make_settings(**overrides)
    registry = Registry.default(settings)
    try:
        async with Client(build_server(registry, settings)) as mcp:
            listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
        annotations = listed["pipeline"].annotations
        assert annotations is not None
        assert annotations.open_world_hint is open_world
        # REST offers every tool whatever MCP hides.
        rest = {tool["name"]: tool for tool in tool_listing(registry)}
        assert rest["pipeline"]["annotations"]["openWorldHint"] is (
            "pipeline_network_tools" in overrides
        )
    finally:
        registry.close()


async def test_output_schemas_are_listed_on_request(registry: Registry) -> None:
    settings = make_settings(mcp_output_schemas=True)
    async with Client(build_server(registry, settings)) as mcp:
        listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    for spec in registry:
        assert listed[spec.name].output_schema == compact_output_schema(spec)


@pytest.mark.parametrize("mode", MODES)
async def test_call_returns_the_rest_data_and_compact_text(registry: Registry, mode: str) -> None:
    async with Client(build_server(registry, registry.context.settings), mode=mode) as mcp:
        result = await mcp.call_tool(
            "crypto_hash", {"content": "hello world", "algorithm": "sha256"}
        )
    assert structured(result) == {"hash": SHA256_HELLO, "algorithm": "sha256"}
    # Compact JSON: no indentation or spaces after separators.
    assert only_text(result) == f'{{"hash":"{SHA256_HELLO}","algorithm":"sha256"}}'


@pytest.mark.parametrize(
    ("arguments", "detail_part"),
    [
        ({"content": "x", "algorithm": "sha3"}, "algorithm"),
        ({"content": "x", "algorithm": "MD5"}, "algorithm"),
        ({"content": 12, "algorithm": "md5"}, "content"),
        ({"content": True, "algorithm": "md5"}, "content"),
        ({"content": ["x"], "algorithm": "md5"}, "content"),
        ({"content": "x"}, "required fields: content, algorithm"),
        ({}, "required fields: content, algorithm"),
        ({"content": "x", "algorithm": None}, "required fields: content, algorithm"),
    ],
    ids=[
        "unknown-enum",
        "enum-case",
        "int-for-string",
        "bool-for-string",
        "list-for-string",
        "missing-required",
        "empty-object",
        "null-required",
    ],
)
async def test_bad_arguments_are_the_same_tool_error_as_rest(
    registry: Registry,
    client: httpx.AsyncClient,
    arguments: dict[str, Any],
    detail_part: str,
) -> None:
    """The SDK passes arguments through untouched: our models reject them, as for REST."""
    rest = (await client.post("/api/v1/crypto/hash", json=arguments)).json()
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        result = await mcp.call_tool("crypto_hash", arguments)
    error = tool_error(result)
    assert error == rest["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert detail_part in error["details"]
    message = error["message"] if "required" in detail_part else "Invalid request format"
    assert "required" not in detail_part or message.endswith("required")
    assert only_text(result).startswith(f"VALIDATION_ERROR: {message} (")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"text": "hello world", "algorithm": "sha256"},
            'unknown field "text"; did you mean "content"?',
        ),
        (
            {"content": "hello world", "algorithm": "sha256", "unknown": 1},
            'unknown field "unknown"',
        ),
        ({"content": "hello world", "algorithm": "sha256", "extra": None}, 'unknown field "extra"'),
    ],
    ids=["misspelled-content", "unknown-field", "null-unknown-field"],
)
async def test_unknown_arguments_are_refused_like_rest(
    registry: Registry, client: httpx.AsyncClient, arguments: dict[str, Any], message: str
) -> None:
    rest = (await client.post("/api/v1/crypto/hash", json=arguments)).json()
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        result = await mcp.call_tool("crypto_hash", arguments)
    error = tool_error(result)
    assert error == rest["error"]
    assert error["message"] == message
    assert error["details"].endswith(f"allowed fields: {HASH_FIELDS}")
    assert only_text(result).startswith(f"VALIDATION_ERROR: {message} (")


async def test_an_answer_to_many_wrong_items_is_small(registry: Registry) -> None:
    """Both text blocks carry the details: each is bounded, as the REST answer is."""
    many = 50_000
    arguments = {"action": "build", "scheme": "https", "host": "example.com"} | {
        "query": {f"k{index}": index for index in range(many)}
    }
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        result = await mcp.call_tool("web_url", arguments)
    error = tool_error(result)
    assert error["details"].endswith(f"; and {many - 10} more errors")
    text = only_text(result)
    assert text.endswith(f"; and {many - 10} more errors)")
    assert len(text) + len(orjson.dumps(error)) < 8192


async def test_missing_arguments_mean_an_empty_object(registry: Registry) -> None:
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        result = await mcp.call_tool("crypto_hash")
    error = tool_error(result)
    assert error["message"] == 'fields "content", "algorithm" are required'
    assert error["details"] == "required fields: content, algorithm"


async def test_input_schemas_forbid_unknown_fields(registry: Registry) -> None:
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        listed = (await mcp.list_tools()).tools
    assert all(tool.input_schema["additionalProperties"] is False for tool in listed)


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_tool_is_a_protocol_error(registry: Registry, mode: str) -> None:
    async with Client(build_server(registry, registry.context.settings), mode=mode) as mcp:
        with pytest.raises(MCPError) as caught:
            await mcp.call_tool("crypto_nope", {})
    assert caught.value.error.code == INVALID_PARAMS
    assert "crypto_nope" in caught.value.error.message


class _Output(ToolOutput):
    value: str = Field(description="never produced")


def _boom(inp: NoInput, ctx: ToolContext) -> _Output:
    raise RuntimeError("internal detail that must not reach the client")


def _registry_of(*specs: ToolSpec, settings: Settings | None = None) -> Registry:
    return Registry(specs, ToolContext(settings or make_settings()))


BOOM = ToolSpec(
    path="/api/v1/test/boom",
    title="Always fails",
    description="Raises an unexpected exception.",
    func=_boom,
    input_model=NoInput,
    output_model=_Output,
)


async def test_a_bug_is_an_internal_error_result_without_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = _registry_of(BOOM)
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        result = await mcp.call_tool("test_boom", {})
    error = tool_error(result)
    assert error["code"] == "INTERNAL_ERROR"
    assert "internal detail" not in only_text(result)
    assert "Error executing tool" not in only_text(result)
    assert any(record.name == "devutils.mcp" for record in caplog.records)


async def test_errors_from_invoke_middleware_are_tool_errors(registry: Registry) -> None:
    seen: list[CallInfo] = []

    async def refuse(spec: ToolSpec, call: CallInfo, proceed: Proceed) -> Any:
        seen.append(call)
        raise RateLimitError("Rate limit exceeded", "try again in 3 s")

    registry.middleware.append(refuse)
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        result = await mcp.call_tool("crypto_hash", {"content": "a", "algorithm": "md5"})
    assert tool_error(result) == {
        "code": "RATE_LIMIT_ERROR",
        "message": "Rate limit exceeded",
        "details": "try again in 3 s",
    }
    assert only_text(result) == "RATE_LIMIT_ERROR: Rate limit exceeded (try again in 3 s)"
    # No HTTP request behind an in-memory call: the front end is named, the caller is not.
    assert [(c.frontend, c.request_id, c.client_ip, c.authenticated) for c in seen] == [
        ("mcp", None, None, False)
    ]


def _names(registry: Registry, **overrides: Any) -> list[str]:
    return list(McpFrontend(registry, make_settings(**overrides)).tools)


def test_toolsets_choose_families(registry: Registry) -> None:
    names = _names(registry, mcp_toolsets="crypto,time")
    expected = [spec.name for spec in registry if spec.family in ("crypto", "time")]
    assert names == expected
    assert "crypto_hash" in names
    assert all(name.startswith(("crypto_", "time_")) for name in names)


def test_disabled_tools_are_hidden(registry: Registry) -> None:
    names = _names(registry, mcp_toolsets="crypto", mcp_disabled_tools="crypto_hmac")
    assert "crypto_hmac" not in names
    assert "crypto_hash" in names
    assert len(_names(registry)) == len(registry)


async def test_a_hidden_tool_cannot_be_called(registry: Registry) -> None:
    settings = make_settings(mcp_disabled_tools="crypto_hmac")
    async with Client(build_server(registry, settings)) as mcp:
        listed = [tool.name for tool in (await mcp.list_tools()).tools]
        with pytest.raises(MCPError):
            await mcp.call_tool("crypto_hmac", {"content": "a", "key": "k", "algorithm": "sha256"})
    assert "crypto_hmac" not in listed
    assert len(listed) == len(registry) - 1


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"mcp_toolsets": "crypto,cryptoo"}, "MCP_TOOLSETS"),
        ({"mcp_disabled_tools": "crypto_hsh"}, "MCP_DISABLED_TOOLS"),
    ],
    ids=["unknown-family", "unknown-tool"],
)
def test_unknown_toolset_names_stop_start_up(
    registry: Registry, overrides: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        McpFrontend(registry, make_settings(**overrides))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tool", ["text_info", "text_case"])
async def test_a_lone_surrogate_is_a_validation_error_not_a_protocol_error(
    registry: Registry, tool: str, mode: str
) -> None:
    # The SDK's parser accepts "\ud800" (REST's and the direct path's refuse it): text_info
    # counted it as 3 bytes and text_case raised past the tool's error handling.  The in-memory
    # transport hands the arguments over unparsed, as the SDK's JSON parser would leave them.
    args = {"content": "a\ud800b"} | ({"caseType": "UPPERCASE"} if tool == "text_case" else {})
    async with Client(build_server(registry, registry.context.settings), mode=mode) as mcp:
        result = await mcp.call_tool(tool, args)
    error = tool_error(result)
    assert error["code"] == "VALIDATION_ERROR"
    assert only_text(result) == (
        "VALIDATION_ERROR: Invalid request (text contains unpaired surrogate code points)"
    )


async def test_a_pipeline_over_mcp_cannot_reach_a_tool_mcp_hides(registry: Registry) -> None:
    frontend = McpFrontend(registry, make_settings(mcp_disabled_tools="crypto_hash"))
    assert "crypto_hash" not in frontend.tools
    pipeline = registry.get("pipeline")
    assert pipeline is not None
    steps = {"steps": [{"tool": "crypto_hash", "args": {"content": "a", "algorithm": "sha256"}}]}
    refused = await frontend.call(pipeline, steps, None, protocol_version="2025-06-18")
    assert refused["isError"] is True
    # As an unknown name is refused: the step is named, and nothing says the tool exists.
    assert refused["content"][0]["text"] == (
        "VALIDATION_ERROR: Pipeline failed (step 1: unknown tool: crypto_hash)"
    )
    # Tools MCP offers still work in a pipeline, and REST is not affected.
    steps["steps"][0] = {"tool": "text_case", "args": {"content": "a", "caseType": "UPPERCASE"}}
    allowed = await frontend.call(pipeline, steps, None, protocol_version="2025-06-18")
    assert allowed["structuredContent"]["result"] == {"result": "A", "caseType": "UPPERCASE"}
