"""Per-family metric labels: the reference's operation names, bounded label values."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pytest

from devutils.errors import ServiceUnavailableError, ValidationError
from devutils.http.middleware.tool_metrics import (
    _family_status,
    _label_inputs,
    family_labels,
    literal_value,
)
from devutils.models import ToolInput, ToolOutput
from devutils.observability.fastmetrics import FastCounter
from devutils.observability.metrics import (
    CRYPTO_OPERATIONS,
    ID_OPERATIONS,
    NETWORK_OPERATIONS,
    TEXT_OPERATIONS,
    TIME_OPERATIONS,
    TRANSFORM_OPERATIONS,
)
from devutils.registry import catalogue

SPECS = {spec.name: spec for spec in catalogue()}

# (tool, parsed fields or None before parsing, counter, label values without status)
CASES: list[tuple[str, dict[str, Any] | None, FastCounter, tuple[str, ...]]] = [
    ("crypto_hash", {"algorithm": "sha1"}, CRYPTO_OPERATIONS, ("hash", "sha1")),
    ("crypto_hash", None, CRYPTO_OPERATIONS, ("hash", "unknown")),
    ("crypto_hmac", {"algorithm": "sha512"}, CRYPTO_OPERATIONS, ("hmac", "sha512")),
    ("crypto_password_hash", None, CRYPTO_OPERATIONS, ("password_hash", "argon2id")),
    ("crypto_password_verify", None, CRYPTO_OPERATIONS, ("password_verify", "argon2id")),
    ("crypto_cert_decode", None, CRYPTO_OPERATIONS, ("cert_decode", "x509")),
    ("crypto_totp", {"algorithm": "sha512"}, CRYPTO_OPERATIONS, ("totp", "sha512")),
    ("crypto_random", None, CRYPTO_OPERATIONS, ("random", "unknown")),
    ("text_case", None, TEXT_OPERATIONS, ("case_convert",)),
    ("text_info", None, TEXT_OPERATIONS, ("analyze",)),
    ("text_regex", None, TEXT_OPERATIONS, ("regex_test",)),
    ("text_sort", None, TEXT_OPERATIONS, ("sort",)),
    ("data_json_format", {"action": "minify"}, TEXT_OPERATIONS, ("json_format",)),
    ("transform_base64", {"action": "decode"}, TRANSFORM_OPERATIONS, ("decode", "base64")),
    ("transform_base64", None, TRANSFORM_OPERATIONS, ("unknown", "base64")),
    ("transform_url", {"action": "encode"}, TRANSFORM_OPERATIONS, ("encode", "url")),
    ("transform_jwt_decode", None, TRANSFORM_OPERATIONS, ("decode", "jwt")),
    (
        "transform_compress",
        {"action": "decompress", "algorithm": "zlib"},
        TRANSFORM_OPERATIONS,
        ("decompress", "zlib"),
    ),
    ("transform_compress", None, TRANSFORM_OPERATIONS, ("unknown", "compression")),
    ("id_uuid", None, ID_OPERATIONS, ("generate", "uuid")),
    ("id_nanoid", None, ID_OPERATIONS, ("generate", "nanoid")),
    ("id_ulid", None, ID_OPERATIONS, ("generate", "ulid")),
    ("id_inspect", None, ID_OPERATIONS, ("generate", "inspect")),
    ("time_convert", None, TIME_OPERATIONS, ("convert",)),
    ("time_now", None, TIME_OPERATIONS, ("current",)),
    ("web_url", {"action": "build"}, NETWORK_OPERATIONS, ("url_build",)),
    ("web_url", None, NETWORK_OPERATIONS, ("url_operation",)),
    ("network_headers", None, NETWORK_OPERATIONS, ("headers",)),
    ("network_dns", None, NETWORK_OPERATIONS, ("dns_lookup",)),
    ("network_ip", None, NETWORK_OPERATIONS, ("ip_analysis",)),
]


@pytest.mark.parametrize(
    ("tool", "fields", "counter", "values"),
    CASES,
    ids=[f"{case[0]}-{'parsed' if case[1] else 'unparsed'}" for case in CASES],
)
def test_family_labels(
    tool: str, fields: dict[str, Any] | None, counter: FastCounter, values: tuple[str, ...]
) -> None:
    spec = SPECS[tool]
    parsed = spec.input_model.model_construct(**fields) if fields is not None else None
    assert family_labels(spec, parsed) == (counter, values)


def test_every_tool_has_a_family_counter() -> None:
    # A composite (the pipeline) has none of its own: each of its steps is counted in its family.
    missing = [
        spec.name
        for spec in catalogue()
        if family_labels(spec, None) is None and spec.composite is None
    ]
    assert missing == []
    assert family_labels(next(s for s in catalogue() if s.name == "pipeline"), None) is None


class _Mixed(ToolInput):
    action: str = "free text"
    algorithm: Literal["a", "b"] | None = None
    mode: Literal[1, 2] = 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [("action", None), ("algorithm", "a"), ("mode", None), ("absent", None)],
    ids=["free-text-never-a-label", "optional-literal", "non-string-literal", "no-such-field"],
)
def test_only_string_literals_become_labels(name: str, expected: str | None) -> None:
    assert literal_value(_Mixed(algorithm="a"), name) == expected


class _Verify(ToolOutput):
    valid: bool


@pytest.mark.parametrize(
    ("result", "error", "status"),
    [
        (_Verify(valid=True), None, "success"),
        (_Verify(valid=False), None, "invalid_password"),
        (None, ValueError("x"), "error"),
    ],
    ids=["success", "verify-mismatch", "other-error"],
)
def test_family_status(result: ToolOutput | None, error: Exception | None, status: str) -> None:
    assert _family_status(result, error) == status


def test_validation_error_status() -> None:
    assert _family_status(None, ValidationError("bad")) == "validation_error"
    assert _family_status(None, ServiceUnavailableError("busy")) == "error"


def test_unknown_family_has_no_counter() -> None:
    spec = dataclasses.replace(SPECS["crypto_hash"], path="/api/v1/misc/thing")
    assert family_labels(spec, None) is None


def test_cache_key_reads_only_bounded_inputs_even_when_first_seen_empty() -> None:
    class Fresh(_Mixed):  # a model the key cache has never seen
        pass

    # First seen with the Optional Literal unset: the field must still count as a label input.
    assert _label_inputs(Fresh()) is None
    assert _label_inputs(Fresh(algorithm="b")) == "b"
    assert _label_inputs(Fresh(action="secret text", algorithm="a")) == "a"
    assert _label_inputs(None) is None


def test_a_bad_batch_item_costs_only_itself(caplog: pytest.LogCaptureFixture) -> None:
    from devutils.http.middleware.tool_metrics import ToolMetrics
    from devutils.observability.metrics import TOOL_CALLS
    from devutils.registry import CallInfo

    metrics = ToolMetrics()
    spec = SPECS["id_uuid"]
    labels = (spec.name, "cli", "success")
    before = TOOL_CALLS.value(labels)
    metrics.observe(spec, CallInfo("cli"), 0.001, None, None)
    metrics.batch.add((None, 0.001))  # a malformed item between two good ones
    metrics.observe(spec, CallInfo("cli"), 0.001, None, None)
    with caplog.at_level("ERROR", logger="devutils.observability"):
        metrics.batch.drain()
    assert TOOL_CALLS.value(labels) - before == 2
    assert caplog.text.count("recording failed") == 1
