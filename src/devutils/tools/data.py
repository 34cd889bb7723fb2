"""data tools: JSON formatting (lossless, see _jsontext) and format conversion (see _formats)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools._datatree import DataError, Warnings
from devutils.tools._formats import Format, Options, read, write
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


# --- data/convert -----------------------------------------------------------------------------

_TOO_MUCH = 1 << 40  # an estimate that always leaves the event loop


def _wire(name: str) -> Any:
    """A field whose wire name is a Python keyword (``from``)."""
    return {"validation_alias": AliasChoices(name), "serialization_alias": name}


class ConvertInput(ToolInput):
    content: str = Field(min_length=1, description="The document.")
    from_format: Format = Field(description="Input format.", **_wire("from"))
    to: Format = Field(description="Output format.")
    indent: int = Field(
        2, ge=0, le=MAX_INDENT, description="JSON/YAML/XML/TOML indent (0: compact JSON/XML)."
    )
    sort_keys: bool = Field(False, description="Sort object keys.")
    delimiter: str | None = Field(
        None,
        min_length=1,
        max_length=1,
        description="CSV/TSV delimiter (default , or tab; not a double quote or a line break).",
    )
    header: bool = Field(True, description="CSV/TSV has (reads/writes) a header row.")
    xml_root: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="XML root element (default: the single top key, else root).",
    )
    attribute_prefix: str = Field(
        "@", max_length=8, description="Key prefix for XML attributes (empty: no attributes)."
    )

    @field_validator("delimiter")
    @classmethod
    def _readable_delimiter(cls, value: str | None) -> str | None:
        # CSV quotes with " and quotes cells holding a line break: as the delimiter, either
        # would write text that does not read back.
        if value is not None and value in '"\r\n':
            raise ValueError("a double quote or a line break cannot be the delimiter")
        return value


class ConvertOutput(ToolOutput):
    result: str
    warnings: list[str] = Field(description="What the conversion could not keep exactly.")


def convert_estimate(inp: ConvertInput) -> int:
    content = inp.content
    if inp.from_format == "yaml" and ("*" in content or "<<" in content):
        return _TOO_MUCH  # aliases may expand to far more than the text
    if len(content) > _ESTIMATE_SCAN_LIMIT:
        return len(content) * (inp.indent + 1)
    brackets = content.count("[") + content.count("{") + content.count("<")
    return len(content) * 4 + brackets * nesting_depth(content) * inp.indent


@tool(
    "/api/v1/data/convert",
    blocking="large",
    estimate=convert_estimate,
    title="Convert data formats",
    description="Convert between JSON, YAML, TOML, XML, CSV, TSV and query strings with safe "
    "parsers; lossy steps are listed in warnings.",
    examples=(
        Example({"content": '{"name":"app","ports":[80,443]}', "from": "json", "to": "yaml"}),
        Example({"content": "a: 1\nb: [x, y]\n", "from": "yaml", "to": "toml"}),
        Example({"content": '<user id="7"><name>Ann</name></user>', "from": "xml", "to": "json"}),
        Example({"content": "name,age\nAnn,30\nBob,25\n", "from": "csv", "to": "json"}),
        Example({"content": '[{"a":1,"b":{"c":2}}]', "from": "json", "to": "csv"}),
    ),
)
def data_convert(inp: ConvertInput, ctx: ToolContext) -> ConvertOutput:
    settings = ctx.settings
    opts = Options(
        indent=inp.indent,
        sort_keys=inp.sort_keys,
        delimiter=inp.delimiter,
        header=inp.header,
        xml_root=inp.xml_root,
        attribute_prefix=inp.attribute_prefix,
        max_depth=settings.max_json_depth,
    )
    warnings = Warnings()
    budget = ctx.output_budget("Conversion failed")
    try:
        value = read(inp.content, inp.from_format, opts, warnings)
        result = write(value, inp.to, opts, budget.charge, warnings)
    except DataError as exc:
        raise ValidationError("Conversion failed", str(exc)) from None
    except RecursionError:
        raise ValidationError("Conversion failed", "nesting too deep") from None
    return ConvertOutput(result=result, warnings=warnings.lines())
