"""Every declared tool is complete and consistent; OpenAPI and the tool listing come from it."""

from __future__ import annotations

import re

import httpx
import orjson
import pytest
from openapi_spec_validator import validate
from pydantic import Field

from devutils.errors import ToolError, ValidationError
from devutils.frontends.openapi import build_openapi
from devutils.frontends.schema import input_schema, output_schema
from devutils.models import ToolOutput
from devutils.registry import (
    Registry,
    ToolSpec,
    _plain_fields,
    catalogue,
    dump_output,
    dump_output_json,
)
from devutils.tools._bytesout import BytesOutput
from devutils.tools.ids import UuidOutput
from devutils.tools.timeconv import TimeNowOutput
from devutils.tools.transform import JwtDecodeOutput

SPECS = catalogue()
IDS = [spec.name for spec in SPECS]

# The reference's endpoints (seed-api-behaviour §0); every one must be a tool (more may follow).
REFERENCE_TOOLS = {
    "crypto_hash",
    "crypto_hmac",
    "crypto_password_hash",
    "crypto_password_verify",
    "crypto_cert_decode",
    "text_case",
    "text_info",
    "text_regex",
    "text_sort",
    "data_json_format",
    "transform_base64",
    "transform_url",
    "transform_jwt_decode",
    "transform_compress",
    "id_uuid",
    "id_nanoid",
    "time_convert",
    "time_now",
    "web_url",
    "network_ip",
    "network_headers",
    "network_dns",
}


def test_names_are_unique_and_follow_the_path_rule() -> None:
    assert len(set(IDS)) == len(IDS)
    for spec in SPECS:
        assert re.fullmatch(r"/api/v1/[a-z0-9]+(/[a-z0-9]+){0,2}", spec.path), (
            spec.path
        )  # /api/v1/pipeline is the one single-word path
        assert spec.name == spec.path.removeprefix("/api/v1/").replace("/", "_")


def test_every_reference_endpoint_is_a_tool() -> None:
    assert set(IDS) >= REFERENCE_TOOLS  # and our own tools beyond the reference


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_tool_is_complete(spec: ToolSpec) -> None:
    assert spec.title
    assert len(spec.title) <= 60
    assert spec.description
    assert len(spec.description) <= 300
    assert spec.description.strip() == spec.description
    assert spec.examples, "every tool needs at least one worked example"
    assert input_schema(spec)["type"] == "object"
    assert output_schema(spec)["type"] == "object"
    if spec.open_world:
        assert spec.family == "network"
        assert spec.blocking
    if spec.method == "GET":
        assert not spec.input_model.model_fields


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_examples_validate(spec: ToolSpec, registry: Registry) -> None:
    for example in spec.examples:
        registry.parse(spec, dict(example.args))


def test_openapi_document_is_valid(registry: Registry) -> None:
    document = build_openapi(registry)
    validate(document)  # raises on an invalid OpenAPI 3.1 document
    for spec in SPECS:
        operation = document["paths"][spec.path][spec.method.lower()]
        assert operation["operationId"] == spec.name


ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def error_schema(operation: dict[str, object], status: str) -> object:
    responses = operation["responses"]
    assert isinstance(responses, dict)
    assert status in responses, (operation["operationId"], status)
    return responses[status]["content"]["application/json"]["schema"]


def test_openapi_documents_the_errors_each_tool_operation_can_answer(
    registry: Registry,
) -> None:
    document = build_openapi(registry)
    for spec in SPECS:
        operation = document["paths"][spec.path][spec.method.lower()]
        responses = operation["responses"]
        # Everyone can be refused by the Host/Origin check and sent 405 for another method.
        for status in ("403", "405"):
            assert error_schema(operation, status) == ENVELOPE_REF
        assert "Allow" in responses["405"]["headers"]
        # 415 only where a body is read.
        assert ("415" in responses) == (spec.method == "POST"), spec.name
        if spec.method == "POST":
            assert error_schema(operation, "415") == ENVELOPE_REF
        # 504 only where a deadline applies: not on tools run inline (no pool, no deadline).
        can_time_out = spec.composite is not None or spec.open_world
        assert ("504" in responses) == (can_time_out or spec.cost_class != "inline"), spec.name
        if "504" in responses:
            assert error_schema(operation, "504") == ENVELOPE_REF
        if spec.open_world:
            assert "SSRF_BLOCKED" in responses["403"]["description"]
    timed = [
        spec.name
        for spec in SPECS
        if "504" in document["paths"][spec.path][spec.method.lower()]["responses"]
    ]
    assert {"text_regex", "crypto_password_hash", "network_headers", "pipeline"} <= set(timed)
    assert "id_uuid" not in timed  # inline: no deadline
    # The envelope is one component, referenced, never repeated inline.
    text = orjson.dumps(document).decode()
    assert text.count('"required":["success","error"]') == 1


def test_openapi_documents_the_service_routes_answers(registry: Registry) -> None:
    paths = build_openapi(registry)["paths"]
    ready = paths["/health/ready"]["get"]["responses"]
    # The registry's settings: no authentication, no rate limits, so no 401 or 429 is listed.
    assert set(ready) == {"200", "400", "405", "413", "503"}
    readiness = {"$ref": "#/components/schemas/Readiness"}
    assert ready["503"]["content"]["application/json"]["schema"] == readiness  # its own body
    assert ready["200"]["content"]["application/json"]["schema"] == readiness
    for probe in ("/health", "/health/live"):  # exempt from credentials, Host/Origin, limits
        assert set(paths[probe]["get"]["responses"]) == {"200", "400", "405", "413"}
    for path in ("/api/v1/status", "/api/v1/tools"):
        operation = paths[path]["get"]
        assert set(operation["responses"]) == {"200", "400", "403", "405", "413"}
        for status in ("400", "403", "405", "413"):
            assert error_schema(operation, status) == ENVELOPE_REF


async def test_openapi_and_tools_are_served(client: httpx.AsyncClient, registry: Registry) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) >= {spec.path for spec in SPECS}
    tools = (await client.get("/api/v1/tools")).json()["data"]["tools"]
    assert [tool["name"] for tool in tools] == [spec.name for spec in registry]
    first = tools[0]
    assert set(first) >= {
        "name",
        "title",
        "description",
        "path",
        "inputSchema",
        "outputSchema",
        "annotations",
    }
    assert first["annotations"]["destructiveHint"] is False


def test_input_schema_uses_reference_field_names() -> None:
    spec = next(spec for spec in SPECS if spec.name == "crypto_hmac")
    assert set(input_schema(spec)["properties"]) >= {"content", "key", "algorithm"}
    assert input_schema(spec)["required"] == ["content", "key", "algorithm"]
    assert input_schema(spec)["additionalProperties"] is False


@pytest.mark.parametrize("spec", [s for s in SPECS if not s.open_world], ids=lambda s: s.name)
def test_json_dump_is_the_dict_dump_encoded(spec: ToolSpec, registry: Registry) -> None:
    """REST and MCP skip pydantic's serializer for text-only outputs; what they write must be
    what pydantic would, as a dict and as JSON bytes."""
    dumped = 0
    for example in spec.examples:
        try:
            result = registry.invoke_sync(spec, dict(example.args))
        except ToolError:
            continue
        assert dump_output(result) == result.model_dump(mode="json", by_alias=True)
        written = dump_output_json(result)
        assert written == orjson.dumps(dump_output(result))
        assert written == type(result).__pydantic_serializer__.to_json(result, by_alias=True)
        dumped += 1
    assert dumped


class _Optional(ToolOutput):
    text: str
    extra: str | None = Field(None, exclude_if=lambda value: value is None)


def test_fields_excluded_when_empty_stay_excluded() -> None:
    """A text-only model whose field is left out when empty is dumped by pydantic, which honours
    the exclusion (the orjson shortcut would write ``"extra": null``)."""
    assert _plain_fields(_Optional) is None
    result = _Optional(text="a")
    assert dump_output(result) == {"text": "a"}
    assert dump_output_json(result) == b'{"text":"a"}'
    assert dump_output(_Optional(text="a", extra="b")) == {"text": "a", "extra": "b"}


@pytest.mark.parametrize(
    "value",
    [
        0.1,
        -0.0,
        1e16,
        1e15,
        1.5e300,
        5e-324,
        1e-7,
        0.30000000000000004,
        2**63 - 1,
        -(2**63),
        2**64 - 1,
        float("inf"),
        float("nan"),
        'caf\u00e9 \u2028 \x00\x1f\x7f \U0001f600 "\\ / <>&',
        True,
        None,
        [],
        {"nested": [1, {"x": 2.5}]},
    ],
    ids=repr,
)
def test_json_dump_agrees_on_awkward_values(value: object) -> None:
    """Free-form JSON (a decoded JWT) through both encoders: floats, escapes, non-finite."""
    result = JwtDecodeOutput(header={"alg": "none"}, payload={"claim": value})
    assert dump_output_json(result) == orjson.dumps(dump_output(result))


AWKWARD_TEXT = [
    "",
    'caf\u00e9 \u2028\u2029 \x00\x08\t\n\x0b\x0c\r\x1f\x7f \U0001f600 "\\ / <>&',
    "\ufeff\u200b\ufffd" + "x" * 5000,
    "".join(chr(code) for code in range(0x20)),
]


@pytest.mark.parametrize("text", AWKWARD_TEXT, ids=repr)
def test_plain_models_go_through_orjson_with_pydantic_bytes(text: str) -> None:
    """Text-only outputs skip pydantic's serializer; the bytes must be what it would write."""
    outputs = [
        BytesOutput(result=text),
        BytesOutput(result=text, is_binary=True, result_base64=text),
        UuidOutput(uuids=[text, text]),
    ]
    for result in outputs:
        assert _plain_fields(type(result)) is not None
        expected = type(result).__pydantic_serializer__.to_json(result, by_alias=True)
        assert dump_output_json(result) == expected


def test_unencodable_text_in_an_output_is_the_input_s_fault() -> None:
    """orjson refuses a lone surrogate, pydantic's serializer too: a 400, whichever path."""
    for result in (
        BytesOutput(result="\ud800"),
        TimeNowOutput(
            unix_seconds=1,
            unix_milliseconds=1000,
            iso8601="\ud800",
            rfc3339="",
            human_readable="",
        ),
    ):
        with pytest.raises(ValidationError) as error:
            dump_output_json(result)
        assert error.value.details == "text contains unpaired surrogate code points"


def test_models_with_other_fields_are_not_plain() -> None:
    assert _plain_fields(JwtDecodeOutput) is None  # free-form JSON: floats
    assert _plain_fields(TimeNowOutput) is None  # numbers


def test_fields_left_out_when_none_stay_out_on_the_fast_path() -> None:
    """Output models of plain fields skip pydantic's serializer; ``exclude_if`` must still hold."""
    from devutils.registry import dump_output_json
    from devutils.tools.timeconv import TimeConvertOutput

    bare = TimeConvertOutput(result="x")
    assert dump_output(bare) == {"result": "x"}
    assert dump_output_json(bare) == b'{"result":"x"}'
    full = TimeConvertOutput(result="x", timezone="UTC", offset="+00:00", is_dst=False)
    assert dump_output(full) == {
        "result": "x",
        "timezone": "UTC",
        "offset": "+00:00",
        "isDst": False,
    }
