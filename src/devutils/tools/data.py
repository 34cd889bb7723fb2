"""data tools: JSON formatting and minifying (lossless, see _jsontext)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools._jsontext import JSONTextError, nesting_depth, parse, render

DEFAULT_INDENT = 2
MAX_INDENT = 8
_ESTIMATE_SCAN_LIMIT = 64 * 1024


class JsonFormatInput(ToolInput):
    content: str = Field(min_length=1, description="JSON text (any value, including scalars).")
    action: Literal["format", "minify"] = Field(description="format (indented) or minify.")
    indent: int = Field(
        0, ge=0, le=MAX_INDENT, description="Spaces per level for format, 1-8 (0 or missing: 2)."
    )
    sort_keys: bool = Field(False, description="Sort object keys (code-point order).")


class JsonFormatOutput(ToolOutput):
    result: str


def work_estimate(inp: JsonFormatInput) -> int:
    """Output can be far larger than input: each bracket may start a line indented by its depth
    (400 arrays nested 255 deep, indent 8: 204 KB in, 208 MB out).  Bracket count x indent bounds
    the indentation a small input can produce, so such input never runs on the event loop."""
    content = inp.content
    if inp.action == "minify":
        return len(content)
    indent = inp.indent or DEFAULT_INDENT
    if len(content) > _ESTIMATE_SCAN_LIMIT:
        return len(content) * (indent + 1)  # large anyway: no need to scan it on the loop
    brackets = content.count("[") + content.count("{")
    if not brackets:
        return len(content)
    lines = content.count(",") + 2 * brackets
    return len(content) + lines * nesting_depth(content) * indent


@tool(
    "/api/v1/data/json/format",
    blocking="large",  # up to ~1 s of CPU for a 1 MiB body: off the event loop
    estimate=work_estimate,
    title="Format or minify JSON",
    description="Pretty-print (indent 1-8) or minify JSON, keeping numbers exactly as written and "
    "key order (optionally sorted); invalid JSON is reported with its position.",
    examples=(
        Example({"content": '{"name":"John","age":30,"tags":["a","b"]}', "action": "format"}),
        Example({"content": '{\n  "a": [1, 2.50]\n}', "action": "minify"}),
        Example({"content": '{"b":1,"a":2}', "action": "format", "indent": 4, "sortKeys": True}),
    ),
)
def data_json_format(inp: JsonFormatInput, ctx: ToolContext) -> JsonFormatOutput:
    indent = (inp.indent or DEFAULT_INDENT) if inp.action == "format" else 0
    try:
        value = parse(inp.content, ctx.settings.max_json_depth)
        result = render(value, indent, inp.sort_keys, ctx.output_budget("JSON formatting failed"))
    except JSONTextError as exc:
        raise ValidationError("JSON formatting failed", f"invalid JSON: {exc}") from None
    return JsonFormatOutput(result=result)
