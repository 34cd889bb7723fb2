"""data/schema/validate and data/schema/infer: drafts, JSON pointers, remote $ref never fetched."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from devutils.errors import ValidationError
from devutils.registry import Registry, ToolContext, catalogue, dump_output
from tests.conftest import make_settings


def validate(registry: Registry, schema: Any, instance: Any, **options: Any) -> dict[str, Any]:
    spec = registry.get("data_schema_validate")
    assert spec is not None
    args = {
        "schema": schema if isinstance(schema, str) else json.dumps(schema),
        "content": instance if isinstance(instance, str) else json.dumps(instance),
        **options,
    }
    result: dict[str, Any] = dump_output(registry.invoke_sync(spec, args))
    return result


def errors(out: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["instancePath"], e["schemaPath"], e["keyword"]) for e in out["errors"]]


PERSON = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
        "a/b~c": {"type": "integer"},
    },
    "additionalProperties": False,
}

VECTORS = [
    (PERSON, {"name": "Ann", "tags": ["x"]}, []),
    (PERSON, {}, [("", "/required", "required")]),
    (PERSON, {"name": "", "tags": ["x", 2]},
     [("/name", "/properties/name/minLength", "minLength"),
      ("/tags/1", "/properties/tags/items/type", "type")]),
    (PERSON, {"name": "A", "a/b~c": "x"}, [("/a~1b~0c", "/properties/a~1b~0c/type", "type")]),
    (PERSON, {"name": "A", "extra": 1}, [("", "/additionalProperties", "additionalProperties")]),
    ({"$defs": {"pos": {"type": "integer", "minimum": 1}}, "items": {"$ref": "#/$defs/pos"}},
     [1, 0], [("/1", "/items/minimum", "minimum")]),
    ({"type": "integer"}, 1.0, []),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, None, [("", "/oneOf", "oneOf")]),
    (True, {"anything": 1}, []),
    (False, 1, [("", "", "false")]),
]  # fmt: skip
VECTOR_IDS = [
    "valid", "required", "nested-pointers", "pointer-escaping", "additional-properties",
    "local-ref", "integer-1.0", "one-of", "true-schema", "false-schema",
]  # fmt: skip


@pytest.mark.parametrize(("schema", "instance", "expected"), VECTORS, ids=VECTOR_IDS)
def test_errors_carry_json_pointers(
    registry: Registry, schema: Any, instance: Any, expected: list[tuple[str, str, str]]
) -> None:
    out = validate(registry, schema, instance)
    assert errors(out) == expected
    assert out["valid"] is (not expected)
    assert out["truncated"] is False


@pytest.mark.parametrize(
    ("schema", "draft", "used", "valid"),
    [
        # dependentRequired exists from 2019-09 on; draft 7 ignores the unknown keyword.
        ({"dependentRequired": {"a": ["b"]}}, "auto", "2020-12", False),
        ({"dependentRequired": {"a": ["b"]}}, "2019-09", "2019-09", False),
        ({"dependentRequired": {"a": ["b"]}}, "7", "7", True),
        ({"$schema": "http://json-schema.org/draft-07/schema#",
          "dependentRequired": {"a": ["b"]}}, "auto", "7", True),
        ({"$schema": "https://json-schema.org/draft/2019-09/schema",
          "dependentRequired": {"a": ["b"]}}, "auto", "2019-09", False),
        # draft 7's "dependencies" is the older spelling of the same rule.
        ({"$schema": "http://json-schema.org/draft-07/schema#",
          "dependencies": {"a": ["b"]}}, "auto", "7", False),
    ],
    ids=["default-2020-12", "forced-2019-09", "forced-7", "schema-7", "schema-2019-09",
         "draft-7-dependencies"],
)  # fmt: skip
def test_draft_selection(
    registry: Registry, schema: Any, draft: str, used: str, valid: bool
) -> None:
    out = validate(registry, schema, {"a": 1}, draft=draft)
    assert (out["draft"], out["valid"]) == (used, valid)


def test_prefix_items_is_2020_12_and_tuple_items_is_draft_7(registry: Registry) -> None:
    new = {"prefixItems": [{"type": "integer"}], "items": False}
    assert errors(validate(registry, new, [1, 2])) == [("", "/items", "items")]
    old = {"items": [{"type": "integer"}], "additionalItems": False}
    assert errors(validate(registry, old, ["x"], draft="7")) == [("/0", "/items/0/type", "type")]


def test_errors_are_capped_at_100(registry: Registry) -> None:
    out = validate(registry, {"items": {"type": "integer"}}, ["x"] * 150)
    assert len(out["errors"]) == 100
    assert out["truncated"] is True
    assert out["errors"][99]["instancePath"] == "/99"


def test_yaml_schema_and_instance(registry: Registry) -> None:
    schema = "type: object\nproperties:\n  port: {type: integer, maximum: 65535}\n"
    out = validate(registry, schema, "port: 70000\n", format="yaml")
    assert errors(out) == [("/port", "/properties/port/maximum", "maximum")]
    assert out["errors"][0]["message"] == "70000 is greater than the maximum of 65535"


@pytest.mark.parametrize(
    ("schema", "instance", "detail"),
    [
        ('{"type": 5}', "1", "invalid schema at /type"),
        ('{"minimum": "x"}', "1", "invalid schema at /minimum"),
        ("[1]", "1", "schema: must be an object or a boolean"),
        ("{", "1", "schema: invalid JSON"),
        ("{}", "{", "content: invalid JSON"),
        ('{"$ref": "#/$defs/missing"}', "1", "cannot resolve $ref"),
    ],
    ids=["bad-type", "bad-minimum", "array-schema", "schema-syntax", "instance-syntax",
         "missing-local-ref"],
)  # fmt: skip
def test_bad_schemas_are_400(registry: Registry, schema: str, instance: str, detail: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate(registry, schema, instance)
    assert caught.value.message == "Schema validation failed"
    assert detail in str(caught.value.details)


# --- remote references: a real listening socket that records every connection ------------------


class Canary:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.hits = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        body = json.dumps({"type": "string"}).encode()
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.hits += 1
            with conn:
                conn.sendall(
                    b"HTTP/1.0 200 OK\r\nContent-Type: application/schema+json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


def test_the_canary_answers_when_asked(canary: Canary) -> None:
    # Proves the canary would record a fetch (so a zero below means none was made).
    with socket.create_connection(("127.0.0.1", canary.port), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.0 200")
    assert canary.hits == 1


@pytest.mark.parametrize(
    "make_schema",
    [
        lambda port: {"$ref": f"http://127.0.0.1:{port}/s.json"},
        lambda port: {"properties": {"a": {"$ref": f"http://127.0.0.1:{port}/s.json#/x"}}},
        lambda port: {"$schema": f"http://127.0.0.1:{port}/meta", "type": "object"},
        lambda port: {"$id": "urn:x", "allOf": [{"$ref": f"http://127.0.0.1:{port}/"}]},
    ],
    ids=["root-ref", "nested-ref", "unknown-metaschema", "ref-beside-id"],
)
def test_remote_refs_are_never_fetched(
    registry: Registry, canary: Canary, make_schema: Any
) -> None:
    schema = make_schema(canary.port)
    if "$schema" in schema:  # an unknown $schema falls back to 2020-12 and is not fetched
        assert validate(registry, schema, {"a": 1})["draft"] == "2020-12"
    else:
        with pytest.raises(ValidationError) as caught:
            validate(registry, schema, {"a": 1})
        assert "remote references are never fetched" in str(caught.value.details)
    assert canary.hits == 0


def test_metaschema_refs_resolve_without_network(registry: Registry) -> None:
    schema = {"$ref": "https://json-schema.org/draft/2020-12/schema"}
    out = validate(registry, schema, {"type": 5})
    assert out["valid"] is False  # validated against the (bundled) metaschema


# --- inference ----------------------------------------------------------------------------------


def infer(
    registry: Registry, samples: list[Any], raw: bool = False, **options: Any
) -> dict[str, Any]:
    spec = registry.get("data_schema_infer")
    assert spec is not None
    texts = samples if raw else [json.dumps(s) for s in samples]
    schema: dict[str, Any] = dump_output(registry.invoke_sync(spec, {"samples": texts, **options}))[
        "schema"
    ]
    assert schema.pop("$schema") == "https://json-schema.org/draft/2020-12/schema"
    return schema


INFER = [
    ([1], {"type": "integer"}),
    ([1, 2.5], {"type": "number"}),
    (["x", None], {"type": ["string", "null"]}),
    ([[]], {"type": "array"}),
    ([[1, "a"]], {"type": "array", "items": {"type": ["string", "integer"]}}),
    ([{"a": 1, "b": True}, {"a": 2}],
     {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}},
      "required": ["a"]}),
    ([{"a": {"x": 1}}, {"a": {"x": "s", "y": None}}],
     {"type": "object", "required": ["a"],
      "properties": {"a": {"type": "object", "required": ["x"],
                           "properties": {"x": {"type": ["string", "integer"]},
                                          "y": {"type": "null"}}}}}),
    ([{"a": 1}, [1]],
     {"type": ["object", "array"], "properties": {"a": {"type": "integer"}}, "required": ["a"],
      "items": {"type": "integer"}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("samples", "expected"),
    INFER,
    ids=["integer", "integer-and-number", "nullable", "empty-array", "mixed-items",
         "optional-key", "nested", "object-or-array"],
)  # fmt: skip
def test_infer(registry: Registry, samples: list[Any], expected: dict[str, Any]) -> None:
    assert infer(registry, samples) == expected


@pytest.mark.parametrize("samples", [s for s, _ in INFER], ids=[str(i) for i in range(len(INFER))])
def test_every_sample_satisfies_the_inferred_schema(registry: Registry, samples: list[Any]) -> None:
    schema = infer(registry, samples)
    for sample in samples:
        jsonschema.Draft202012Validator(schema).validate(sample)


def test_infer_from_yaml(registry: Registry) -> None:
    assert infer(registry, ["a: 1\n"], raw=True, format="yaml") == {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
    }


def test_infer_names_the_bad_sample(registry: Registry) -> None:
    with pytest.raises(ValidationError) as caught:
        infer(registry, ['{"a": 1}', "{"], raw=True)
    assert str(caught.value.details).startswith("samples[1]: invalid JSON")


async def test_schema_tools_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/schema/validate", json={"schema": '{"type":"string"}', "content": "1"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "valid": False,
        "draft": "2020-12",
        "errors": [
            {"instancePath": "", "schemaPath": "/type", "keyword": "type",
             "message": "1 is not of type 'string'"}
        ],
        "truncated": False,
    }  # fmt: skip
    response = await client.post("/api/v1/data/schema/infer", json={"samples": ["true"]})
    assert response.json()["data"]["schema"]["type"] == "boolean"
    response = await client.post("/api/v1/data/schema/infer", json={"samples": []})
    assert response.status_code == 400


# --- keywords run in time that follows the input: RE2 patterns, hashed uniqueItems ------------

# Against jsonschema's own keywords: same errors, same messages.
SAME_AS_JSONSCHEMA = [
    ({"pattern": "^a+b$"}, "aab"),
    ({"pattern": "^a+b$"}, "aac"),
    ({"pattern": "b"}, "abc"),  # a search, not a full match
    ({"pattern": "^\\d{3}$"}, "123"),
    ({"pattern": "^[a-z]+$"}, 12),  # not a string: ignored
    ({"patternProperties": {"^x-": {"type": "integer"}}}, {"x-a": 1, "x-b": "no", "y": "ok"}),
    (
        {"properties": {"id": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": False},
        {"id": 1, "x-a": 2, "zz": 3, "aa": 4},
    ),
    (
        {"properties": {"id": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": False},
        {"id": 1, "zz": 3},
    ),
    ({"properties": {"id": {}}, "additionalProperties": False}, {"id": 1, "b": 2, "a": 3}),
    (
        {"additionalProperties": {"type": "string"}, "patternProperties": {"^n": {}}},
        {"n1": 1, "s": 2},
    ),
    ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"ok": 1, "Not": 2}),
    ({"uniqueItems": True}, [1, True, 0, False, None, "1"]),
    ({"uniqueItems": True}, [1, 1.0]),
    ({"uniqueItems": True}, [{"a": 1, "b": [2]}, {"b": [2], "a": 1.0}]),
    ({"uniqueItems": True}, [[1], [True], [0], [False]]),
    ({"uniqueItems": True}, [[1, 2], [2, 1], {"a": [1]}, {"a": [True]}]),
    ({"uniqueItems": False}, [1, 1]),
    ({"uniqueItems": True}, "not an array"),
]


@pytest.mark.parametrize(("schema", "instance"), SAME_AS_JSONSCHEMA)
@pytest.mark.parametrize("draft", ["7", "2019-09", "2020-12"])
def test_replaced_keywords_answer_as_jsonschema_does(
    registry: Registry, schema: dict[str, Any], instance: Any, draft: str
) -> None:
    oracle = {"7": jsonschema.Draft7Validator, "2019-09": jsonschema.Draft201909Validator}.get(
        draft, jsonschema.Draft202012Validator
    )(schema)
    expected = sorted((e.message, e.validator) for e in oracle.iter_errors(instance))
    out = validate(registry, schema, json.dumps(instance), draft=draft)
    assert sorted((e["message"], e["keyword"]) for e in out["errors"]) == expected
    assert out["valid"] is (expected == [])


# Each takes Python's backtracking `re` (or jsonschema's pairwise uniqueItems) far past the
# deadline: 2^40 steps for 40 "a"s, 2*10^8 comparisons for 20k objects.
EVIL = "^(a+)+$"
HOSTILE = [
    ({"pattern": EVIL}, "a" * 40 + "!", "does not match"),
    ({"patternProperties": {EVIL: {"type": "integer"}}}, {"a" * 40 + "!": "x"}, None),
    (
        {"patternProperties": {EVIL: {}}, "additionalProperties": False},
        {"a" * 40 + "!": 1},
        "does not match any of the regexes",
    ),
    ({"propertyNames": {"pattern": EVIL}}, {"a" * 40 + "!": 1}, "does not match"),
    ({"uniqueItems": True}, [{"n": n} for n in range(20_000)], None),
    ({"uniqueItems": True}, [{"n": n} for n in range(20_000)] + [{"n": 0}], "non-unique"),
]


@pytest.fixture(scope="module")
def patient() -> Iterator[Registry]:
    """A registry whose pool process is started, and the tool imported, by a cheap call first:
    a hostile case's deadline is then all its own work's, not a cold start's on a loaded machine.
    15 s still tells a bounded validation from Python's `re`, which takes hours on these."""
    registry = Registry(catalogue(), ToolContext(make_settings(tool_timeout=15)))
    assert validate(registry, {"type": "integer"}, 1)["valid"] is True
    yield registry
    registry.close()


@pytest.mark.parametrize(("schema", "instance", "message"), HOSTILE)
def test_hostile_patterns_and_unique_items_finish_within_the_deadline(
    patient: Registry, schema: dict[str, Any], instance: Any, message: str | None
) -> None:
    out = validate(patient, schema, json.dumps(instance))  # a timeout fails the test
    if message is None:
        assert out["valid"] is True, out
    else:
        assert out["valid"] is False
        assert message in out["errors"][0]["message"]  # a long message keeps its end
        assert len(out["errors"][0]["message"]) <= 1000


@pytest.mark.parametrize("pattern", ["^(?=a)a$", "(a)\\1", "a{2000}"])
def test_a_pattern_re2_cannot_run_is_refused_with_its_reason(
    registry: Registry, pattern: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate(registry, {"properties": {"p": {"pattern": pattern}}}, {"p": "aa"})
    details = str(caught.value.details)
    assert details.startswith(
        f"invalid schema at /properties/p/pattern: pattern {pattern!r}: not supported by RE2"
    )
    assert "look-around and back-references are not" in details


# The metaschema's `format: regex` is checked with RE2, as the patterns run: RE2 syntax that
# Python's re lacks is accepted, and what RE2 cannot run is refused whether content reaches it
# or not (Python's re said "'\\p{L}' is not a 'regex'" and let look-arounds through).
RE2_SYNTAX = [
    ({"pattern": "^\\p{L}+$"}, "Ärger", True),
    ({"pattern": "^\\p{L}+$"}, "a1", False),
    ({"patternProperties": {"^\\p{Lu}": {"type": "integer"}}}, {"Ä": "x", "ä": "x"}, False),
    ({"patternProperties": {"^\\p{Lu}": {"type": "integer"}}}, {"Ä": 1, "ä": "x"}, True),
    ({"propertyNames": {"pattern": "^\\pL+$"}}, {"ok": 1}, True),
    ({"pattern": "^(?P<n>x)$"}, "x", True),
]


@pytest.mark.parametrize(("schema", "instance", "valid"), RE2_SYNTAX)
@pytest.mark.parametrize("draft", ["7", "2019-09", "2020-12"])
def test_re2_pattern_syntax_is_accepted(
    registry: Registry, schema: dict[str, Any], instance: Any, valid: bool, draft: str
) -> None:
    out = validate(registry, schema, json.dumps(instance, ensure_ascii=False), draft=draft)
    assert out["valid"] is valid


@pytest.mark.parametrize(
    ("schema", "where", "pattern"),
    [
        ({"properties": {"p": {"pattern": "(?=a)"}}}, "/properties/p/pattern", "(?=a)"),
        ({"patternProperties": {"(?<!a)b": {}}}, "/patternProperties", "(?<!a)b"),
        ({"$defs": {"unused": {"pattern": "(a)\\1"}}}, "/$defs/unused/pattern", "(a)\\1"),
        ({"pattern": "[a"}, "/pattern", "[a"),
    ],
    ids=["unreached-lookahead", "pattern-properties-key", "unused-def", "unclosed-class"],
)
def test_a_pattern_re2_cannot_run_is_refused_before_the_content_is_read(
    registry: Registry, schema: dict[str, Any], where: str, pattern: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate(registry, schema, {"q": 1})
    details = str(caught.value.details)
    assert details.startswith(
        f"invalid schema at {where}: pattern {pattern!r}: not supported by RE2"
    )
    assert "is not a 'regex'" not in details


def test_a_pattern_the_metaschema_does_not_see_is_refused_when_reached(
    registry: Registry,
) -> None:
    # Under an unknown keyword the metaschema checks nothing; a $ref still makes it a schema.
    schema = {"x-defs": {"p": {"pattern": "(?=a)"}}, "$ref": "#/x-defs/p"}
    assert validate(registry, {"x-defs": schema["x-defs"]}, '"a"')["valid"] is True
    with pytest.raises(ValidationError) as caught:
        validate(registry, schema, '"a"')
    assert str(caught.value.details).startswith(
        "invalid schema: pattern '(?=a)': not supported by RE2"
    )


async def test_an_re2_unicode_class_is_accepted_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/schema/validate",
        json={"content": '"x"', "schema": '{"pattern":"\\\\p{L}"}'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "valid": True,
        "draft": "2020-12",
        "errors": [],
        "truncated": False,
    }


# A local reference that points nowhere is missing, not remote; the message shows it as written.
@pytest.mark.parametrize(
    ("schema", "detail"),
    [
        ({"$ref": "#/nope"}, "cannot resolve $ref '#/nope': the schema has nothing at /nope"),
        ({"$dynamicRef": "#meta"},
         "cannot resolve $dynamicRef '#meta': the schema has no anchor 'meta'"),
        ({"$ref": "#meta"}, "cannot resolve $ref '#meta': the schema has no anchor 'meta'"),
        ({"items": {"$ref": "#/$defs/a"}, "$defs": {"a": {"$ref": "#/$defs/zz"}}},
         "cannot resolve $ref '#/$defs/zz': the schema has nothing at /$defs/zz"),
        ({"$id": "urn:s", "$ref": "#/nope"},
         "cannot resolve $ref '#/nope': the schema resource 'urn:s' has nothing at /nope"),
    ],
    ids=["pointer", "dynamic-anchor", "anchor", "nested", "with-id"],
)  # fmt: skip
def test_a_missing_local_reference_is_named_as_written(
    registry: Registry, schema: dict[str, Any], detail: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate(registry, schema, [1])
    assert caught.value.message == "Schema validation failed"
    assert caught.value.details == detail
