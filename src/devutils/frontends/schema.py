"""JSON Schemas of a tool's input and output, computed once from its models.

REST's OpenAPI document, the tool listing and MCP's tool definitions all read these, so a schema
is never written twice.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from devutils.registry import ToolSpec


@cache
def _input_schema(model: type) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")  # type: ignore[attr-defined]
    schema.setdefault("properties", {})
    # ToolInput forbids unknown fields, so pydantic already says additionalProperties: false.
    return schema


@cache
def _output_schema(model: type) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="serialization")  # type: ignore[attr-defined]
    return schema


def input_schema(spec: ToolSpec) -> dict[str, Any]:
    return _input_schema(spec.input_model)


def output_schema(spec: ToolSpec) -> dict[str, Any]:
    return _output_schema(spec.output_model)
