"""Hostile data-tool inputs a fuzzing review found answered 500: each is the input's fault, a 400
with a message that says what is wrong."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

DEEP_ARRAY = "[" * 255 + "]" * 255
DEEPEST_ARRAY = "[" * 256 + "]" * 256  # at the input's nesting limit

CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "patch-deep-result",
        "/api/v1/data/patch",
        {"content": DEEP_ARRAY, "patch": "[]"},
        "the result nests too deeply to return",
    ),
    (
        "query-deep-result",
        "/api/v1/data/query",
        {"content": DEEP_ARRAY, "query": "@", "language": "jmespath"},
        "the result nests too deeply to return",
    ),
    (
        "infer-deep-result",  # the inferred schema nests twice as deep as the sample
        "/api/v1/data/schema/infer",
        {"samples": ['{"a":' * 127 + "1" + "}" * 127]},
        "the result nests too deeply to return",
    ),
    # The result model itself was too deep to build (pydantic's recursion limit): a 500.
    (
        "jsonpath-deep-result",
        "/api/v1/data/query",
        {"content": DEEP_ARRAY, "query": "$"},
        "the result nests too deeply to return",
    ),
    (
        "patch-deepest-result",
        "/api/v1/data/patch",
        {"content": DEEPEST_ARRAY, "patch": "[]"},
        "the result nests too deeply to return",
    ),
    (
        "jmespath-deepest-result",
        "/api/v1/data/query",
        {"content": DEEPEST_ARRAY, "query": "@", "language": "jmespath"},
        "the result nests too deeply to return",
    ),
    (
        "diff-deepest-result",
        "/api/v1/data/diff",
        {"original": "1", "modified": DEEPEST_ARRAY},
        "the result nests too deeply to return",
    ),
    (
        "infer-deepest-result",
        "/api/v1/data/schema/infer",
        {"samples": [DEEPEST_ARRAY]},
        "the result nests too deeply to return",
    ),
    # A number past binary64 became Infinity (not JSON) or null, with no warning.
    (
        "convert-huge-float",
        "/api/v1/data/convert",
        {"content": '{"a":1e400}', "from": "json", "to": "json"},
        "the number 1e400 is beyond a 64-bit float",
    ),
    (
        "query-huge-float",
        "/api/v1/data/query",
        {"content": '{"a":-1e400}', "query": "$.a"},
        "the number -1e400 is beyond a 64-bit float",
    ),
    (
        "patch-huge-float",
        "/api/v1/data/patch",
        {"content": '{"a":1e400}', "patch": "[]"},
        "the number 1e400 is beyond a 64-bit float",
    ),
    (
        "toml-huge-integer",
        "/api/v1/data/convert",
        {"content": "a = " + "9" * 4301, "from": "toml", "to": "json"},
        "an integer has more than 4200 digits",
    ),
    (
        "yaml-impossible-date",  # was reported as an integer with too many digits
        "/api/v1/data/convert",
        {"content": "b: 2024-02-30", "from": "yaml", "to": "json"},
        "invalid YAML value: day is out of range for month",
    ),
    (
        "schema-nested-too-deep",
        "/api/v1/data/schema/validate",
        {"content": "1", "schema": '{"not":' * 128 + "{}" + "}" * 128},
        "the schema nests too deeply",
    ),
    (
        "multipleof-huge-integer",
        "/api/v1/data/schema/validate",
        {"content": "1" + "0" * 4000, "schema": '{"multipleOf":0.1}'},
        "cannot check the content: int too large to convert to float",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "details"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_hostile_data_inputs_are_400s_that_say_why(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], details: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert details in error["details"]


async def test_integers_past_64_bits_keep_their_value_over_rest(client: httpx.AsyncClient) -> None:
    # orjson would read 123456789012345678901 as 1.2345678901234568e+20: the signed token must
    # carry the integer the caller sent.
    big = 123456789012345678901
    body = (
        b'{"claims":{"sub":"42","n":%d},"algorithm":"HS256",'
        b'"key":"a-string-secret-at-least-256-bits-long"}' % big
    )
    headers = {"content-type": "application/json"}
    signed = await client.post("/api/v1/transform/jwt/sign", content=body, headers=headers)
    assert signed.status_code == 200, signed.text
    token = signed.json()["data"]["token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["n"] == big
    # Past a double's range: still a number to the tools, or a 400 that says why.
    huge = b'{"content":"x","algorithm":"sha256","extra":1%s}' % (b"0" * 400)
    refused = await client.post("/api/v1/crypto/hash", content=huge, headers=headers)
    assert refused.status_code == 400
    assert "infinity" not in refused.text
    assert refused.json()["error"]["message"] == 'unknown field "extra"'
