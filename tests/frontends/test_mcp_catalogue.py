"""What MCP's tools/list costs an agent: compact schemas that validate exactly like the full
ones, the whole-catalogue byte budget, and the toolset presets."""

from __future__ import annotations

from typing import Any

import jsonschema
import orjson
import pytest
from mcp import Client

from devutils.errors import ToolError
from devutils.frontends.cli_input import secret_fields, wire
from devutils.frontends.mcp import McpFrontend, build_server
from devutils.frontends.openapi import build_openapi
from devutils.frontends.schema import (
    compact_input_schema,
    compact_output_schema,
    input_schema,
    nullable_as_type,
    output_schema,
    without_titles,
)
from devutils.frontends.toolsets import PRESETS
from devutils.registry import CallInfo, Registry, ToolSpec, catalogue, dump_output
from devutils.settings import SettingsError
from tests.conftest import make_settings

# Issue #15/#16: the whole catalogue's tools/list after both breadth issues.
CATALOGUE_BUDGET_BYTES = 45_000
SPECS = catalogue()


def _verdict(schema: dict[str, Any], instance: Any) -> bool:
    return bool(jsonschema.Draft202012Validator(schema).is_valid(instance))


def _probes(spec: ToolSpec) -> list[Any]:
    """Inputs on both sides of the schema: the examples, and each field set to a value of every
    JSON type (null included), so nullable and type rules are exercised."""
    probes: list[Any] = [dict(example.args) for example in spec.examples]
    base = dict(spec.examples[0].args) if spec.examples else {}
    for field in input_schema(spec)["properties"]:
        value: Any
        for value in (None, "x", 0, 1.5, True, [], {}, "", -1):
            probes.append({**base, field: value})
    probes.append({**base, "notAField": 1})
    return probes


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_compact_input_schema_accepts_exactly_what_the_full_one_does(spec: ToolSpec) -> None:
    full, compact = input_schema(spec), compact_input_schema(spec)
    assert len(orjson.dumps(compact)) <= len(orjson.dumps(full))
    verdicts = [(_verdict(full, p), _verdict(compact, p)) for p in _probes(spec)]
    assert all(a == b for a, b in verdicts), [
        p for p, v in zip(_probes(spec), verdicts, strict=True) if v[0] != v[1]
    ]
    # The probes reach both sides, or the comparison proves nothing.
    assert {a for a, _ in verdicts} == {True, False}


# Network tools' examples need the network; their output models are checked like any other's.
OFFLINE = [spec for spec in SPECS if not spec.open_world]


@pytest.mark.parametrize("spec", OFFLINE, ids=[spec.name for spec in OFFLINE])
async def test_results_validate_against_the_compact_output_schema(
    spec: ToolSpec, registry: Registry
) -> None:
    schema = compact_output_schema(spec)
    answered = 0
    for example in spec.examples:
        try:
            output = await registry.invoke(spec, dict(example.args), CallInfo(frontend="mcp"))
        except ToolError:
            continue  # an example of a refusal (algorithm confusion, say): no result to check
        answered += 1
        data = dump_output(output)
        assert _verdict(output_schema(spec), data)
        assert _verdict(schema, data), data
        for field in schema.get("required", []):
            # A result missing a required field is refused by both, or the schema checks nothing.
            broken = {key: value for key, value in data.items() if key != field}
            assert not _verdict(schema, broken)
            assert not _verdict(output_schema(spec), broken)
    assert answered, "no example of this tool produces a result"


def test_titles_go_but_a_property_called_title_and_data_stay() -> None:
    schema = {
        "title": "Model",
        "properties": {
            "title": {"title": "Title", "type": "string", "default": {"title": "kept"}},
            "kind": {"enum": [{"title": "kept too"}]},
        },
    }
    assert without_titles(schema) == {
        "properties": {
            "title": {"type": "string", "default": {"title": "kept"}},
            "kind": {"enum": [{"title": "kept too"}]},
        },
    }


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "default": None},
            {"type": ["string", "null"], "maxLength": 3, "default": None},
        ),
        # enum constrains every type: merging would refuse null, so it stays an anyOf.
        (
            {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "null"}]},
            {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "null"}]},
        ),
        # A $ref has no single type to extend.
        (
            {
                "anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}],
                "$defs": {"X": {"type": "string"}},
            },
            {
                "anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}],
                "$defs": {"X": {"type": "string"}},
            },
        ),
    ],
    ids=["type-local", "enum-kept", "ref-kept"],
)
def test_nullable_becomes_a_type_list_only_where_equivalent(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert nullable_as_type(schema) == expected
    for value in (None, "a", "abcd", 1):
        assert _verdict(schema, value) == _verdict(expected, value)


async def test_whole_catalogue_fits_the_budget(registry: Registry) -> None:
    """The issue's budget for every tool of every family, as the client receives it."""
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        listed = (await mcp.list_tools()).tools
    wire = orjson.dumps(
        [tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in listed]
    )
    assert len(listed) == len(registry)
    assert len(wire) <= CATALOGUE_BUDGET_BYTES, f"tools/list is {len(wire)} bytes"


def _names(registry: Registry, toolsets: str) -> list[str]:
    return list(McpFrontend(registry, make_settings(mcp_toolsets=toolsets)).tools)


def test_essentials_preset_lists_its_tools(registry: Registry) -> None:
    names = _names(registry, "essentials")
    assert set(names) == set(PRESETS["essentials"])
    assert len(names) < len(registry)


def test_presets_name_only_real_tools() -> None:
    known = {spec.name for spec in SPECS}
    for preset, names in PRESETS.items():
        assert set(names) <= known, preset


def test_presets_and_families_combine(registry: Registry) -> None:
    names = set(_names(registry, "essentials,network"))
    network = {spec.name for spec in registry if spec.family == "network"}
    assert names == set(PRESETS["essentials"]) | network


def test_unknown_toolset_lists_presets_and_families(registry: Registry) -> None:
    with pytest.raises(SettingsError, match=r"MCP_TOOLSETS.*essential.*essentials"):
        McpFrontend(registry, make_settings(mcp_toolsets="essential"))


def _secret_properties(schema: dict[str, Any]) -> set[str]:
    return {name for name, prop in schema["properties"].items() if prop.get("writeOnly") is True}


async def test_secret_fields_are_write_only_in_every_schema(registry: Registry) -> None:
    """One rule (the CLI's --FIELD-env secrets) marks writeOnly in the schema REST lists, OpenAPI
    documents and MCP announces; the web pages mask those fields and keep them out of URLs."""
    expected = {
        spec.name: {
            spec.input_model.model_fields[name].serialization_alias or wire(name)
            for name in secret_fields(spec.input_model)
        }
        for spec in registry
    }
    assert expected["crypto_password_hash"] == {"password"}
    assert expected["crypto_hmac"] == {"key"}
    assert expected["crypto_totp"] == {"secret"}
    assert expected["crypto_cert_selfsigned"] == {"privateKey"}
    assert expected["crypto_hash"] == {"key"}  # not keyEncoding: a choice, not a secret
    assert expected["text_case"] == set()
    document = build_openapi(registry)
    async with Client(build_server(registry, registry.context.settings)) as mcp:
        listed = {tool.name: tool.input_schema for tool in (await mcp.list_tools()).tools}
    for spec in registry:
        assert _secret_properties(input_schema(spec)) == expected[spec.name], spec.name
        assert _secret_properties(listed[spec.name]) == expected[spec.name], spec.name
        operation = next(iter(document["paths"][spec.path].values()))
        if "requestBody" not in operation:  # a GET tool: nothing to send, nothing secret
            assert not expected[spec.name], spec.name
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]
        component = document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        assert _secret_properties(component) == expected[spec.name], spec.name
