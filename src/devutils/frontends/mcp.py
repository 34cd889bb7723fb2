"""MCP front end (stdio and Streamable HTTP at /mcp), generated from the registry.

Built on the SDK's low-level :class:`mcp.server.Server` so a call's arguments reach
:meth:`Registry.invoke` untouched: our pydantic models validate them and a bad call gets the same
``VALIDATION_ERROR`` as REST, as an ``isError`` result rather than a protocol error.  Nothing here
knows any single tool.  The HTTP transport lives in :mod:`devutils.frontends.mcp_http`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import anyio
import orjson
import pydantic_core
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    SERVER_INFO_META_KEY,
    CallToolRequestParams,
    ListToolsResult,
    PaginatedRequestParams,
    Tool,
    ToolAnnotations,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from devutils import __version__
from devutils.errors import InternalError, ToolError
from devutils.execution.call import surrogate_error
from devutils.frontends.schema import compact_input_schema, compact_output_schema
from devutils.frontends.toolsets import expand_toolsets
from devutils.http.asgi import CURRENT_REQUEST, RequestState, state_of
from devutils.registry import CallInfo, Registry, ToolSpec, dump_output
from devutils.settings import Settings, SettingsError

log = logging.getLogger("devutils.mcp")

SERVER_NAME = "dev-utilities"
INSTRUCTIONS = (
    "Exact developer utilities: hashing, HMAC, password hashing, certificates, text, regex, JSON, "
    "encodings, compression, IDs, time, URLs and network lookups. Every tool returns structured "
    "JSON; errors carry a stable code such as VALIDATION_ERROR."
)


def exposed_tools(registry: Registry, settings: Settings) -> list[ToolSpec]:
    """The tools MCP offers: the ``MCP_TOOLSETS`` families and presets (empty = all) minus
    ``MCP_DISABLED_TOOLS``.

    An unknown family, preset or tool name is a configuration mistake that would silently hide
    tools, so it stops start-up with a message naming the variable.
    """
    specs = list(registry)
    # Names of tools DISABLED_TOOLS turned off everywhere are still known names here.
    every = [*specs, *registry.disabled]
    chosen = expand_toolsets(settings.mcp_toolsets, every)
    _check_names("MCP_DISABLED_TOOLS", settings.mcp_disabled_tools, {spec.name for spec in every})
    disabled = set(settings.mcp_disabled_tools)
    return [
        spec
        for spec in specs
        if (chosen is None or spec.name in chosen) and spec.name not in disabled
    ]


def _check_names(variable: str, given: Iterable[str], known: set[str]) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        raise SettingsError(
            f"{variable}: unknown name(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def tool_definition(
    spec: ToolSpec, with_output_schema: bool = False, open_world: bool | None = None
) -> Tool:
    """The MCP listing of one tool.  The output schema is left out unless MCP_OUTPUT_SCHEMAS:
    model APIs give the model the input schema only, so an output schema costs every client
    bytes for a check few make; ``structuredContent`` is sent either way (MCP makes the schema
    optional), and REST's OpenAPI document and ``/api/v1/tools`` always carry it."""
    return Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=compact_input_schema(spec),
        output_schema=compact_output_schema(spec) if with_output_schema else None,
        annotations=_annotations(spec, spec.open_world if open_world is None else open_world),
    )


def _annotations(spec: ToolSpec, open_world: bool) -> ToolAnnotations:
    if spec.read_only:
        # The destructive and idempotent hints mean something only for a tool that is not
        # read-only (MCP schema, ToolAnnotations); left out, they cost no context.
        return ToolAnnotations(read_only_hint=True, open_world_hint=open_world)
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=False,
        idempotent_hint=spec.idempotent,
        open_world_hint=open_world,
    )


# Results are built as wire dicts rather than CallToolResult models: the SDK validates and dumps
# every result once more on its way out, so a model here would only add a second round.


def wire_json(value: Any) -> bytes:
    """``value`` as compact JSON.  orjson refuses integers beyond 64 bits, which results keep
    exactly as REST does (a queried or patched document's, API-DELTAS D6): pydantic's encoder
    writes those."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return pydantic_core.to_json(value)


def success_result(data: dict[str, Any]) -> dict[str, Any]:
    """Structured content identical to REST ``data``, plus the same JSON as compact text."""
    text = wire_json(data).decode()
    return {
        "content": [{"type": "text", "text": text}],
        "structuredContent": data,
        "isError": False,
    }


def error_result(error: ToolError) -> dict[str, Any]:
    """``isError`` with two text blocks and no ``structuredContent``.

    The first block reads well in a chat client (``"VALIDATION_ERROR: <message> (<details>)"``);
    the second is the REST error object as compact JSON (``{"code", "message", "details"?}``) for
    programs.  No ``structuredContent``: the TypeScript SDK (and so MCP Inspector and most
    desktop agents) validates it against the tool's ``outputSchema`` even on errors, and the
    error object cannot conform, so the client threw a schema error instead of showing ours.
    """
    return {
        "content": [
            {"type": "text", "text": error.mcp_text()},
            {"type": "text", "text": orjson.dumps(error.to_dict()).decode()},
        ],
        "isError": True,
    }


def _request_state(ctx: ServerRequestContext[Any, Any]) -> RequestState | None:
    """The HTTP request behind this call, or None over stdio and in-memory."""
    state = CURRENT_REQUEST.get()
    if state is None and ctx.request is not None:
        # The SDK hands us its Starlette request; its scope carries our state too.
        state = state_of(getattr(ctx.request, "scope", {}))
    return state


class McpFrontend:
    """The SDK server for one registry: tool definitions computed once, calls through invoke."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.tools: dict[str, ToolSpec] = {
            spec.name: spec for spec in exposed_tools(registry, settings)
        }
        registry.hidden["mcp"] = frozenset(spec.name for spec in registry) - set(self.tools)
        self._listing = ListToolsResult(
            tools=[
                tool_definition(
                    spec, settings.mcp_output_schemas, registry.reaches_network(spec, "mcp")
                )
                for spec in self.tools.values()
            ]
        )
        self.server: Server[Any] = Server(
            SERVER_NAME,
            version=__version__,
            title="Developer Utilities",
            instructions=INSTRUCTIONS,
            # Our schemas declare no Mcp-Param headers, so there is nothing to check; without
            # this the SDK would build the whole tools/list answer on every HTTP tool call.
            get_tool_input_schema=_no_header_schema,
            on_list_tools=self.list_tools,
        )
        # Registered directly (not on_call_tool=) so the handler may return a wire dict.
        self.server.add_request_handler("tools/call", CallToolRequestParams, self.call_tool)
        # The SDK's only default middleware opens an OpenTelemetry span per message, at about a
        # fifth of an HTTP call's cost even with no exporter; our tracing already spans the HTTP
        # request and every tool call.
        self.server.middleware.clear()
        # The SDK deep-copies this stamp into every 2026-era result unless the result has one.
        self._server_info = self.server.server_info_stamp

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return self._listing

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams
    ) -> dict[str, Any]:
        spec = self.tools.get(params.name)
        if spec is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        state = _request_state(ctx)
        if params.arguments and _has_lone_surrogate(params.arguments):
            # The SDK's JSON parser lets "\ud800" through (REST's and the direct path's orjson
            # do not, so only this handler checks).  Refused after the registry's admission
            # checks, as invalid input is, so the call pays its tool's rate class like any other;
            # but before a tool runs or echoes what UTF-8 cannot hold.
            refused = await self._invoke(spec, params.arguments, state, load=_refuse_surrogates)
            return self._stamped(refused, ctx.protocol_version)
        return await self.call(spec, params.arguments, state, protocol_version=ctx.protocol_version)

    async def call(
        self,
        spec: ToolSpec,
        arguments: dict[str, Any] | None,
        state: RequestState | None,
        *,
        protocol_version: str,
    ) -> dict[str, Any]:
        """The wire result of one call: the SDK's handler and the direct HTTP path share it.
        ``arguments`` must hold no lone surrogate (the direct path's parser refuses them)."""
        return self._stamped(await self._invoke(spec, arguments, state), protocol_version)

    def _stamped(self, result: dict[str, Any], protocol_version: str) -> dict[str, Any]:
        if protocol_version in MODERN_PROTOCOL_VERSIONS:
            result["resultType"] = "complete"
            result["_meta"] = {SERVER_INFO_META_KEY: self._server_info}
        return result

    async def _invoke(
        self,
        spec: ToolSpec,
        arguments: dict[str, Any] | None,
        state: RequestState | None,
        load: Callable[[], Any] | None = None,
    ) -> dict[str, Any]:
        call = CallInfo(frontend="mcp")
        if state is not None:
            call.principal = state.principal
            call.authenticated = state.authenticated
            call.client_ip = state.client_ip
            call.request_id = state.request_id
        try:
            args = {} if arguments is None else arguments
            output = await self.registry.invoke(spec, args, call, load=load)
            return success_result(dump_output(output))
        except ToolError as exc:
            # Retry-After, as REST sends it
            call.response_headers += [
                (k.lower().encode(), v.encode()) for k, v in exc.headers.items()
            ]
            return error_result(exc)
        except Exception:
            # A bug: log the type (never the arguments) and answer like REST's 500.
            log.exception("tool call failed", extra={"tool": spec.name})
            return error_result(
                InternalError("Internal server error", "An unexpected error occurred")
            )
        finally:
            if state is not None and call.response_headers:
                # Rate-limit headers reach the HTTP response (status 200) as they do for REST.
                state.extra_headers.extend(call.response_headers)


def _refuse_surrogates() -> NoReturn:
    raise surrogate_error("Invalid request")


def _has_lone_surrogate(arguments: dict[str, Any]) -> bool:
    try:
        orjson.dumps(arguments)
    except TypeError as exc:  # orjson writes only valid UTF-8 (and refuses huge integers)
        return "surrogates" in str(exc)
    return False


def _no_header_schema(name: str) -> None:
    return None


def build_server(registry: Registry, settings: Settings) -> Server[Any]:
    return McpFrontend(registry, settings).server


def run_stdio(settings: Settings) -> int:
    """``devutils mcp``: serve MCP on stdin/stdout until EOF and every request read before it is
    answered; logs go to stderr only."""
    from devutils.frontends.mcp_stdio import GRACE_MARGIN, serve_stdio
    from devutils.observability.logging import configure_logging

    # Before anything can log: stdout carries protocol messages and nothing else.
    configure_logging(settings, stream=sys.stderr)
    try:
        frontend = McpFrontend(Registry.default(settings), settings)
    except SettingsError as exc:
        print(f"devutils: {exc}", file=sys.stderr)
        return 78  # EX_CONFIG
    server = frontend.server
    log.info("serving MCP over stdio", extra={"tools": len(frontend.tools)})
    try:
        grace = settings.tool_timeout + GRACE_MARGIN
        anyio.run(
            serve_stdio,
            server,
            grace,
            settings.max_json_depth,
            settings.max_body_bytes,
            backend_options=_backend_options(),
        )
    except KeyboardInterrupt:
        return 130
    return 0


def _backend_options() -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return {}
    return {"loop_factory": uvloop.new_event_loop}
