"""data tools: JSON Schema validation (drafts 7, 2019-09, 2020-12) and inference from samples.

References resolve only inside the schema and to the drafts' own meta-schemas: the registry's
retrieve hook refuses every other URI, so a remote ``$ref`` is never fetched (no network, no SSRF).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, Literal

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import referencing
import referencing.exceptions
from pydantic import Field, JsonValue

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, always_off_loop, tool
from devutils.tools._datatree import DataError, TextFormat, escape_pointer, load_text
from devutils.tools._schemakeywords import UnsupportedPattern, bounded, search

MAX_ERRORS = 100
MAX_SAMPLES = 100
_ERROR = "Schema validation failed"
_INFER_ERROR = "Schema inference failed"

Draft = Literal["auto", "7", "2019-09", "2020-12"]
_DRAFTS: dict[str, Any] = {
    "7": jsonschema.Draft7Validator,
    "2019-09": jsonschema.Draft201909Validator,
    "2020-12": jsonschema.Draft202012Validator,
}
_DRAFT_NAMES: dict[Any, str] = {
    jsonschema.Draft3Validator: "3",
    jsonschema.Draft4Validator: "4",
    jsonschema.Draft6Validator: "6",
    **{cls: name for name, cls in _DRAFTS.items()},
}
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    raise LookupError(f"remote references are not fetched ({uri})")


# Metaschemas are added by jsonschema itself; anything else that is not in the schema is refused.
# (retrieve is the documented attrs alias of the private field, which the stubs cannot see.)
_NO_REMOTE: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def _shortened(message: str, limit: int = 1000) -> str:
    """jsonschema's messages quote the failing value whole, and their meaning comes last ("...
    has non-unique elements"): a long one keeps its start and its end."""
    if len(message) <= limit:
        return message
    half = (limit - 5) // 2
    return f"{message[:half]} ... {message[-half:]}"


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + escape_pointer(str(part)) for part in parts)


def _re2_regex(instance: object) -> bool:
    """The metaschema's ``format: regex`` as the validation runs patterns: on RE2 (raises
    UnsupportedPattern). Python's ``re`` refused RE2 syntax such as ``\\p{L}``, and accepted
    look-arounds that the validation then refused."""
    if isinstance(instance, str):
        search(instance, "")  # compiles it as the validation will, raising what RE2 refuses
    return True


@functools.cache
def _metaschema_formats(cls: Any) -> jsonschema.FormatChecker:
    """The draft's own format checker for its metaschema, with ``regex`` checked by RE2."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers.update(cls.FORMAT_CHECKER.checkers)
    checker.checks("regex", raises=UnsupportedPattern)(_re2_regex)
    return checker


def _check_schema(cls: Any, schema: Any) -> None:
    try:
        cls.check_schema(schema, format_checker=_metaschema_formats(cls))
    except jsonschema.exceptions.SchemaError as exc:
        where = _pointer(exc.absolute_path) or "/"
        if isinstance(exc.cause, UnsupportedPattern):
            raise ValidationError(_ERROR, f"invalid schema at {where}: {exc.cause}") from None
        raise ValidationError(_ERROR, f"invalid schema at {where}: {exc.message}") from None
    except RecursionError:  # the metaschema check recurses with the schema's nesting
        raise ValidationError(_ERROR, "the schema nests too deeply") from None


def _reference_keyword(schema: Any, reference: str) -> str:
    """Which keyword holds the reference that failed (the library's error does not say)."""
    stack = [schema]
    found: set[str] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for keyword in ("$ref", "$dynamicRef"):
                value = node.get(keyword)
                if isinstance(value, str) and value.endswith(reference):
                    found.add(keyword)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return "$dynamicRef" if found == {"$dynamicRef"} else "$ref"


def _unresolvable(schema: Any, exc: referencing.exceptions.Unresolvable) -> str:
    """Why a reference failed; a local one (``#/...``, ``#anchor``) is missing, not remote."""
    # jsonschema raises its own wrapper of the referencing error, chained from it.
    cause = exc.__cause__ if isinstance(exc.__cause__, referencing.exceptions.Unresolvable) else exc
    if isinstance(cause, referencing.exceptions.PointerToNowhere):
        reference = f"#{cause.ref}"
        where = f"nothing at {cause.ref or '/'}"
    elif isinstance(cause, referencing.exceptions.NoSuchAnchor):
        reference = f"{cause.ref}#{cause.anchor}"
        where = f"no anchor {cause.anchor!r}"
    else:
        return (
            f"cannot resolve $ref {cause.ref!r}: only references inside the schema are "
            "followed (remote references are never fetched)"
        )
    resource = cause.resource.id()
    inside = f"the schema resource {resource!r}" if resource else "the schema"
    keyword = _reference_keyword(schema, reference)
    return f"cannot resolve {keyword} {reference!r}: {inside} has {where}"


class SchemaValidateInput(ToolInput):
    content: str = Field(min_length=1, description="The instance (JSON or YAML).")
    json_schema: str = Field(
        min_length=1,
        description="The schema (JSON or YAML).",
        validation_alias="schema",
        serialization_alias="schema",
    )
    draft: Draft = Field("auto", description="Draft; auto reads $schema (default 2020-12).")
    format: TextFormat = Field("json", description="Format of content and schema.")


class SchemaError(ToolOutput):
    instance_path: str = Field(description="JSON pointer to the failing value.")
    schema_path: str = Field(description="Path of the failing keyword ($refs followed).")
    keyword: str
    message: str


class SchemaValidateOutput(ToolOutput):
    valid: bool
    draft: str = Field(description="The draft used.")
    errors: list[SchemaError] = Field(description=f"At most {MAX_ERRORS}, in schema order.")
    truncated: bool = Field(description="More errors than listed.")


def _load(text: str, fmt: TextFormat, what: str, max_depth: int, message: str) -> Any:
    try:
        return load_text(text, fmt, max_depth)
    except DataError as exc:
        raise ValidationError(message, f"{what}: {exc}") from None


@tool(
    "/api/v1/data/schema/validate",
    blocking="large",
    # Never on the event loop: anyOf chains are exponential in the schema's size, so the cost
    # does not follow the text's size.
    estimate=always_off_loop,
    title="Validate against a JSON Schema",
    description="Validate a JSON or YAML document against a JSON Schema (draft 7, 2019-09 or "
    "2020-12); each error has its JSON pointer. Remote $refs are never fetched; patterns run "
    "on RE2 (no look-around or back-references).",
    examples=(
        Example(
            {
                "content": '{"name":"Ann","age":-1}',
                "schema": '{"type":"object","required":["name","email"],'
                '"properties":{"age":{"type":"integer","minimum":0}}}',
            }
        ),
        Example({"content": "[1, 2]", "schema": '{"type":"array","items":{"type":"integer"}}'}),
    ),
)
def data_schema_validate(inp: SchemaValidateInput, ctx: ToolContext) -> SchemaValidateOutput:
    depth = ctx.settings.max_json_depth
    schema = _load(inp.json_schema, inp.format, "schema", depth, _ERROR)
    instance = _load(inp.content, inp.format, "content", depth, _ERROR)
    if not isinstance(schema, dict | bool):
        raise ValidationError(_ERROR, "schema: must be an object or a boolean")
    if inp.draft == "auto":
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    else:
        cls = _DRAFTS[inp.draft]
    _check_schema(cls, schema)
    validator = bounded(cls)(schema, registry=_NO_REMOTE)
    errors: list[SchemaError] = []
    truncated = False
    try:
        for error in validator.iter_errors(instance):
            if len(errors) == MAX_ERRORS:
                truncated = True
                break
            errors.append(
                SchemaError(
                    instance_path=_pointer(error.absolute_path),
                    schema_path=_pointer(error.absolute_schema_path),
                    keyword="false" if error.validator is None else str(error.validator),
                    message=_shortened(error.message),
                )
            )
    except referencing.exceptions.Unresolvable as exc:
        raise ValidationError(_ERROR, _unresolvable(schema, exc)) from None
    except RecursionError:
        raise ValidationError(_ERROR, "the schema's references nest too deeply") from None
    except UnsupportedPattern as exc:
        raise ValidationError(_ERROR, f"invalid schema: {exc}") from None
    except (OverflowError, ValueError) as exc:
        # e.g. multipleOf 0.1 against an integer too large for a float
        raise ValidationError(_ERROR, f"cannot check the content: {str(exc)[:200]}") from None
    return SchemaValidateOutput(
        valid=not errors, draft=_DRAFT_NAMES.get(cls, "unknown"), errors=errors, truncated=truncated
    )


# --- inference --------------------------------------------------------------------------------


def _infer(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        schema: dict[str, Any] = {"type": "array"}
        items = None
        for item in value:
            items = _infer(item) if items is None else _merge(items, _infer(item))
        if items is not None:
            schema["items"] = items
        return schema
    return {
        "type": "object",
        "properties": {key: _infer(item) for key, item in value.items()},
        "required": list(value),
    }


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema["type"]
    return list(kind) if isinstance(kind, list) else [kind]


_TYPE_ORDER = ("object", "array", "string", "number", "integer", "boolean", "null")


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """A schema both a and b satisfy (types united, object and array parts merged)."""
    types = set(_types(a)) | set(_types(b))
    if "number" in types:
        types.discard("integer")
    ordered = [kind for kind in _TYPE_ORDER if kind in types]
    merged: dict[str, Any] = {"type": ordered[0] if len(ordered) == 1 else ordered}
    if "object" in types:
        sides = [side for side in (a, b) if "properties" in side]
        properties: dict[str, Any] = {}
        for side in sides:
            for key, sub in side["properties"].items():
                properties[key] = _merge(properties[key], sub) if key in properties else sub
        required = [key for key in sides[0]["required"] if all(key in s["required"] for s in sides)]
        merged["properties"] = properties
        merged["required"] = required
    if "array" in types:
        items = [side["items"] for side in (a, b) if "items" in side]
        if items:
            merged["items"] = items[0] if len(items) == 1 else _merge(items[0], items[1])
    return merged


class SchemaInferInput(ToolInput):
    samples: list[str] = Field(
        min_length=1, max_length=MAX_SAMPLES, description="Sample documents (JSON or YAML)."
    )
    format: TextFormat = Field("json", description="Format of the samples.")


class SchemaInferOutput(ToolOutput):
    json_schema: dict[str, JsonValue] = Field(
        alias="schema", description="A draft 2020-12 schema every sample satisfies."
    )


def infer_estimate(inp: SchemaInferInput) -> int:
    return sum(map(len, inp.samples)) * 4


@tool(
    "/api/v1/data/schema/infer",
    blocking="large",
    estimate=infer_estimate,
    title="Infer a JSON Schema",
    description="Infer a draft 2020-12 JSON Schema from one or more JSON or YAML samples.",
    examples=(Example({"samples": ['{"id":1,"tags":["a"]}', '{"id":2.5,"name":null}']}),),
)
def data_schema_infer(inp: SchemaInferInput, ctx: ToolContext) -> SchemaInferOutput:
    depth = ctx.settings.max_json_depth
    schema: dict[str, Any] | None = None
    for index, text in enumerate(inp.samples):
        value = _load(text, inp.format, f"samples[{index}]", depth, _INFER_ERROR)
        try:
            inferred = _infer(value)
            schema = inferred if schema is None else _merge(schema, inferred)
        except RecursionError:
            raise ValidationError(_INFER_ERROR, "nesting too deep") from None
    assert schema is not None  # at least one sample
    return SchemaInferOutput(json_schema={"$schema": DRAFT_2020_12, **schema})
