"""crypto/password/hash and crypto/password/verify (Argon2id, API-DELTAS D4)."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import argon2
import httpx
import pytest
from prometheus_client import REGISTRY

from devutils.errors import ServiceUnavailableError, ValidationError
from devutils.models import ToolOutput
from devutils.registry import CallInfo, Registry, ToolContext, catalogue
from devutils.tools.password import (
    PasswordHashOutput,
    PasswordVerifyOutput,
    format_phc,
    parse_phc,
)
from tests.conftest import FIXED_NOW, make_settings

HASH_PATH = "/api/v1/crypto/password/hash"
VERIFY_PATH = "/api/v1/crypto/password/verify"
PHC = re.compile(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")

# Made once with argon2-cffi (libargon2, the reference C implementation) from fixed salts.
HUNTER2 = "$argon2id$v=19$m=1024,t=1,p=1$AAECAwQFBgcICQoLDA0ODw$n2yUGWQBJZq4r7rTxi8IECcZjvKdvBDEKK652Eu/KaI"
EMPTY = "$argon2id$v=19$m=2048,t=2,p=2$c2FsdHNhbHRzYWx0c2FsdA$8kOjhe3lp23tLZKsrXr8ew"
UMLAUTS = "$argon2id$v=19$m=1024,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$ST7P1jKXFR/iIcuthaU5uIjSO7z+UsmAk6J0uUjAkdk"
# Also from argon2-cffi, with the default parameters (m=64 MiB, t=3, p=4) for "correct horse battery staple".
DEFAULTS = "$argon2id$v=19$m=65536,t=3,p=4$+/v8Ev5O/wV0sqgbO9T+6g$rJC9rG01hIF/M6lZkhGfQC25aLfu9xLxUv1fRTAQ5c4"
SALT = "AAECAwQFBgcICQoLDA0ODw"
KEY = "n2yUGWQBJZq4r7rTxi8IECcZjvKdvBDEKK652Eu/KaI"

# Cheap Argon2 settings, so the dummy run spent on malformed hashes costs milliseconds here.
CHEAP = {"argon_memory": 1024, "argon_iterations": 1, "argon_parallelism": 1}


def registry_with(**overrides: Any) -> Registry:
    settings = make_settings(**overrides)
    return Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))


async def invoke(registry: Registry, name: str, args: dict[str, Any]) -> ToolOutput:
    spec = registry.get(name)
    assert spec is not None
    return await registry.invoke(spec, args, CallInfo(frontend="rest"))


async def verify(registry: Registry, password: str | None, encoded: str) -> bool:
    args: dict[str, Any] = {"hash": encoded}
    if password is not None:
        args["password"] = password
    result = await invoke(registry, "crypto_password_verify", args)
    assert isinstance(result, PasswordVerifyOutput)
    return result.valid


@pytest.fixture
def cheap() -> Registry:
    return registry_with(**CHEAP)


# --- hash ----------------------------------------------------------------------------------------


async def test_hash_with_defaults_is_the_reference_format(client: httpx.AsyncClient) -> None:
    response = await client.post(HASH_PATH, json={"password": "correct horse"})
    assert response.status_code == 200, response.text
    assert set(response.json()["data"]) == {"hash"}
    encoded = response.json()["data"]["hash"]
    match = PHC.fullmatch(encoded)
    assert match is not None, encoded
    assert match.groups()[:3] == ("65536", "3", "4")
    assert (len(match[4]), len(match[5])) == (22, 43)  # 16-byte salt, 32-byte key, no padding
    # An independent verifier (argon2-cffi's own PHC decoder) accepts it.
    assert argon2.PasswordHasher().verify(encoded, "correct horse")


async def test_settings_shape_the_hash() -> None:
    registry = registry_with(
        argon_memory=2048,
        argon_iterations=2,
        argon_parallelism=2,
        argon_salt_length=24,
        argon_key_length=48,
    )
    result = await invoke(registry, "crypto_password_hash", {"password": "pw"})
    assert isinstance(result, PasswordHashOutput)
    match = PHC.fullmatch(result.hash)
    assert match is not None
    assert match.groups()[:3] == ("2048", "2", "2")
    assert len(base64.b64decode(match[4] + "==")) == 24
    assert len(base64.b64decode(match[5] + "==")) == 48
    assert argon2.PasswordHasher().verify(result.hash, "pw")


async def test_salts_are_random(cheap: Registry) -> None:
    hashes = set()
    for _ in range(3):
        result = await invoke(cheap, "crypto_password_hash", {"password": "same"})
        assert isinstance(result, PasswordHashOutput)
        hashes.add(result.hash)
    assert len(hashes) == 3


async def test_empty_password_hashes_the_empty_string(cheap: Registry) -> None:
    result = await invoke(cheap, "crypto_password_hash", {"password": ""})
    assert isinstance(result, PasswordHashOutput)
    assert await verify(cheap, "", result.hash)
    assert not await verify(cheap, " ", result.hash)


@pytest.mark.parametrize("tool", ["crypto_password_hash", "crypto_password_verify"])
@pytest.mark.parametrize("args", [{}, {"password": None}], ids=["missing", "null"])
async def test_missing_password_is_refused(
    cheap: Registry, tool: str, args: dict[str, Any]
) -> None:
    # The reference hashed (or checked) "" here; a misspelled field must not do that.
    with pytest.raises(ValidationError) as refused:
        await invoke(cheap, tool, {**args, **({"hash": HUNTER2} if "verify" in tool else {})})
    assert refused.value.message == 'field "password" is required'


async def test_hash_then_verify_round_trip(cheap: Registry) -> None:
    result = await invoke(cheap, "crypto_password_hash", {"password": "pässwörd 🔑"})
    assert isinstance(result, PasswordHashOutput)
    assert await verify(cheap, "pässwörd 🔑", result.hash)
    assert not await verify(cheap, "passwörd 🔑", result.hash)


# --- verify: known answers and malformed hashes ------------------------------------------------


@pytest.mark.parametrize(
    ("password", "encoded", "valid"),
    [
        ("hunter2", HUNTER2, True),
        ("hunter3", HUNTER2, False),
        ("Hunter2", HUNTER2, False),
        ("", HUNTER2, False),
        ("", EMPTY, True),
        ("x", EMPTY, False),
        ("pässwörd", UMLAUTS, True),
        ("passwörd", UMLAUTS, False),
    ],
    ids=[
        "right",
        "wrong",
        "case",
        "empty-vs-set",
        "empty-vs-empty",
        "set-vs-empty",
        "utf8-right",
        "utf8-wrong",
    ],
)
async def test_verify_known_hashes(
    cheap: Registry, password: str | None, encoded: str, valid: bool
) -> None:
    assert await verify(cheap, password, encoded) is valid


async def test_verify_hashes_from_argon2_cffi(cheap: Registry) -> None:
    hasher = argon2.PasswordHasher(time_cost=1, memory_cost=4096, parallelism=2, hash_len=20)
    encoded = hasher.hash("s3cret")
    assert await verify(cheap, "s3cret", encoded)
    assert not await verify(cheap, "s3cret!", encoded)


MALFORMED = [
    HUNTER2.replace("argon2id", "argon2i"),
    HUNTER2.replace("argon2id", "argon2d"),
    HUNTER2.replace("argon2id", "ARGON2ID"),
    HUNTER2.replace("v=19", "v=16"),
    HUNTER2.replace("$v=19", ""),
    HUNTER2 + "$",
    "x" + HUNTER2,
    " " + HUNTER2,
    HUNTER2 + " ",
    HUNTER2.replace(SALT, SALT + "=="),
    HUNTER2.replace(KEY, KEY + "="),
    HUNTER2.replace(KEY, KEY.replace("/", "_")),
    HUNTER2.replace(SALT, SALT + "A"),  # 4n+1 characters cannot be base64
    HUNTER2.replace("m=1024", "m=1k"),
    HUNTER2.replace("m=1024", "m=-1024"),
    HUNTER2.replace("m=1024", "m=١٠٢٤"),  # Arabic-Indic digits
    HUNTER2.replace("p=1", "p=1,x=2"),
    HUNTER2.replace("m=1024,t=1,p=1", "t=1,m=1024,p=1"),
    HUNTER2.replace("m=1024", "m=0"),
    HUNTER2.replace("t=1", "t=0"),
    HUNTER2.replace("p=1", "p=0"),
    HUNTER2.replace(KEY, ""),
    HUNTER2.replace(SALT, ""),
    HUNTER2.replace(SALT, "c2FsdA"),  # 4-byte salt: below libargon2's 8-byte floor
    HUNTER2.replace(KEY, "AAAA"),  # 3-byte key: below libargon2's 4-byte floor
    HUNTER2.replace("m=1024,t=1,p=1", "m=8,t=1,p=2"),  # m < 8 * p
    "not a hash",
    "$$$$$",
]
MALFORMED_IDS = [
    "argon2i",
    "argon2d",
    "uppercase-id",
    "version-16",
    "no-version",
    "extra-field",
    "prefix",
    "leading-space",
    "trailing-space",
    "padded-salt",
    "padded-key",
    "urlsafe-key",
    "bad-base64-length",
    "non-numeric-m",
    "negative-m",
    "non-ascii-digits",
    "text-after-p",
    "param-order",
    "zero-m",
    "zero-t",
    "zero-p",
    "empty-key",
    "empty-salt",
    "short-salt",
    "short-key",
    "memory-below-lanes",
    "free-text",
    "only-separators",
]


@pytest.mark.parametrize("encoded", MALFORMED, ids=MALFORMED_IDS)
async def test_malformed_hashes_are_not_valid(cheap: Registry, encoded: str) -> None:
    assert await verify(cheap, "hunter2", encoded) is False


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ("m=4194304,t=1,p=1", "m=4194304 exceeds the maximum 65536"),
        ("m=99999999999999999999,t=1,p=1", "m=99999999999999999999 exceeds"),
        ("m=65537,t=1,p=1", "m=65537 exceeds the maximum 65536"),
        ("m=1024,t=11,p=1", "t=11 exceeds the maximum 10"),
        ("m=1024,t=1000000000,p=1", "t=1000000000 exceeds"),
        ("m=1024,t=1,p=17", "p=17 exceeds the maximum 16"),
    ],
    ids=["m-4gib", "m-20-digits", "m-one-over", "t-one-over", "t-billion", "p-one-over"],
)
async def test_hashes_over_the_maxima_are_refused(
    cheap: Registry, params: str, complaint: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await verify(cheap, "hunter2", HUNTER2.replace("m=1024,t=1,p=1", params))
    assert info.value.message == "Hash parameters exceed server limits"
    assert complaint in info.value.details


async def test_key_length_over_the_maximum_is_refused(cheap: Registry) -> None:
    long_key = base64.b64encode(bytes(129)).decode().rstrip("=")
    with pytest.raises(ValidationError) as info:
        await verify(cheap, "hunter2", HUNTER2.replace(KEY, long_key))
    assert "key length=129 exceeds the maximum 128" in info.value.details


async def test_maxima_follow_settings() -> None:
    strict = registry_with(
        **CHEAP,
        argon_verify_max_memory=1024,
        argon_verify_max_iterations=1,
        argon_verify_max_parallelism=1,
        argon_verify_max_key_length=32,
    )
    assert await verify(strict, "hunter2", HUNTER2)  # exactly at every maximum
    with pytest.raises(ValidationError):
        await verify(strict, "", EMPTY)  # m=2048, t=2, p=2


# --- password length cap -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["crypto_password_hash", "crypto_password_verify"])
async def test_password_length_is_capped_in_bytes(name: str) -> None:
    registry = registry_with(**CHEAP, argon_max_password_bytes=64)
    args: dict[str, Any] = {"hash": HUNTER2} if name == "crypto_password_verify" else {}
    await invoke(registry, name, {**args, "password": "é" * 32})  # 64 bytes: allowed
    with pytest.raises(ValidationError) as info:
        await invoke(registry, name, {**args, "password": "é" * 32 + "x"})  # 65 bytes
    assert info.value.message == "Password too long"
    assert "65 bytes" in info.value.details


# --- REST envelopes ------------------------------------------------------------------------------


async def test_rest_refusal_envelope(client: httpx.AsyncClient) -> None:
    forged = HUNTER2.replace("m=1024", "m=4194304")
    response = await client.post(VERIFY_PATH, json={"password": "hunter2", "hash": forged})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "VALIDATION_ERROR",
        "Hash parameters exceed server limits",
    )
    assert "m=4194304" in error["details"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (VERIFY_PATH, {"password": "x"}, "hash"),
        (VERIFY_PATH, {"password": "x", "hash": ""}, "hash"),
        (VERIFY_PATH, {"password": "x", "hash": None}, "hash"),
        (VERIFY_PATH, {"password": "x", "hash": "$" * 1025}, "hash"),
        (VERIFY_PATH, {"password": 1, "hash": HUNTER2}, "password"),
        (HASH_PATH, {"password": 123}, "password"),
        (HASH_PATH, {"password": ["a"]}, "password"),
    ],
    ids=[
        "verify-missing-hash",
        "verify-empty-hash",
        "verify-null-hash",
        "verify-huge-hash",
        "verify-number-password",
        "hash-number-password",
        "hash-array-password",
    ],
)
async def test_bad_requests(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    missing = body.get(field) is None
    message = f'field "{field}" is required' if missing else "Invalid request format"
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", message)
    assert field in error["details"]


async def test_rest_verify_of_the_documented_examples(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    spec = registry.get("crypto_password_verify")
    assert spec is not None
    answers = [
        (await client.post(VERIFY_PATH, json=dict(example.args))).json()
        for example in spec.examples
    ]
    assert answers == [
        {"success": True, "data": {"valid": True}},
        {"success": True, "data": {"valid": False}},
        {"success": True, "data": {"valid": True}},  # bcrypt
        {"success": True, "data": {"valid": True}},  # Django PBKDF2
    ]


# --- declarations, gate and gauge -------------------------------------------------------------


def test_declarations(registry: Registry) -> None:
    hashing = registry.get("crypto_password_hash")
    checking = registry.get("crypto_password_verify")
    assert hashing is not None
    assert checking is not None
    for spec in (hashing, checking):
        assert (spec.gate, spec.blocking, spec.rate_class, spec.read_only) == (
            "argon2",
            True,
            "crypto",
            True,
        )
        assert spec.bind_error_message == "Invalid request format"
    assert (hashing.idempotent, checking.idempotent) == (False, True)


async def test_full_gate_answers_503_with_retry_after() -> None:
    registry = registry_with(**CHEAP, argon_max_concurrency=1, argon_queue_size=0)
    gate = registry.gates["argon2"]
    entered, release = asyncio.Event(), asyncio.Event()

    async def occupy() -> ToolOutput:
        entered.set()
        await release.wait()
        return PasswordVerifyOutput(valid=False)

    holder = asyncio.create_task(gate.run(occupy))
    await entered.wait()
    try:
        for name, args in (
            ("crypto_password_hash", {"password": "x"}),
            ("crypto_password_verify", {"password": "x", "hash": HUNTER2}),
        ):
            with pytest.raises(ServiceUnavailableError) as info:
                await invoke(registry, name, args)
            assert info.value.headers["Retry-After"] == "1"
    finally:
        release.set()
        await holder
    assert await verify(registry, "hunter2", HUNTER2)  # the slot is free again


def in_flight() -> float:
    value = REGISTRY.get_sample_value("argon2_in_flight")
    assert value is not None
    return value


async def test_in_flight_gauge_counts_running_computations(registry: Registry) -> None:
    before = in_flight()
    # Default parameters (64 MiB, t=3) run long enough to be seen from the event loop.
    task = asyncio.create_task(verify(registry, "correct horse battery staple", DEFAULTS))
    seen = before
    while not task.done():
        seen = max(seen, in_flight())
        await asyncio.sleep(0.001)
    assert await task
    assert seen >= before + 1
    assert in_flight() == before
    await verify(registry, "hunter2", "malformed")  # the dummy run is counted and released too
    assert in_flight() == before


# --- the PHC helpers ---------------------------------------------------------------------------


def test_parse_and_format_are_inverse() -> None:
    parsed = parse_phc(HUNTER2)
    assert parsed is not None
    assert (parsed.params.memory, parsed.params.iterations, parsed.params.parallelism) == (
        1024,
        1,
        1,
    )
    assert parsed.salt == bytes(range(16))
    assert parsed.params.key_length == len(parsed.key) == 32
    assert format_phc(parsed.params, parsed.salt, parsed.key) == HUNTER2
