"""data/json/format: Go MarshalIndent layout (seed §2.10) with D3 limits and D6 losslessness."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devutils.registry import Registry, dump_output
from devutils.tools._jsontext import nesting_depth


def run(registry: Registry, args: dict[str, Any]) -> str:
    spec = registry.get("data_json_format")
    assert spec is not None
    result: str = dump_output(registry.invoke_sync(spec, args))["result"]
    return result


FORMAT_VECTORS = [
    (
        '{"name":"John","age":30,"tags":["a","b"],"empty":{},"none":[]}',
        {},
        '{\n  "name": "John",\n  "age": 30,\n  "tags": [\n    "a",\n    "b"\n  ],\n'
        '  "empty": {},\n  "none": []\n}',
    ),
    (
        '{"a":{"b":[1]}}',
        {"indent": 4},
        '{\n    "a": {\n        "b": [\n            1\n        ]\n    }\n}',
    ),
    ('{"a":1}', {"indent": 0}, '{\n  "a": 1\n}'),  # 0 means the default, 2
    ('{"a":1}', {"indent": 1}, '{\n "a": 1\n}'),
    ('{"b":1,"a":2,"B":3}', {"sortKeys": True}, '{\n  "B": 3,\n  "a": 2,\n  "b": 1\n}'),
    ('{"a":1,"b":2,"a":3}', {}, '{\n  "a": 3,\n  "b": 2\n}'),  # last duplicate wins
    ("12345678901234567890", {}, "12345678901234567890"),  # no float64 rounding (D6)
    ("[1.50, 1e+21, 1E-7, -0, 0.1000]", {}, "[\n  1.50,\n  1e+21,\n  1E-7,\n  -0,\n  0.1000\n]"),
    ('"<script>&"', {}, '"<script>&"'),  # no HTML escaping (D6)
    ('"grüße \\u4e16\\u754c \\ud83d\\ude00"', {}, '"grüße 世界 😀"'),  # non-ASCII raw
    ('"tab\\there \\/ \\u0001"', {}, '"tab\\there / \\u0001"'),
    ("  true  ", {}, "true"),
    ("null", {}, "null"),
    ("[[]]", {}, "[\n  []\n]"),
]
FORMAT_IDS = [
    "object-default-indent", "indent-4", "indent-0-is-2", "indent-1", "sort-keys",
    "duplicate-last-wins", "big-int-exact", "numbers-as-written", "no-html-escape",
    "non-ascii-raw", "escapes", "scalar-bool", "scalar-null", "nested-empty",
]  # fmt: skip


@pytest.mark.parametrize(("content", "extra", "expected"), FORMAT_VECTORS, ids=FORMAT_IDS)
def test_format(registry: Registry, content: str, extra: dict[str, Any], expected: str) -> None:
    assert run(registry, {"content": content, "action": "format", **extra}) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{\n  "a" : [ 1 , 2.50 ],\n  "b" : { }\n}', '{"a":[1,2.50],"b":{}}'),
        ('{"b":1,"a":2}', '{"b":1,"a":2}'),
        ('"x"', '"x"'),
    ],
    ids=["whitespace-removed", "order-kept", "scalar"],
)
def test_minify(registry: Registry, content: str, expected: str) -> None:
    assert run(registry, {"content": content, "action": "minify", "indent": 4}) == expected


async def test_format_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/json/format", json={"content": '{"x":[1]}', "action": "minify"}
    )
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"result": '{"x":[1]}'}}


INVALID_JSON = [
    ('{"a":}', "Expecting value"),
    ("{'a': 1}", "Expecting property name"),
    ("[1] [2]", "Extra data"),
    ("NaN", "NaN is not valid JSON"),
    ('{"a": -Infinity}', "-Infinity is not valid JSON"),
    ('"\\ud800"', "unpaired surrogate"),
    ('["\\udc00x"]', "unpaired surrogate"),
    ("[1,]", "Expecting value"),
    ('"abc', "Unterminated string"),
    ("// comment\n1", "Expecting value"),
    ("\ufeff\ufeff{}", "unexpected byte order mark (U+FEFF) (line 1, column 1)"),  # one is read
    ("   ", "Expecting value"),
]
INVALID_IDS = [
    "missing-value", "single-quotes", "trailing-data", "nan", "infinity", "lone-high-surrogate",
    "lone-low-surrogate", "trailing-comma", "unterminated", "comment", "bom", "blank",
]  # fmt: skip


@pytest.mark.parametrize(("content", "detail_part"), INVALID_JSON, ids=INVALID_IDS)
async def test_invalid_json_is_400(
    client: httpx.AsyncClient, content: str, detail_part: str
) -> None:
    response = await client.post(
        "/api/v1/data/json/format", json={"content": content, "action": "format"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "JSON formatting failed")
    assert error["details"].startswith("invalid JSON: ")
    assert detail_part in error["details"]


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        ({"content": "{}", "action": "format", "indent": 9}, "indent"),
        ({"content": "{}", "action": "format", "indent": 2_000_000_000}, "indent"),
        ({"content": "{}", "action": "format", "indent": -1}, "indent"),
        ({"content": "{}", "action": "format", "indent": "2"}, "indent"),
        ({"content": "", "action": "format"}, "content"),
        ({"action": "format"}, "content"),
        ({"content": "{}", "action": "prettify"}, "action"),
        ({"content": "{}", "action": "format", "sortKeys": "yes"}, "sortKeys"),
    ],
    ids=[
        "indent-9",
        "indent-huge",
        "indent-negative",
        "indent-string",
        "content-empty",
        "content-missing",
        "bad-action",
        "sort-keys-type",
    ],
)
async def test_request_errors(
    client: httpx.AsyncClient, body: dict[str, Any], detail_part: str
) -> None:
    response = await client.post("/api/v1/data/json/format", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    missing = detail_part not in body
    assert error["message"] == (
        f'field "{detail_part}" is required' if missing else "Invalid request"
    )
    assert detail_part in error["details"]


@pytest.mark.parametrize(
    "content",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000,  # unbalanced as well as deep
        "[" * 257 + "]" * 257,
    ],
    ids=["deep-arrays", "deep-objects", "deep-unclosed", "just-over-limit"],
)
async def test_deep_nesting_is_a_clean_400(client: httpx.AsyncClient, content: str) -> None:
    response = await client.post(
        "/api/v1/data/json/format", json={"content": content, "action": "format"}
    )
    assert response.status_code == 400
    assert "nesting depth" in response.json()["error"]["details"]


def test_depth_limit_is_inclusive_and_follows_settings(registry: Registry) -> None:
    deepest = "[" * 256 + "]" * 256
    assert run(registry, {"content": deepest, "action": "minify"}) == deepest


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a":[{}]}', 3),
        ('["[[[[", "\\"[[", {"k]": "}"}]', 2),  # brackets inside strings do not count
        ('"\\\\"', 0),
        ('"unterminated [[[', 0),
    ],
    ids=[
        "scalar",
        "empty-array",
        "mixed",
        "brackets-in-strings",
        "escaped-backslash",
        "open-string",
    ],
)
def test_nesting_depth_prescan(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_a_leading_byte_order_mark_is_ignored(registry: Registry) -> None:
    """RFC 8259 section 8.1; it was a 400 saying "decode using utf-8-sig"."""
    assert run(registry, {"content": '\ufeff{"a": 1}', "action": "minify"}) == '{"a":1}'
