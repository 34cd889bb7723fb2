"""Strict inputs: unknown fields are refused by name, with the field meant; subjects are required."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devutils.errors import ValidationError
from devutils.frontends.schema import input_schema
from devutils.registry import Registry, catalogue
from tests.support import HASH_FIELDS


def _refusal(registry: Registry, tool: str, args: dict[str, Any]) -> ValidationError:
    spec = registry.get(tool)
    assert spec is not None
    with pytest.raises(ValidationError) as refused:
        Registry.parse(spec, args)
    return refused.value


SUGGESTIONS = [
    ("crypto_hash", {"text": "x", "algorithm": "md5"}, "text", "content"),
    ("crypto_hash", {"content": "x", "algoritm": "md5"}, "algoritm", "algorithm"),
    ("crypto_hash", {"content": "x", "ALGORITHM": "md5"}, "ALGORITHM", "algorithm"),
    ("crypto_hmac", {"content": "x", "secret": "k", "algorithm": "sha256"}, "secret", "key"),
    ("text_regex", {"content": "x", "regex": "a"}, "regex", "pattern"),
    ("text_case", {"content": "x", "type": "UPPERCASE"}, "type", "caseType"),
    ("text_sort", {"content": "x", "order": "asc", "type": "alpha"}, "type", "sortType"),
    ("transform_base64", {"content": "x", "action": "encode", "urlsafe": True}, "urlsafe", "urlSafe"),
    ("transform_jwt_decode", {"jwt": "a.b.c"}, "jwt", "token"),
    ("time_convert", {"input": "1", "from": "unix", "outputFormat": "unix"}, "from", "inputFormat"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "args", "key", "meant"),
    SUGGESTIONS,
    ids=[f"{case[0]}-{case[2]}" for case in SUGGESTIONS],
)
def test_unknown_field_names_the_field_meant(
    registry: Registry, tool: str, args: dict[str, Any], key: str, meant: str
) -> None:
    error = _refusal(registry, tool, args)
    assert error.message == f'unknown field "{key}"; did you mean "{meant}"?'
    spec = registry.get(tool)
    assert spec is not None
    assert isinstance(error.details, str)
    assert error.details.endswith("allowed fields: " + ", ".join(input_schema(spec)["properties"]))


def test_unrelated_unknown_field_has_no_suggestion(registry: Registry) -> None:
    error = _refusal(registry, "crypto_hash", {"content": "x", "algorithm": "md5", "zzz": 1})
    assert error.message == 'unknown field "zzz"'
    assert error.details == f"allowed fields: {HASH_FIELDS}"


def test_no_suggestion_of_a_field_already_given(registry: Registry) -> None:
    error = _refusal(registry, "crypto_hash", {"content": "x", "text": "y", "algorithm": "md5"})
    assert error.message == 'unknown field "text"'


def test_both_spellings_of_one_field(registry: Registry) -> None:
    args = {"content": "x", "caseType": "UPPERCASE", "case_type": "lowercase"}
    error = _refusal(registry, "text_case", args)
    assert error.message == 'field "caseType" is given twice (as "caseType" and "case_type")'


def test_echoed_names_are_bounded(registry: Registry) -> None:
    args: dict[str, Any] = {"content": "x", "algorithm": "md5"}
    args.update({f"k{index}": 1 for index in range(50)})
    args["x" * 10_000] = 1
    error = _refusal(registry, "crypto_hash", args)
    assert error.message.endswith("and 46 more unknown fields")
    assert len(error.message) < 200
    error = _refusal(registry, "crypto_hash", {"content": "x", "algorithm": "md5", "y" * 10_000: 1})
    assert error.message == f'unknown field "{"y" * 64}..."'


def test_other_problems_ride_along_with_an_unknown_field(registry: Registry) -> None:
    error = _refusal(registry, "crypto_hash", {"text": "x", "algorithm": "sha3"})
    assert error.details.startswith("algorithm: Input should be 'md5', 'sha1', 'sha224', ")
    assert error.details.endswith(
        f"or 'xxh3_128'; field \"content\" is required; allowed fields: {HASH_FIELDS}"
    )


SUBJECTS = [
    ("crypto_hash", {"algorithm": "sha256"}, "content"),
    ("crypto_hmac", {"key": "k", "algorithm": "sha256"}, "content"),
    ("crypto_password_hash", {}, "password"),
    ("crypto_password_verify", {"hash": "$argon2id$"}, "password"),
    ("text_case", {"caseType": "UPPERCASE"}, "content"),
    ("text_info", {}, "content"),
    ("text_sort", {"order": "asc", "sortType": "alpha"}, "content"),
    ("text_regex", {"pattern": "a"}, "content"),
]


@pytest.mark.parametrize(("tool", "args", "field"), SUBJECTS, ids=[case[0] for case in SUBJECTS])
def test_subject_fields_are_required(
    registry: Registry, tool: str, args: dict[str, Any], field: str
) -> None:
    error = _refusal(registry, tool, args)
    assert error.message == f'field "{field}" is required'
    assert isinstance(error.details, str)
    assert error.details.startswith("required fields: ")


def test_every_input_schema_forbids_extras_and_lists_enum_choices() -> None:
    for spec in catalogue():
        schema = input_schema(spec)
        assert schema["additionalProperties"] is False, spec.name
    hash_spec = next(spec for spec in catalogue() if spec.name == "crypto_hash")
    assert input_schema(hash_spec)["required"] == ["content", "algorithm"]
    uuid_spec = next(spec for spec in catalogue() if spec.name == "id_uuid")
    assert input_schema(uuid_spec)["properties"]["version"]["enum"] == [1, 3, 4, 5, 6, 7]


async def test_rest_answers_the_issue_example(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/crypto/hash", json={"text": "hello", "algorithm": "sha256"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": {
            "code": "VALIDATION_ERROR",
            "message": 'unknown field "text"; did you mean "content"?',
            "details": f'field "content" is required; allowed fields: {HASH_FIELDS}',
        },
    }
    response = await client.post("/api/v1/crypto/hash", json={"algorithm": "sha256"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": 'field "content" is required',
        "details": "required fields: content, algorithm",
    }


# 50,000 wrong query values (a 0.7 MB body): every one is a pydantic error.
MANY = 50_000
WRONG_QUERY = {"action": "build", "scheme": "https", "host": "example.com"} | {
    "query": {f"k{index}": index for index in range(MANY)}
}


def test_only_the_first_few_problems_are_spelled_out(registry: Registry) -> None:
    error = _refusal(registry, "web_url", WRONG_QUERY)
    assert error.message == "Invalid request"
    reasons = error.details.split("; ")
    assert reasons[:2] == [
        "query.k0: Input should be a valid string",
        "query.k1: Input should be a valid string",
    ]
    assert reasons[10:] == [f"and {MANY - 10} more errors"]
    # The rest still rides along after the count, and client-chosen keys are cut.
    args = WRONG_QUERY | {"query": {"q" * 10_000: 1, "x": 2}, "port": 0, "fragment": 3}
    error = _refusal(registry, "web_url", args)
    assert error.details.split("; ") == [
        "port: Input should be greater than or equal to 1",
        f"query.{'q' * 64}...: Input should be a valid string",
        "query.x: Input should be a valid string",
        "fragment: Input should be a valid string",
    ]
    error = _refusal(registry, "web_url", WRONG_QUERY | {"zzz": 1})
    assert error.message == 'unknown field "zzz"'
    assert error.details.split("; ")[10:] == [
        f"and {MANY - 10} more errors",
        "allowed fields: action, url, scheme, host, port, path, query, fragment",
    ]


async def test_a_rest_answer_to_many_wrong_items_is_small(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/web/url", json=WRONG_QUERY)
    assert response.status_code == 400
    # Was 3.5 MB for this body (18 MB for 250,000 items): every error in full.
    assert len(response.content) < 8192
    error = response.json()["error"]
    assert error["details"].endswith(f"; and {MANY - 10} more errors")
