"""data/convert: safe parsers (YAML safe loading with bounded aliases, defusedxml), lossy steps
listed in warnings, depth and output caps."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import defusedxml.ElementTree
import httpx
import pytest
import yaml

from devutils.errors import RequestTooLargeError, ValidationError
from devutils.registry import Registry, dump_output
from devutils.tools._datatree import DataError, check_yaml_events
from tests.conftest import FIXED_NOW, make_settings


def convert(registry: Registry, content: str, source: str, target: str, **options: Any) -> Any:
    spec = registry.get("data_convert")
    assert spec is not None
    args = {"content": content, "from": source, "to": target, **options}
    return dump_output(registry.invoke_sync(spec, args))


def refused(registry: Registry, content: str, source: str, target: str, **options: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        convert(registry, content, source, target, **options)
    assert caught.value.message == "Conversion failed"
    return str(caught.value.details)


CONVERSIONS = [
    ('{"b":1,"a":[true,null,1.5]}', "json", "yaml", {}, "b: 1\na:\n- true\n- null\n- 1.5\n"),
    ('{"b":1,"a":2}', "json", "yaml", {"sortKeys": True}, "a: 2\nb: 1\n"),
    ('{"a":{"b":[1,2]}}', "json", "json", {"indent": 0}, '{"a":{"b":[1,2]}}'),
    ('{"a":{"b":1}}', "json", "json", {"indent": 4}, '{\n    "a": {\n        "b": 1\n    }\n}'),
    ("a: 1\nb: [x, 'y']\nc: {d: null}\n", "yaml", "json", {"indent": 0},
     '{"a":1,"b":["x","y"],"c":{"d":null}}'),
    ("x: yes\ny: 0x1F\nz: ~\n", "yaml", "json", {"indent": 0}, '{"x":true,"y":31,"z":null}'),
    ('title = "t"\n[owner]\nname = "Ann"\n', "toml", "json", {"indent": 0},
     '{"title":"t","owner":{"name":"Ann"}}'),
    ('{"a":1,"t":{"x":[1,2]}}', "json", "toml", {}, "a = 1\n\n[t]\nx = [\n  1,\n  2,\n]\n"),
    ('<a x="1"><b>t</b><b>u</b><c/></a>', "xml", "json", {"indent": 0},
     '{"a":{"@x":"1","b":["t","u"],"c":null}}'),
    ('<a x="1">hi</a>', "xml", "json", {"indent": 0, "attributePrefix": "_"},
     '{"a":{"_x":"1","#text":"hi"}}'),
    ('{"a":{"@x":"1 & 2","b":["t","<u>"]}}', "json", "xml", {},
     '<?xml version="1.0" encoding="UTF-8"?>\n<a x="1 &amp; 2">\n  <b>t</b>\n  <b>&lt;u&gt;</b>\n</a>\n'),
    ('{"b":"t"}', "json", "xml", {"xmlRoot": "doc", "indent": 0},
     '<?xml version="1.0" encoding="UTF-8"?>\n<doc><b>t</b></doc>\n'),
    ('name,note\nAnn,"a, b"\nBob,"say ""hi"""\n', "csv", "json", {"indent": 0},
     '[{"name":"Ann","note":"a, b"},{"name":"Bob","note":"say \\"hi\\""}]'),
    ("a,b\n1,2\n", "csv", "json", {"indent": 0, "header": False}, '[["a","b"],["1","2"]]'),
    ("a;b\n1;2\n", "csv", "json", {"indent": 0, "delimiter": ";"}, '[{"a":"1","b":"2"}]'),
    ("a\tb\n1\t2\n", "tsv", "json", {"indent": 0}, '[{"a":"1","b":"2"}]'),
    ('[{"a":"x,y","b":2},{"b":3,"a":"z"}]', "json", "csv", {}, 'a,b\n"x,y",2\nz,3\n'),
    ('[{"a":1,"b":2}]', "json", "tsv", {}, "a\tb\n1\t2\n"),
    ("[[1,2],[3,4]]", "json", "csv", {}, "1,2\n3,4\n"),
    ("a=1&b=x+y&b=%26", "querystring", "json", {"indent": 0}, '{"a":"1","b":["x y","&"]}'),
    ("?q=", "querystring", "json", {"indent": 0}, '{"q":""}'),
    ('{"q":"a b&c","n":[1,2],"t":true}', "json", "querystring", {}, "q=a%20b%26c&n=1&n=2&t=true"),
    ('{"k":"grüße 世界"}', "json", "yaml", {}, "k: grüße 世界\n"),
    # Strings a YAML 1.2 reader would take for numbers (PyYAML's 1.1 wrote them plain).
    ('{"a":"1e3","b":"0o17","1E+3":"-.5e-2","c":"1e3x","d":"0o8"}', "json", "yaml", {},
     "a: '1e3'\nb: '0o17'\n'1E+3': '-.5e-2'\nc: 1e3x\nd: 0o8\n"),
]  # fmt: skip
CONVERSION_IDS = [
    "json-yaml", "json-yaml-sorted", "json-compact", "json-indent-4", "yaml-json",
    "yaml-1.1-scalars", "toml-json", "json-toml", "xml-json-repeated-and-empty",
    "xml-attribute-prefix-and-text", "json-xml-escaping", "json-xml-root-option", "csv-quoting",
    "csv-no-header", "csv-delimiter", "tsv-json", "json-csv-key-union", "json-tsv",
    "json-csv-rows", "querystring-json", "querystring-leading-question-mark",
    "json-querystring", "unicode-raw", "yaml-1.2-numbers-quoted",
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "source", "target", "options", "expected"), CONVERSIONS, ids=CONVERSION_IDS
)
def test_conversions(
    registry: Registry,
    content: str,
    source: str,
    target: str,
    options: dict[str, Any],
    expected: str,
) -> None:
    out = convert(registry, content, source, target, **options)
    assert out["result"] == expected
    assert out["warnings"] == []


LOSSY = [
    ('{"a":null,"b":[1,null]}', "json", "toml", "b = [\n  1,\n]\n",
     ["TOML has no null: key left out (at /a)", "TOML has no null: array element left out (at /b)"]),
    ('[{"a":1,"b":{"c":[2]}},{"a":null}]', "json", "csv", 'a,b\n1,"{""c"":[2]}"\n,\n',
     ["nested value written as JSON text in one cell (at /0/b)",
      "missing column written as an empty cell (at /1)",
      "null written as an empty cell (at /1/a)"]),
    ('{"r":{"n":1,"z":null}}', "json", "xml",
     '<?xml version="1.0" encoding="UTF-8"?>\n<r>\n  <n>1</n>\n  <z/>\n</r>\n',
     ["XML has no types: booleans and numbers written as text (at /r/n)",
      "null written as an empty element (at /r/z)"]),
    ("[1,2]", "json", "xml",
     '<?xml version="1.0" encoding="UTF-8"?>\n<root>\n  <item>1</item>\n  <item>2</item>\n</root>\n',
     ["top-level array written as repeated <item> elements (at /)",
      "XML has no types: booleans and numbers written as text (at /0, 2 times)"]),
    ('{"a b":"x"}', "json", "xml", '<?xml version="1.0" encoding="UTF-8"?>\n<a_b>x</a_b>\n',
     ["invalid XML name replaced (at /a b)"]),
    ("d: 2024-01-02\n1: one\n", "yaml", "json", '{"d":"2024-01-02","1":"one"}',
     ["date/time value written as an ISO 8601 string (at /d)",
      "non-string key written as a string (at /)"]),
    ("b: !!binary aGk=\nn: .nan\n", "yaml", "json", '{"b":"aGk=","n":"NaN"}',
     ["binary value written as a base64 string (at /b)",
      "NaN or infinity has no JSON form: written as a string (at /n)"]),
    ("t = 1979-05-27T07:32:00Z\n", "toml", "json", '{"t":"1979-05-27T07:32:00+00:00"}',
     ["date/time value written as an ISO 8601 string (at /t)"]),
    ('<a xmlns="urn:x"><b>1</b></a>', "xml", "json", '{"{urn:x}a":{"{urn:x}b":"1"}}',
     ["XML namespaces written as {uri}name keys (at /)"]),
    # A namespaced attribute alone (xml:lang) is one too.
    ('<a xml:lang="en">1</a>', "xml", "json",
     '{"a":{"@{http://www.w3.org/XML/1998/namespace}lang":"en","#text":"1"}}',
     ["XML namespaces written as {uri}name keys (at /)"]),
    ('{"a":{"b":1}}', "json", "querystring", "a=%7B%22b%22%3A1%7D",
     ["nested value written as JSON text in one cell (at /a)"]),
    ('{"r":{"e":[],"s":"x"}}', "json", "xml",
     '<?xml version="1.0" encoding="UTF-8"?>\n<r>\n  <s>x</s>\n</r>\n',
     ["empty array left out: XML has no empty list (at /r/e)"]),
    ('{"n":-9223372036854775808,"big":[9223372036854775808]}', "json", "toml",
     'n = -9223372036854775808\nbig = [\n  "9223372036854775808",\n]\n',
     ["integer outside TOML's 64-bit range written as a string (at /big/0)"]),
]  # fmt: skip
LOSSY_IDS = [
    "toml-null", "csv-nested-and-missing", "xml-types-and-null", "xml-top-array",
    "xml-invalid-name", "yaml-timestamp-and-int-key", "yaml-binary-and-nan", "toml-datetime",
    "xml-namespace", "xml-namespaced-attribute", "querystring-nested", "xml-empty-array", "toml-int-past-64-bits",
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "source", "target", "expected", "warnings"), LOSSY, ids=LOSSY_IDS
)
def test_lossy_conversions_say_what_they_did(
    registry: Registry, content: str, source: str, target: str, expected: str, warnings: list[str]
) -> None:
    options = {"indent": 0} if target == "json" else {}
    out = convert(registry, content, source, target, **options)
    assert (out["result"], out["warnings"]) == (expected, warnings)


@pytest.mark.parametrize(
    ("document", "fmt"),
    [
        ({"a": [1, 2.5, None, True, "x"], "b": {"c": {"d": "e"}}}, "yaml"),
        ({"a": [1, 2.5, True, "x"], "b": {"c": {"d": "e"}}}, "toml"),
        ({"a": [1, 2.5, None, True, "x"], "b": {"c": {"d": "e"}}}, "json"),
    ],
    ids=["yaml", "toml", "json"],
)
def test_round_trip_keeps_the_value(registry: Registry, document: Any, fmt: str) -> None:
    there = convert(registry, json.dumps(document), "json", fmt)["result"]
    back = convert(registry, there, fmt, "json")["result"]
    assert json.loads(back) == document


# --- safe parsing -------------------------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def test_yaml_billion_laughs_is_refused_with_bounded_memory(registry: Registry) -> None:
    document = billion_laughs()  # 9^9 = 387 million strings once expanded
    assert len(document) < 1000
    tracemalloc.start()
    try:
        details = refused(registry, document, "yaml", "json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert details == "the document expands to more than 1000000 nodes (aliases counted)"
    assert peak < 5 * 1024 * 1024  # the events are counted, nothing is expanded


def test_yaml_aliases_within_the_cap_are_expanded(registry: Registry) -> None:
    out = convert(registry, "base: &b {x: 1}\nuse: *b\nmerged:\n  <<: *b\n  y: 2\n", "yaml", "json",
                  indent=0)  # fmt: skip
    assert out["result"] == '{"base":{"x":1},"use":{"x":1},"merged":{"x":1,"y":2}}'


def test_alias_count_includes_nested_aliases() -> None:
    # mapping, "a", [1, 2] (3 nodes: the anchor's size), "b", [*a, *a] (1 + 3 + 3): 13 nodes.
    check_yaml_events("a: &a [1, 2]\nb: &b [*a, *a]\n", 256, max_nodes=13)
    with pytest.raises(DataError, match="more than 12 nodes"):
        check_yaml_events("a: &a [1, 2]\nb: &b [*a, *a]\n", 256, max_nodes=12)


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
        ("a: !!python/name:os.system\n", "could not determine a constructor"),
        ("a: !custom 1\n", "could not determine a constructor"),
        ("&a [*a]\n", "alias *a refers to an undefined or enclosing anchor"),
        ("a: *nothing\n", "alias *nothing refers to an undefined or enclosing anchor"),
        ("a: [1\n", "invalid YAML"),
        ("--- 1\n--- 2\n", "but found another document (line 2, column 1)"),
        ("[" * 300 + "]" * 300, "nesting depth exceeds the limit of 256"),
        ("a:\n" + "".join(" " * n + "- \n" for n in range(1, 300)), "nesting depth exceeds"),
    ],
    ids=[
        "python-object", "python-name", "unknown-tag", "recursive-alias", "undefined-alias",
        "syntax", "two-documents", "deep-flow", "deep-block",
    ],
)  # fmt: skip
def test_unsafe_or_broken_yaml_is_refused(registry: Registry, document: str, detail: str) -> None:
    assert detail in refused(registry, document, "yaml", "json")


XXE = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
XML_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>'
)


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (XXE, "XML refused (DTDForbidden)"),
        (XML_LAUGHS, "XML refused (DTDForbidden)"),
        ('<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>', "XML refused (DTDForbidden)"),
        ("<a><b></a>", "invalid XML: mismatched tag"),
        ("<a>&undefined;</a>", "invalid XML: undefined entity"),
        ("<a>" * 300 + "</a>" * 300, "nesting depth exceeds the limit of 256"),
    ],
    ids=["xxe", "entity-expansion", "external-dtd", "mismatched", "undefined-entity", "deep"],
)
def test_unsafe_or_broken_xml_is_refused(registry: Registry, document: str, detail: str) -> None:
    assert detail in refused(registry, document, "xml", "json")


@pytest.mark.parametrize(
    ("content", "source", "target", "detail"),
    [
        ("a = ", "toml", "json", "invalid TOML"),
        ("[1]", "json", "toml", "TOML needs an object (table) at the top level"),
        ("[1]", "json", "querystring", "a query string needs an object at the top level"),
        ('{"a":}', "json", "yaml", "invalid JSON: Expecting value (line 1, column 6)"),
        ("NaN", "json", "yaml", "NaN is not valid JSON"),
        ('a,b\n"x', "csv", "json", "invalid CSV"),
        ("a,a\n1,2\n", "csv", "json", "the header row repeats a column name"),
        ("a\n1,2\n", "csv", "json", "row 2 has 2 fields, the header 1"),
        ("[" * 257 + "]" * 257, "json", "yaml", "nesting depth 257 exceeds the limit of 256"),
    ],
    ids=[
        "toml-syntax", "toml-needs-table", "querystring-needs-object", "json-syntax",
        "json-nan", "csv-unterminated", "csv-duplicate-header", "csv-extra-field", "json-deep",
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_400(
    registry: Registry, content: str, source: str, target: str, detail: str
) -> None:
    assert detail in refused(registry, content, source, target)


def test_output_is_capped_while_it_is_produced() -> None:
    from devutils.registry import Registry as Reg
    from devutils.registry import ToolContext, catalogue

    registry = Reg(
        catalogue(), ToolContext(make_settings(max_output_bytes=4096), lambda: FIXED_NOW)
    )
    try:
        big = json.dumps([[[[i]]] for i in range(400)])
        with pytest.raises(RequestTooLargeError):
            convert(registry, big, "json", "xml", indent=8)
        with pytest.raises(RequestTooLargeError):
            convert(registry, big, "json", "yaml", indent=8)
        with pytest.raises(RequestTooLargeError):
            convert(registry, json.dumps({"t": [{"a": i} for i in range(400)]}), "json", "toml")
    finally:
        registry.close()


# --- YAML keys and byte order marks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ('1: a\n"1": b\n', 'keys 1 and "1" of the object at / both become the JSON key "1"'),
        ('"1": b\n1: a\n', 'keys "1" and 1 of the object at / both become the JSON key "1"'),
        ('o:\n  true: a\n  "true": b\n',
         'keys true and "true" of the object at /o both become the JSON key "true"'),
        ('l:\n- ~: a\n  "null": b\n',
         'keys null and "null" of the object at /l/0 both become the JSON key "null"'),
        ('2024-01-02: a\n"2024-01-02": b\n',
         'keys 2024-01-02 and "2024-01-02" of the object at / both become the JSON key "2024-01-02"'),
        # Python's dict would keep one of these: refused when the mapping is built.
        ("1: a\ntrue: b\n", "invalid YAML: keys 1 and true would become one, losing a member"
         " (line 2, column 1)"),
        ("{0: a, 0.0: b}", "invalid YAML: keys 0 and 0.0 would become one, losing a member"
         " (line 1, column 8)"),
    ],
    ids=["int-then-string", "string-then-int", "bool-nested", "null-in-array", "date",
         "int-and-bool", "int-and-float"],
)  # fmt: skip
def test_yaml_keys_that_collide_are_refused(registry: Registry, content: str, detail: str) -> None:
    # A member is never lost silently: each of these once came out with one key dropped.
    assert refused(registry, content, "yaml", "json") == (
        detail if "invalid YAML" in detail else f"{detail}, losing a member"
    )


@pytest.mark.parametrize(
    ("content", "source", "expected"),
    [
        # As for JSON (docs/api-deltas.md D6a), a repeated key keeps its last value.
        ("a: 1\na: 2\n", "yaml", '{"a":2}'),
        ('{"a":1,"a":2}', "json", '{"a":2}'),
        # A key overriding one from a merge (<<) is no repeat.
        ("b: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n", "yaml",
         '{"b":{"x":1,"y":2},"c":{"x":3,"y":2}}'),
        ('1: a\n"2": b\n', "yaml", '{"1":"a","2":"b"}'),
    ],
    ids=["yaml-repeat", "json-repeat", "yaml-merge-override", "distinct-keys"],
)  # fmt: skip
def test_yaml_keys_that_do_not_collide_are_kept(
    registry: Registry, content: str, source: str, expected: str
) -> None:
    assert convert(registry, content, source, "json", indent=0)["result"] == expected


@pytest.mark.parametrize(
    ("content", "source", "expected"),
    [
        ('\ufeff{"a": [1]}', "json", '{"a":[1]}'),
        ("\ufeffa: [1]\n", "yaml", '{"a":[1]}'),
        ("\ufeffa = [1]\n", "toml", '{"a":[1]}'),
        ("\ufeff<a>1</a>", "xml", '{"a":"1"}'),
        ("\ufeffa,b\n1,2\n", "csv", '[{"a":"1","b":"2"}]'),
    ],
    ids=["json", "yaml", "toml", "xml", "csv"],
)
def test_a_leading_byte_order_mark_is_ignored(
    registry: Registry, content: str, source: str, expected: str
) -> None:
    # RFC 8259 section 8.1: a parser may ignore it; JSON with one was a 400 with Python's
    # message, TOML a 400 "Invalid statement", and CSV kept it in the first column's name.
    assert convert(registry, content, source, "json", indent=0)["result"] == expected


def test_only_one_byte_order_mark_is_ignored(registry: Registry) -> None:
    assert refused(registry, "\ufeff\ufeff[1]", "json", "yaml") == (
        "invalid JSON: unexpected byte order mark (U+FEFF) (line 1, column 1)"
    )


# --- REST ---------------------------------------------------------------------------------------


async def test_convert_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/convert", json={"content": "a: 1", "from": "yaml", "to": "json", "indent": 0}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": {"result": '{"a":1}', "warnings": []}}


@pytest.mark.parametrize(
    ("body", "message", "detail"),
    [
        ({"content": "a", "to": "json"}, 'field "from" is required', "required fields: content, from, to"),
        ({"content": "a", "from": "ini", "to": "json"}, "Invalid request", "from"),
        ({"content": "a", "from": "json", "to": "json", "delimiter": ";;"}, "Invalid request", "delimiter"),
        ({"content": "a", "from": "json", "to": "json", "form": "x"}, 'unknown field "form"', "allowed fields: content, from, to, indent"),
    ],
    ids=["from-missing", "from-unknown-format", "delimiter-too-long", "unknown-field-lists-from"],
)  # fmt: skip
async def test_request_errors_name_the_wire_fields(
    client: httpx.AsyncClient, body: dict[str, Any], message: str, detail: str
) -> None:
    response = await client.post("/api/v1/data/convert", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == message
    assert detail in error["details"]


async def test_billion_laughs_over_rest_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/convert", json={"content": billion_laughs(), "from": "yaml", "to": "json"}
    )
    assert response.status_code == 400
    assert "aliases counted" in response.json()["error"]["details"]


def test_pyyaml_has_the_safe_loader_we_rely_on() -> None:
    # The loader must refuse python/* tags even when libyaml is missing (pure SafeLoader).
    with pytest.raises(yaml.YAMLError):
        yaml.load("!!python/object/apply:os.system ['true']", Loader=yaml.SafeLoader)


@pytest.mark.parametrize("key", ["\u00d7", "\u00f7", "\u3000", "\u0300a", "\u037e", "1a", "a b"])
def test_keys_that_are_no_xml_name_are_replaced_and_the_xml_parses(
    registry: Registry, key: str
) -> None:
    """XML 1.0's name characters, not every character from U+00C0 up (x and / signs, ideographic
    space and combining marks went through as names, and the XML did not parse)."""
    out = convert(registry, json.dumps({"r": {key: "v"}}), "json", "xml")
    element = defusedxml.ElementTree.fromstring(out["result"].encode())[0]
    assert element.text == "v"
    assert f"invalid XML name replaced (at /r/{key})" in out["warnings"]


@pytest.mark.parametrize("key", ["\u00e9t\u00e9", "\u65e5\u672c", "a-b.c", "_x\u00b7y"])
def test_keys_that_are_xml_names_are_kept(registry: Registry, key: str) -> None:
    out = convert(registry, json.dumps({"r": {key: "v"}}), "json", "xml")
    assert defusedxml.ElementTree.fromstring(out["result"].encode())[0].tag == key
    assert not any("invalid XML name" in warning for warning in out["warnings"])
