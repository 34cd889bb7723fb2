"""JSON Schemas of a tool's input and output, computed once from its models.

REST's OpenAPI document, the tool listing and MCP's tool definitions all read these, so a schema
is never written twice.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from devutils.frontends.cli_input import secret_fields
from devutils.registry import ToolSpec


@cache
def _input_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    schema.setdefault("properties", {})
    # writeOnly (JSON Schema 2020-12 §9.4, OpenAPI 3.1): sent, never shown back.  The pages mask
    # such fields and keep them out of URLs and command lines; the marker is the CLI's own rule
    # (--FIELD-env), so the two cannot disagree.  Shorter than format: password, which also
    # suggests a one-line input (a PEM private key is not).
    for name in secret_fields(model):
        schema["properties"][model.model_fields[name].serialization_alias or to_camel(name)][
            "writeOnly"
        ] = True
    # ToolInput forbids unknown fields, so pydantic already says additionalProperties: false.
    return schema


@cache
def _output_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="serialization")
    return schema


def input_schema(spec: ToolSpec) -> dict[str, Any]:
    return _input_schema(spec.input_model)


def output_schema(spec: ToolSpec) -> dict[str, Any]:
    return _output_schema(spec.output_model)


# Keywords whose values are data, not schemas: a "title" key inside them is part of the data.
_DATA_KEYWORDS = frozenset({"default", "examples", "const", "enum"})


def without_titles(schema: Any) -> Any:
    """The schema without its ``title`` annotations.

    pydantic titles every model and field after its own name ("Casetype" for ``caseType``): no
    information an agent lacks, about a tenth of every MCP tool definition.  ``title`` is an
    annotation (JSON Schema 2020-12 §9.1), so dropping it changes no validation result.  A
    property *named* "title" maps to a schema, not a string, and stays.
    """
    if isinstance(schema, list):
        return [without_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: value if key in _DATA_KEYWORDS else without_titles(value)
        for key, value in schema.items()
        if not (key == "title" and isinstance(value, str))
    }


# Keywords that constrain only values of their own JSON type (JSON Schema 2020-12 §6.2-6.5), plus
# annotations: a schema made of these accepts null as soon as "null" joins its type.
_TYPE_LOCAL = frozenset(
    {
        "type", "format", "minLength", "maxLength", "pattern", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "items", "minItems", "maxItems",
        "uniqueItems", "properties", "required", "additionalProperties", "propertyNames",
        "minProperties", "maxProperties", "description",
    }
)  # fmt: skip


def nullable_as_type(schema: Any) -> Any:
    """``anyOf: [S, {"type": "null"}]`` written as S with ``"null"`` added to its type.

    pydantic spells every ``X | None`` field as an anyOf of two schemas; the type list says the
    same thing (the same values validate) in a third of the bytes.  Only done when S has a single
    type and only type-local keywords, where the two are equivalent; anything else is kept.
    """
    if isinstance(schema, list):
        return [nullable_as_type(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: value if key in _DATA_KEYWORDS else nullable_as_type(value)
        for key, value in schema.items()
    }
    branches = out.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[0] if branches[1] == {"type": "null"} else branches[1]
        if (
            isinstance(other, dict)
            and isinstance(other.get("type"), str)
            and set(other) <= _TYPE_LOCAL
            and not set(other) & set(out) - {"anyOf"}
        ):
            del out["anyOf"]
            out.update(other)
            out["type"] = [other["type"], "null"]
    return out


def without_defaults(schema: Any) -> Any:
    """An output schema without ``default`` annotations: a result has no defaults to fill in."""
    if isinstance(schema, list):
        return [without_defaults(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: value if key in _DATA_KEYWORDS else without_defaults(value)
        for key, value in schema.items()
        if key != "default"
    }


@cache
def _compact(model: type[BaseModel], mode: str) -> dict[str, Any]:
    if mode == "validation":
        compact: dict[str, Any] = nullable_as_type(without_titles(_input_schema(model)))
    else:
        compact = nullable_as_type(without_titles(without_defaults(_output_schema(model))))
    return compact


def compact_input_schema(spec: ToolSpec) -> dict[str, Any]:
    """The input schema as MCP lists it: the same constraints, in fewer bytes (every tool
    definition costs an agent context on every turn)."""
    return _compact(spec.input_model, "validation")


def compact_output_schema(spec: ToolSpec) -> dict[str, Any]:
    return _compact(spec.output_model, "serialization")
