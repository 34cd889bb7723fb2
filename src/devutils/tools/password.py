"""crypto password tools: hash, verify and inspect password hashes.

Argon2id (the default, the reference's PHC string), bcrypt, scrypt and PBKDF2-SHA256/512, in PHC,
bcrypt's modular crypt or Django's formats (see :mod:`devutils.tools._pwschemes`).  Verification
detects the scheme and refuses hashes that ask for more than the server's maxima (API-DELTAS D4)
before computing anything, and spends one default-parameter Argon2id computation on malformed
hashes so that a bad hash answers as slowly as a wrong password.  Hashing and verification run
behind the Argon2 gate in the ``argon2`` pool; inspection only parses, on the event loop.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools._pwargon2 import (
    Argon2Params,
    ParsedHash,
    argon2id,
    default_params,
    format_phc,
    parse_phc,
    password_bytes,
)
from devutils.tools._pwschemes import (
    HashFormat,
    Scheme,
    check_password_for,
    hash_password,
    malformed,
    over_limits,
    parse,
    verify_password,
)

# A well-formed hash within the maxima is a few hundred characters; the cap keeps parsing cheap.
_MAX_HASH_CHARS = 1024
_EXAMPLE_PASSWORD = "correct horse battery staple"  # noqa: S105 - documentation example
_EXAMPLE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$+/v8Ev5O/wV0sqgbO9T+6g$rJC9rG01hIF/M6lZkhGfQC25aLfu9xLxUv1fRTAQ5c4"
_EXAMPLE_BCRYPT = "$2b$12$qLhd1/SNrrZgHpUVqiDHVOy7eyujfvwm/EYKrvjhnz5jBpvPGixmy"
_EXAMPLE_PBKDF2 = (
    "pbkdf2_sha256$600000$NKIG8OWLk0Ig3OD2xq8S7T$TPXKs8P9N9ffLrmOU/ncvHLxc0E6Emm3nJ8enj8u8tM="
)
_HASH_CHARS = f"Hash string (at most {_MAX_HASH_CHARS} characters)."


class PasswordHashInput(ToolInput):
    password: str = Field(description="Password to hash (its UTF-8 bytes).")
    algorithm: Scheme = Field("argon2id", description="Hash scheme.")
    format: HashFormat = Field("phc", description="phc (bcrypt: $2b$) or django string.")


class PasswordHashOutput(ToolOutput):
    hash: str = Field(description="The hash string, e.g. $argon2id$v=19$m=..,t=..,p=..$salt$key.")


def _hash_precheck(inp: PasswordHashInput, ctx: ToolContext) -> None:
    check_password_for(inp.algorithm, password_bytes(inp.password, ctx.settings))


@tool(
    "/api/v1/crypto/password/hash",
    title="Hash a password",
    description=(
        "Hash a password with a fresh random salt: argon2id (default), bcrypt, scrypt or "
        "pbkdf2_sha256/512, as a PHC/bcrypt or Django string."
    ),
    bind_error_message="Invalid request format",
    read_only=True,
    idempotent=False,
    blocking=True,
    gate="argon2",
    precheck=_hash_precheck,
    rate_class="crypto",
    examples=(
        Example({"password": _EXAMPLE_PASSWORD}),
        Example({"password": _EXAMPLE_PASSWORD, "algorithm": "bcrypt"}, "bcrypt"),
        Example(
            {"password": _EXAMPLE_PASSWORD, "algorithm": "pbkdf2_sha256", "format": "django"},
            "Django PBKDF2",
        ),
    ),
)
def crypto_password_hash(inp: PasswordHashInput, ctx: ToolContext) -> PasswordHashOutput:
    _hash_precheck(inp, ctx)  # also run by the registry before the gate; cheap, so kept here
    password = inp.password.encode()
    return PasswordHashOutput(hash=hash_password(inp.algorithm, inp.format, password, ctx.settings))


class PasswordVerifyInput(ToolInput):
    password: str = Field(description="Password to check (its UTF-8 bytes).")
    hash: str = Field(
        min_length=1,
        max_length=_MAX_HASH_CHARS,
        description="Hash from crypto/password/hash or elsewhere; the scheme is detected.",
    )


class PasswordVerifyOutput(ToolOutput):
    valid: bool = Field(description="True when the password matches the hash.")


def _verify_precheck(inp: PasswordVerifyInput, ctx: ToolContext) -> None:
    """Refuse over-long passwords and over-limit hashes before waiting for a slot."""
    password = password_bytes(inp.password, ctx.settings)
    parsed = parse(inp.hash)
    if parsed is not None:
        refused = over_limits(parsed, ctx.settings)
        if refused:
            raise ValidationError("Hash parameters exceed server limits", "; ".join(refused))
        check_password_for(parsed.scheme, password)


@tool(
    "/api/v1/crypto/password/verify",
    title="Verify a password",
    description=(
        "Check a password against an argon2id, bcrypt, scrypt or PBKDF2 hash in constant time. "
        "Malformed hashes are not valid; hashes over the server's cost limits are refused."
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
        Example({"password": _EXAMPLE_PASSWORD, "hash": _EXAMPLE_BCRYPT}, "bcrypt"),
        Example({"password": _EXAMPLE_PASSWORD, "hash": _EXAMPLE_PBKDF2}, "Django PBKDF2"),
    ),
)
def crypto_password_verify(inp: PasswordVerifyInput, ctx: ToolContext) -> PasswordVerifyOutput:
    # The registry already ran this before the gate; again here because it is microseconds next
    # to the hash run it guards, and no caller can then skip it.
    _verify_precheck(inp, ctx)
    settings = ctx.settings
    password = inp.password.encode()
    parsed = parse(inp.hash)
    if parsed is not None and not malformed(parsed):
        try:
            return PasswordVerifyOutput(valid=verify_password(parsed, password))
        except ValueError:
            pass  # a parameter combination the library refuses: malformed, below
    # Same cost as a real check, so timing does not tell a malformed hash from a wrong password.
    argon2id(password, bytes(settings.argon_salt_length), default_params(settings))
    return PasswordVerifyOutput(valid=False)


class PasswordInspectInput(ToolInput):
    hash: str = Field(min_length=1, max_length=_MAX_HASH_CHARS, description=_HASH_CHARS)


class PasswordInspectOutput(ToolOutput):
    scheme: Scheme = Field(description="The hash scheme.")
    format: Literal["phc", "passlib", "mcf", "django"] = Field(description="The string format.")
    variant: str | None = Field(None, description="bcrypt's 2a, 2b or 2y.")
    params: dict[str, int] = Field(
        description="Cost parameters as written (m,t,p; cost; ln,r,p; i)."
    )
    salt_bytes: int = Field(description="Salt length in bytes.")
    hash_bytes: int = Field(description="Derived key length in bytes.")
    verifiable: bool = Field(description="True when verify would compute this hash.")
    problems: list[str] = Field(
        description="Why it is not verifiable (limits exceeded, malformed)."
    )


# bcrypt's 22 + 31 characters of its own base64 are 16 salt bytes and 23 key bytes.
_BCRYPT_SIZES = (16, 23)


@tool(
    "/api/v1/crypto/password/inspect",
    title="Inspect a password hash",
    description="Scheme, format and cost parameters of a password hash, without verifying it.",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    examples=(
        Example({"hash": _EXAMPLE_HASH}),
        Example({"hash": _EXAMPLE_BCRYPT}, "bcrypt"),
    ),
)
def crypto_password_inspect(inp: PasswordInspectInput, ctx: ToolContext) -> PasswordInspectOutput:
    parsed = parse(inp.hash)
    if parsed is None:
        raise ValidationError(
            "Unrecognised password hash",
            "expected an argon2id, bcrypt, scrypt or PBKDF2 hash in PHC, modular crypt, passlib "
            "or Django format",
        )
    problems = over_limits(parsed, ctx.settings) + malformed(parsed)
    salt_bytes, hash_bytes = (
        _BCRYPT_SIZES if parsed.scheme == "bcrypt" else (len(parsed.salt), len(parsed.key))
    )
    return PasswordInspectOutput(
        scheme=parsed.scheme,
        format=parsed.layout,
        variant=parsed.variant,
        params=parsed.params,
        salt_bytes=salt_bytes,
        hash_bytes=hash_bytes,
        verifiable=not problems,
        problems=problems,
    )


__all__ = [
    "Argon2Params",
    "ParsedHash",
    "PasswordHashOutput",
    "PasswordInspectOutput",
    "PasswordVerifyOutput",
    "format_phc",
    "parse_phc",
]
