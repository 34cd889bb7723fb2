"""pipeline: run several tools in order, each step able to take an earlier step's output.

A step's argument that is a string of the form ``$prev.field.path`` or ``$<id>.field.path`` is
replaced by that value of the previous (or the named) step's output; ``$$`` starts a literal
string that begins with ``$``, and strings such as a JSONPath (``$.items[0]``) pass untouched.  Every step is an ordinary call through the registry, as the same
caller: the same validation, rate-limit class, placement, deadline and output cap as a direct
call, so a pipeline costs the sum of its steps.  The whole pipeline has one TOOL_TIMEOUT, at most
``MAX_STEPS`` steps and ``MAX_OUTPUT_BYTES`` of step outputs in all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import Field

from devutils.errors import RequestTooLargeError, ToolError, ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import (
    API_PREFIX,
    Example,
    Registry,
    StepCall,
    ToolSpec,
    dump_output,
    output_size,
    tool,
)

MAX_STEPS = 16
_FAILED = "Pipeline failed"
_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,31}$"


class PipelineStep(ToolInput):
    tool: str = Field(
        min_length=1, max_length=100, description="Tool name (crypto_hash) or REST path."
    )
    args: dict[str, Any] | None = Field(
        default_factory=dict,
        description='Its arguments; "$prev.x.y" or "$<id>.x" takes an earlier output\'s value.',
    )
    id: str | None = Field(
        None, pattern=_ID_PATTERN, description="Name for later steps to refer to ($id.field)."
    )


class PipelineInput(ToolInput):
    steps: list[PipelineStep] = Field(
        min_length=1, max_length=MAX_STEPS, description="Steps to run in order (1-16)."
    )
    include_steps: bool = Field(False, description="Also return every step's output.")


class StepResult(ToolOutput):
    tool: str
    id: str | None = Field(None, exclude_if=omit_none)
    output: dict[str, Any]


class PipelineOutput(ToolOutput):
    result: dict[str, Any] = Field(description="The last step's output.")
    steps: list[StepResult] | None = Field(
        None, exclude_if=omit_none, description="Every step's output (includeSteps)."
    )


def _lookup(registry: Registry, name: str) -> ToolSpec | None:
    if name.startswith("/"):
        return registry.by_path(name)
    return registry.get(name) or registry.by_path(API_PREFIX + name.replace("_", "/"))


def _follow(value: Any, path: list[str], reference: str) -> Any:
    for key in path:
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdecimal() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise KeyError(reference)
    return value


# "$prev.a.0" or "$<id>.a": a step's output value.  Other strings that start with "$" (a JSONPath
# such as "$.items[0]", a "$HOME") are left alone, so expressions pass through untouched.
_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[^.]+)*)")


class ArgumentsTooLarge(Exception):
    """The references of one step's arguments add up to more than the limit."""


class ArgumentsTooDeep(Exception):
    """One step's arguments nest deeper than the limit."""


def resolve(
    value: Any,
    outputs: dict[str, dict[str, Any]],
    ids: frozenset[str] = frozenset(),
    limit: int | None = None,
    max_depth: int = 256,
) -> Any:
    """``value`` with every reference string replaced by the output value it names.

    ``ids`` are the pipeline's step ids: a reference to one that has not run yet, or a dotted
    reference to a name that is no step (a typo such as "$jtw.exp"), raises KeyError.  With
    ``limit``, the values referenced may add up to at most that many characters (of text, or of
    JSON for other values): one reference to a large output repeated many times would otherwise
    turn a small request into a huge call.  Past it, :class:`ArgumentsTooLarge`.  Arguments
    nested deeper than ``max_depth`` (or than Python's stack allows) raise
    :class:`ArgumentsTooDeep`.
    """
    remaining = [limit]

    def charged(found: Any) -> Any:
        if remaining[0] is not None:
            size = len(found) if isinstance(found, str) else len(orjson.dumps(found))
            remaining[0] -= size
            if remaining[0] < 0:
                raise ArgumentsTooLarge
        return found

    def walk(value: Any, depth: int) -> Any:
        if isinstance(value, dict | list):
            if depth >= max_depth:
                raise ArgumentsTooDeep
            if isinstance(value, dict):
                return {key: walk(item, depth + 1) for key, item in value.items()}
            return [walk(item, depth + 1) for item in value]
        return _reference(value, outputs, ids, charged)

    try:
        return walk(value, 0)
    except RecursionError:
        raise ArgumentsTooDeep from None


def _reference(
    value: Any, outputs: dict[str, dict[str, Any]], ids: frozenset[str], charged: Any
) -> Any:
    """``value`` itself, or the output value a reference string names."""
    if not isinstance(value, str) or not value.startswith("$"):
        return value
    if value.startswith("$$"):
        return value[1:]
    found = _REFERENCE.fullmatch(value)
    if found is None:
        return value
    source, path = found.group(1), found.group(2)
    if source != "prev" and source not in ids and not path:
        return value  # "$HOME": not a reference
    if source not in outputs:
        raise KeyError(value)
    return charged(_follow(outputs[source], path.split(".")[1:], value))


def _step_error(index: int, step: PipelineStep, exc: ToolError) -> ToolError:
    """The step's own error (same code and status), saying which step failed."""
    details: dict[str, Any] = {"step": index, "tool": step.tool, "code": exc.code}
    if step.id is not None:
        details["id"] = step.id
    if exc.details not in (None, "", [], {}):
        details["details"] = exc.details
    return type(exc)(
        f"Pipeline step {index} ({step.tool}) failed: {exc.message}", details, headers=exc.headers
    )


def _step_tool(
    registry: Registry, call: StepCall, index: int, step: PipelineStep, allow_network: bool
) -> ToolSpec:
    """The tool step ``index`` names; a 400 when it names none, a pipeline or a network tool
    (unless PIPELINE_NETWORK_TOOLS).  A tool the caller's front end hides (MCP_TOOLSETS,
    MCP_DISABLED_TOOLS) is unknown here too, in the same words: the answer must not tell
    that the name exists."""
    spec = _lookup(registry, step.tool)
    if spec is not None and not call.offers(spec):
        spec = None
    if spec is None or spec.composite is not None:
        what = "a pipeline cannot contain a pipeline" if spec else "unknown tool"
        raise ValidationError(_FAILED, f"step {index}: {what}: {step.tool[:100]}")
    if spec.open_world and not allow_network:
        raise ValidationError(
            _FAILED,
            f"step {index}: {spec.name} makes network requests; pipelines may not unless "
            "PIPELINE_NETWORK_TOOLS is true",
        )
    return spec


@tool(
    "/api/v1/pipeline",
    title="Run tools in a pipeline",
    description='Run up to 16 tools in order; a step argument "$prev.field" (or "$<id>.field") '
    "takes an earlier step's output. Returns the last output, or every step's with includeSteps.",
    composite=True,
    examples=(
        Example(
            {
                "steps": [
                    {
                        "tool": "transform_compress",
                        "args": {
                            "content": "H4sIAAAAAAACA6tWKk4tKstMTlWyUkpJLdMtLcnMySzJTC1W0lHKz1ayKikqTa0FAERYMAclAAAA",
                            "action": "decompress",
                            "algorithm": "gzip",
                        },
                    },
                    {
                        "tool": "data_json_format",
                        "args": {"content": "$prev.result", "action": "format"},
                    },
                ]
            },
            title="base64 gzip to formatted JSON",
        ),
        Example(
            {
                "steps": [
                    {
                        "tool": "transform_jwt_decode",
                        "id": "jwt",
                        "args": {
                            "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                            "eyJzdWIiOiJhZ2VudCIsImV4cCI6MTcwMzUxODI0NX0.c2lnbmF0dXJl"
                        },
                    },
                    {
                        "tool": "time_convert",
                        "args": {
                            "input": "$jwt.payload.exp",
                            "inputFormat": "unix",
                            "outputFormat": "human",
                            "timezone": "Europe/Paris",
                        },
                    },
                ],
                "includeSteps": True,
            },
            title="JWT expiry in a time zone",
        ),
        Example(
            {
                "steps": [
                    {
                        "tool": "data_convert",
                        "args": {
                            "content": "services:\n  - name: api\n    port: 8080\n"
                            "  - name: web\n    port: 80\n",
                            "from": "yaml",
                            "to": "json",
                        },
                    },
                    {
                        "tool": "data_query",
                        "args": {
                            "content": "$prev.result",
                            "language": "jsonpath",
                            "query": "$.services[?@.port > 100].name",
                        },
                    },
                ]
            },
            title="YAML to JSON, then a JSONPath query",
        ),
        Example(
            {
                "steps": [
                    {"tool": "crypto_hash", "args": {"content": "hello", "algorithm": "sha256"}},
                    {
                        "tool": "text_case",
                        "args": {"content": "$prev.hash", "caseType": "UPPERCASE"},
                    },
                ]
            },
            title="hash, then upper-case it",
        ),
    ),
)
async def pipeline(inp: PipelineInput, registry: Registry, call: StepCall) -> PipelineOutput:
    allow_network = registry.context.settings.pipeline_network_tools
    budget = registry.context.settings.max_output_bytes
    body_limit = registry.context.settings.max_body_bytes
    max_depth = registry.context.settings.max_json_depth
    ids = [step.id for step in inp.steps if step.id is not None]
    if "prev" in ids or len(ids) != len(set(ids)):
        raise ValidationError(_FAILED, 'step ids must be unique and not "prev"')
    known_ids = frozenset(ids)
    # Every step's tool is checked, and the whole declared, before the first step runs: a
    # pipeline refused for its last step, or one larger than the caller's rate-limit burst,
    # spends nothing.
    specs = [
        _step_tool(registry, call, index, step, allow_network)
        for index, step in enumerate(inp.steps, 1)
    ]
    call.plan(specs)
    outputs: dict[str, dict[str, Any]] = {}
    results: list[StepResult] = []
    used = 0
    for index, (step, spec) in enumerate(zip(inp.steps, specs, strict=True), start=1):
        try:
            args = resolve(step.args or {}, outputs, known_ids, body_limit, max_depth)
        except ArgumentsTooDeep:
            raise ValidationError(
                _FAILED,
                f"step {index}: its arguments nest deeper than MAX_JSON_DEPTH ({max_depth})",
            ) from None
        except ArgumentsTooLarge:
            raise RequestTooLargeError(
                "Request too large",
                f"step {index}: the outputs its arguments reference exceed MAX_BODY_BYTES "
                f"({body_limit} bytes), the limit of a direct call",
            ) from None
        except KeyError as missing:
            raise ValidationError(
                _FAILED,
                f"step {index}: {missing.args[0]} names no earlier output value "
                f"(earlier: {', '.join(sorted(outputs)) or 'none'})",
            ) from None
        try:
            output = await call(spec, args)
        except ToolError as exc:
            raise _step_error(index, step, exc) from None
        used += output_size(output)
        if used > budget:
            raise RequestTooLargeError(
                "Output too large",
                f"the step outputs exceed MAX_OUTPUT_BYTES ({budget} bytes) at step {index}",
            )
        data = dump_output(output)
        outputs["prev"] = data
        if step.id is not None:
            outputs[step.id] = data
        if inp.include_steps:
            results.append(StepResult(tool=spec.name, id=step.id, output=data))
    return PipelineOutput(result=outputs["prev"], steps=results if inp.include_steps else None)
