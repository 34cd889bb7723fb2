"""Argon2id PHC strings: parsing, formatting, server maxima and one bounded computation.

The PHC string is the reference's: ``$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>``
with unpadded standard base64.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw

from devutils.errors import ValidationError
from devutils.observability.metrics import ARGON2_IN_FLIGHT
from devutils.settings import Settings

# libargon2's own floors; a hash below them cannot be recomputed, so it counts as malformed.
_MIN_SALT_BYTES = 8
_MIN_KEY_BYTES = 4
# ASCII digits only: \d would also take other scripts' digits, which int() accepts.
_PARAMS = re.compile(r"m=([0-9]{1,20}),t=([0-9]{1,20}),p=([0-9]{1,20})")
_B64_UNPADDED = re.compile(r"[A-Za-z0-9+/]*")


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


def b64encode_unpadded(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def b64decode_unpadded(text: str) -> bytes | None:
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
        f"p={params.parallelism}${b64encode_unpadded(salt)}${b64encode_unpadded(key)}"
    )


def parse_phc(encoded: str) -> ParsedHash | None:
    """Parse an Argon2id PHC string strictly; None when it is malformed in any way."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] or parts[1] != "argon2id" or parts[2] != f"v={ARGON2_VERSION}":
        return None
    numbers = _PARAMS.fullmatch(parts[3])
    salt = b64decode_unpadded(parts[4])
    key = b64decode_unpadded(parts[5])
    if numbers is None or salt is None or key is None:
        return None
    memory, iterations, parallelism = (int(value) for value in numbers.groups())
    return ParsedHash(Argon2Params(memory, iterations, parallelism, len(key)), salt, key)


def over_maxima(params: Argon2Params, settings: Settings) -> list[str]:
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


def computable(parsed: ParsedHash) -> bool:
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


def password_bytes(password: str, settings: Settings) -> bytes:
    raw = password.encode()
    if len(raw) > settings.argon_max_password_bytes:
        raise ValidationError(
            "Password too long",
            f"password is {len(raw)} bytes; the maximum is {settings.argon_max_password_bytes}",
        )
    return raw
