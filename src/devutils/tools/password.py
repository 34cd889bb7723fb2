"""crypto password tools: Argon2id hashing and verification of PHC strings.

The PHC string is the reference's: ``$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>``
with unpadded standard base64.  Verification refuses hashes that ask for more than the server's
maxima (API-DELTAS D4) before computing anything, and spends one default-parameter computation on
malformed hashes so that a bad hash answers as slowly as a wrong password.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
from dataclasses import dataclass

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.observability.metrics import ARGON2_IN_FLIGHT
from devutils.registry import Example, ToolContext, tool
from devutils.settings import Settings

# libargon2's own floors; a hash below them cannot be recomputed, so it counts as malformed.
_MIN_SALT_BYTES = 8
_MIN_KEY_BYTES = 4
# ASCII digits only: \d would also take other scripts' digits, which int() accepts.
_PARAMS = re.compile(r"m=([0-9]{1,20}),t=([0-9]{1,20}),p=([0-9]{1,20})")
_B64_UNPADDED = re.compile(r"[A-Za-z0-9+/]*")
# A well-formed hash within the maxima is a few hundred characters; the cap keeps parsing cheap.
_MAX_HASH_CHARS = 1024
_EXAMPLE_PASSWORD = "correct horse battery staple"  # noqa: S105 - documentation example
_EXAMPLE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$+/v8Ev5O/wV0sqgbO9T+6g$rJC9rG01hIF/M6lZkhGfQC25aLfu9xLxUv1fRTAQ5c4"


@dataclass(frozen=True)
class Argon2Params:
    memory: int  # KiB
    iterations: int
    parallelism: int
    key_length: int


@dataclass(frozen=True)
class ParsedHash:
    params: Argon2Params
    salt: bytes
    key: bytes


def default_params(settings: Settings) -> Argon2Params:
    return Argon2Params(
        memory=settings.argon_memory,
        iterations=settings.argon_iterations,
        parallelism=settings.argon_parallelism,
        key_length=settings.argon_key_length,
    )


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _b64decode_unpadded(text: str) -> bytes | None:
    """Standard-alphabet base64 without padding (Go's RawStdEncoding), or None."""
    if not _B64_UNPADDED.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        return None


def format_phc(params: Argon2Params, salt: bytes, key: bytes) -> str:
    return (
        f"$argon2id$v={ARGON2_VERSION}$m={params.memory},t={params.iterations},"
        f"p={params.parallelism}${_b64encode(salt)}${_b64encode(key)}"
    )


def parse_phc(encoded: str) -> ParsedHash | None:
    """Parse an Argon2id PHC string strictly; None when it is malformed in any way."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] or parts[1] != "argon2id" or parts[2] != f"v={ARGON2_VERSION}":
        return None
    numbers = _PARAMS.fullmatch(parts[3])
    salt = _b64decode_unpadded(parts[4])
    key = _b64decode_unpadded(parts[5])
    if numbers is None or salt is None or key is None:
        return None
    memory, iterations, parallelism = (int(value) for value in numbers.groups())
    return ParsedHash(Argon2Params(memory, iterations, parallelism, len(key)), salt, key)


def _over_maxima(params: Argon2Params, settings: Settings) -> list[str]:
    limits = (
        ("m", params.memory, settings.argon_verify_memory_limit),
        ("t", params.iterations, settings.argon_verify_max_iterations),
        ("p", params.parallelism, settings.argon_verify_max_parallelism),
        ("key length", params.key_length, settings.argon_verify_max_key_length),
    )
    return [
        f"{name}={value} exceeds the maximum {limit}"
        for name, value, limit in limits
        if value > limit
    ]


def _computable(parsed: ParsedHash) -> bool:
    params = parsed.params
    return (
        min(params.memory, params.iterations, params.parallelism) > 0
        and params.memory >= 8 * params.parallelism
        and len(parsed.salt) >= _MIN_SALT_BYTES
        and params.key_length >= _MIN_KEY_BYTES
    )


def argon2id(password: bytes, salt: bytes, params: Argon2Params) -> bytes:
    """One Argon2id run, counted in the in-flight gauge while its memory is held."""
    ARGON2_IN_FLIGHT.inc()
    try:
        return hash_secret_raw(
            secret=password,
            salt=salt,
            time_cost=params.iterations,
            memory_cost=params.memory,
            parallelism=params.parallelism,
            hash_len=params.key_length,
            type=Type.ID,
            version=ARGON2_VERSION,
        )
    finally:
        ARGON2_IN_FLIGHT.dec()


def _password_bytes(password: str, settings: Settings) -> bytes:
    raw = password.encode()
    if len(raw) > settings.argon_max_password_bytes:
        raise ValidationError(
            "Password too long",
            f"password is {len(raw)} bytes; the maximum is {settings.argon_max_password_bytes}",
        )
    return raw


class PasswordHashInput(ToolInput):
    password: str = Field(description="Password to hash (its UTF-8 bytes).")


class PasswordHashOutput(ToolOutput):
    hash: str = Field(description="Argon2id PHC string: $argon2id$v=19$m=..,t=..,p=..$salt$key.")


def _hash_precheck(inp: PasswordHashInput, ctx: ToolContext) -> None:
    _password_bytes(inp.password, ctx.settings)


@tool(
    "/api/v1/crypto/password/hash",
    title="Hash a password (Argon2id)",
    description="Argon2id hash of a password as a PHC string, with a fresh random salt.",
    bind_error_message="Invalid request format",
    read_only=True,
    idempotent=False,
    blocking=True,
    gate="argon2",
    precheck=_hash_precheck,
    rate_class="crypto",
    examples=(Example({"password": _EXAMPLE_PASSWORD}),),
)
def crypto_password_hash(inp: PasswordHashInput, ctx: ToolContext) -> PasswordHashOutput:
    _hash_precheck(inp, ctx)  # also run by the registry before the gate; cheap, so kept here
    settings = ctx.settings
    password = inp.password.encode()
    params = default_params(settings)
    salt = os.urandom(settings.argon_salt_length)
    return PasswordHashOutput(hash=format_phc(params, salt, argon2id(password, salt, params)))


class PasswordVerifyInput(ToolInput):
    password: str = Field(description="Password to check (its UTF-8 bytes).")
    hash: str = Field(
        min_length=1,
        max_length=_MAX_HASH_CHARS,
        description="Argon2id PHC string from crypto/password/hash (at most 1024 characters).",
    )


class PasswordVerifyOutput(ToolOutput):
    valid: bool = Field(description="True when the password matches the hash.")


def _verify_precheck(inp: PasswordVerifyInput, ctx: ToolContext) -> None:
    """Refuse over-long passwords and over-limit hashes before waiting for an Argon2 slot."""
    _password_bytes(inp.password, ctx.settings)
    parsed = parse_phc(inp.hash)
    if parsed is not None:
        refused = _over_maxima(parsed.params, ctx.settings)
        if refused:
            raise ValidationError("Hash parameters exceed server limits", "; ".join(refused))


@tool(
    "/api/v1/crypto/password/verify",
    title="Verify a password (Argon2id)",
    description=(
        "Check a password against an Argon2id PHC string in constant time. Malformed hashes are "
        "not valid; hashes asking for more memory or work than the server allows are refused."
    ),
    bind_error_message="Invalid request format",
    read_only=True,
    idempotent=True,
    blocking=True,
    gate="argon2",
    precheck=_verify_precheck,
    rate_class="crypto",
    examples=(
        Example({"password": _EXAMPLE_PASSWORD, "hash": _EXAMPLE_HASH}, "matching password"),
        Example({"password": "Tr0ub4dor&3", "hash": _EXAMPLE_HASH}, "wrong password"),
    ),
)
def crypto_password_verify(inp: PasswordVerifyInput, ctx: ToolContext) -> PasswordVerifyOutput:
    # The registry already ran this before the gate; again here because it is microseconds next
    # to the Argon2 run it guards, and no caller can then skip it.
    _verify_precheck(inp, ctx)
    settings = ctx.settings
    password = inp.password.encode()
    parsed = parse_phc(inp.hash)
    if parsed is None or not _computable(parsed):
        # Same cost as a real check, so timing does not tell a malformed hash from a wrong password.
        argon2id(password, bytes(settings.argon_salt_length), default_params(settings))
        return PasswordVerifyOutput(valid=False)
    computed = argon2id(password, parsed.salt, parsed.params)
    return PasswordVerifyOutput(valid=hmac.compare_digest(computed, parsed.key))
