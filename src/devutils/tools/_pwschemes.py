"""Every password-hash scheme behind crypto/password/*: one parsed form, server maxima, hashing and
verification.

Schemes: argon2id, bcrypt, scrypt, pbkdf2_sha256 and pbkdf2_sha512.  Strings read:

* PHC: ``$argon2id$v=19$m=..,t=..,p=..$salt$key``, ``$scrypt$ln=..,r=..,p=..$salt$key``,
  ``$pbkdf2-sha256$i=..,l=..$salt$key`` (unpadded standard base64); passlib's
  ``$pbkdf2-sha256$<i>$salt$key`` (its "." for "+" alphabet);
* bcrypt's modular crypt ``$2b$<cost>$<22 salt><31 key>`` (also ``$2a$`` and PHP's ``$2y$``);
* Django's: ``argon2$argon2id$...``, ``bcrypt$$2b$...``, ``scrypt$<N>$salt$<r>$<p>$key`` and
  ``pbkdf2_sha256$<i>$salt$key`` (padded base64, the salt is text).

Every cost parameter has a server maximum, checked before anything is computed (API-DELTAS D4).
The computations run where the tools run: behind the Argon2 gate, in the ``argon2`` pool.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Literal

import bcrypt

from devutils.errors import ValidationError
from devutils.settings import Settings
from devutils.tools._pwargon2 import (
    Argon2Params,
    ParsedHash,
    argon2id,
    b64decode_unpadded,
    b64encode_unpadded,
    computable,
    default_params,
    format_phc,
    over_maxima,
    parse_phc,
)

Scheme = Literal["argon2id", "bcrypt", "scrypt", "pbkdf2_sha256", "pbkdf2_sha512"]
HashFormat = Literal["phc", "django"]

# bcrypt: cost is log2 of the rounds; 12 is ~0.25 s here, each step doubles it.
BCRYPT_COST = 12
BCRYPT_MIN_COST = 4
BCRYPT_MAX_COST = 14
BCRYPT_MAX_PASSWORD_BYTES = 72  # the algorithm reads no further: longer passwords are refused
# scrypt (RFC 7914): N = 2**ln, memory 128 * r * N bytes (32 MiB by default).
SCRYPT_LN, SCRYPT_R, SCRYPT_P = 15, 8, 1
SCRYPT_MAX_LN, SCRYPT_MAX_R, SCRYPT_MAX_P = 20, 32, 16
# p lanes each mix the whole 128*r*N buffer: at most this many buffers' worth of work in all.
SCRYPT_MAX_PASSES = 4
# PBKDF2: OWASP Password Storage Cheat Sheet iteration counts.
PBKDF2_ITERATIONS = {"pbkdf2_sha256": 600_000, "pbkdf2_sha512": 210_000}
# Work is iterations x blocks (one block per digest size of key); SHA-512 costs more per block.
PBKDF2_MAX_WORK = {"pbkdf2_sha256": 3_000_000, "pbkdf2_sha512": 1_000_000}
MAX_KEY_BYTES = 128  # derived key of scrypt; PBKDF2 is held to 64 (each block costs a full run)
PBKDF2_MAX_KEY_BYTES = 64
SALT_BYTES = 16
KEY_BYTES = 32
DJANGO_SALT_CHARS = 22  # Django's own salt: 22 letters and digits (~131 bits)
_DJANGO_SALT_ALPHABET = string.ascii_letters + string.digits

# ASCII digits and explicit alphabets only: \d and \w would take other scripts' characters.
_BCRYPT = re.compile(r"\$(2[aby])\$([0-9]{2})\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})")
# 22 characters carry 132 bits for a 16-byte salt: the last one's low 4 bits must be zero, else
# the library refuses the salt (an error, not a mismatch).
_BCRYPT_SALT_ENDS = frozenset(".Oeu")
_SCRYPT_PHC = re.compile(
    r"\$scrypt\$ln=([0-9]{1,3}),r=([0-9]{1,10}),p=([0-9]{1,10})\$([A-Za-z0-9+/]*)\$([A-Za-z0-9+/]+)"
)
_SCRYPT_DJANGO = re.compile(
    r"scrypt\$([0-9]{1,20})\$([^$]+)\$([0-9]{1,10})\$([0-9]{1,10})\$([A-Za-z0-9+/]+={0,2})"
)
_PBKDF2_PHC = re.compile(
    r"\$pbkdf2-(sha256|sha512)\$i=([0-9]{1,20})(?:,l=([0-9]{1,10}))?"
    r"\$([A-Za-z0-9+/]*)\$([A-Za-z0-9+/]+)"
)
_PBKDF2_PASSLIB = re.compile(
    r"\$pbkdf2-(sha256|sha512)\$([0-9]{1,20})\$([A-Za-z0-9./]*)\$([A-Za-z0-9./]+)"
)
_PBKDF2_DJANGO = re.compile(
    r"pbkdf2_(sha256|sha512)\$([0-9]{1,20})\$([^$]+)\$([A-Za-z0-9+/]+={0,2})"
)


@dataclass(frozen=True)
class Parsed:
    """A hash string taken apart.  ``layout`` names the string format; ``params`` its costs."""

    scheme: Scheme
    layout: Literal["phc", "passlib", "mcf", "django"]
    params: dict[str, int]
    salt: bytes
    key: bytes
    variant: str | None = None  # bcrypt's 2a / 2b / 2y
    argon2: ParsedHash | None = field(default=None, repr=False)
    mcf: bytes = field(default=b"", repr=False)  # bcrypt: the modular crypt string to check


def _b64decode_padded(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def _b64_padded(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _from_argon2(parsed: ParsedHash, layout: Literal["phc", "django"]) -> Parsed:
    params = parsed.params
    return Parsed(
        "argon2id",
        layout,
        {"m": params.memory, "t": params.iterations, "p": params.parallelism},
        parsed.salt,
        parsed.key,
        argon2=parsed,
    )


def _bcrypt(text: str, layout: Literal["mcf", "django"]) -> Parsed | None:
    match = _BCRYPT.fullmatch(text)
    if match is None:
        return None
    variant, cost, salt, key = match.groups()
    if salt[-1] not in _BCRYPT_SALT_ENDS:
        return None
    return Parsed(
        "bcrypt",
        layout,
        {"cost": int(cost)},
        salt.encode(),  # bcrypt's own base64 alphabet: kept as text, 16 bytes
        key.encode(),
        variant=variant,
        mcf=text.encode(),
    )


def _scrypt(encoded: str) -> Parsed | None:
    if match := _SCRYPT_PHC.fullmatch(encoded):
        ln, r, p = (int(value) for value in match.groups()[:3])
        salt, key = b64decode_unpadded(match[4]), b64decode_unpadded(match[5])
        if salt is None or key is None:
            return None
        return Parsed("scrypt", "phc", {"ln": ln, "r": r, "p": p}, salt, key)
    if match := _SCRYPT_DJANGO.fullmatch(encoded):
        n, r, p = int(match[1]), int(match[3]), int(match[4])
        key = _b64decode_padded(match[5])
        if key is None or n < 2 or n & (n - 1):  # N must be a power of two above 1
            return None
        ln = n.bit_length() - 1
        return Parsed("scrypt", "django", {"ln": ln, "r": r, "p": p}, match[2].encode(), key)
    return None


def _pbkdf2(encoded: str) -> Parsed | None:
    if match := _PBKDF2_PHC.fullmatch(encoded):
        digest, iterations, length, salt_text, key_text = match.groups()
        salt, key = b64decode_unpadded(salt_text), b64decode_unpadded(key_text)
        if salt is None or key is None or (length is not None and int(length) != len(key)):
            return None
        layout: Literal["phc", "passlib", "django"] = "phc"
    elif match := _PBKDF2_PASSLIB.fullmatch(encoded):
        digest, iterations, salt_text, key_text = match.groups()
        salt = b64decode_unpadded(salt_text.replace(".", "+"))
        key = b64decode_unpadded(key_text.replace(".", "+"))
        if salt is None or key is None:
            return None
        layout = "passlib"
    elif match := _PBKDF2_DJANGO.fullmatch(encoded):
        digest, iterations, salt_text, key_text = match.groups()
        salt, key = salt_text.encode(), _b64decode_padded(key_text)
        if key is None:
            return None
        layout = "django"
    else:
        return None
    scheme: Scheme = "pbkdf2_sha256" if digest == "sha256" else "pbkdf2_sha512"
    return Parsed(scheme, layout, {"i": int(iterations)}, salt, key)


def parse(encoded: str) -> Parsed | None:
    """Any supported hash string, strictly; None when it is malformed or unknown."""
    if encoded.startswith("$argon2id$") or encoded.startswith("argon2$argon2id$"):
        django = encoded.startswith("argon2$")
        argon = parse_phc(encoded.removeprefix("argon2") if django else encoded)
        return None if argon is None else _from_argon2(argon, "django" if django else "phc")
    if encoded.startswith("$2"):
        return _bcrypt(encoded, "mcf")
    if encoded.startswith("bcrypt$$2"):
        return _bcrypt(encoded.removeprefix("bcrypt$"), "django")
    if encoded.startswith(("$scrypt$", "scrypt$")):
        return _scrypt(encoded)
    if encoded.startswith(("$pbkdf2-", "pbkdf2_")):
        return _pbkdf2(encoded)
    return None


def over_limits(parsed: Parsed, settings: Settings) -> list[str]:
    """What in this hash asks for more work or memory than the server allows (empty: nothing)."""
    params = parsed.params
    if parsed.argon2 is not None:
        return over_maxima(parsed.argon2.params, settings)
    if parsed.scheme == "bcrypt":
        limits = [("cost", params["cost"], BCRYPT_MAX_COST)]
    elif parsed.scheme == "scrypt":
        memory_kib = 128 * params["r"] * 2 ** min(params["ln"], 64) // 1024
        limits = [
            ("ln", params["ln"], SCRYPT_MAX_LN),
            ("r", params["r"], SCRYPT_MAX_R),
            ("p", params["p"], SCRYPT_MAX_P),
            ("memory KiB (128*r*N)", memory_kib, settings.argon_verify_memory_limit),
            (
                "work KiB (128*r*N*p)",
                memory_kib * params["p"],
                settings.argon_verify_memory_limit * SCRYPT_MAX_PASSES,
            ),
            ("key length", len(parsed.key), MAX_KEY_BYTES),
        ]
    else:
        digest_size = 32 if parsed.scheme == "pbkdf2_sha256" else 64
        blocks = max(1, -(-len(parsed.key) // digest_size))
        work = "i" if blocks == 1 else f"i*{blocks} blocks"
        limits = [
            (work, params["i"] * blocks, PBKDF2_MAX_WORK[parsed.scheme]),
            ("key length", len(parsed.key), PBKDF2_MAX_KEY_BYTES),
        ]
    return [
        f"{name}={value} exceeds the maximum {limit}"
        for name, value, limit in limits
        if value > limit
    ]


def malformed(parsed: Parsed) -> list[str]:
    """Why this hash cannot be recomputed (parameters outside what each algorithm accepts)."""
    params = parsed.params
    if parsed.argon2 is not None:
        return [] if computable(parsed.argon2) else ["parameters below libargon2's minimums"]
    if parsed.scheme == "bcrypt":
        return [] if params["cost"] >= BCRYPT_MIN_COST else [f"cost below {BCRYPT_MIN_COST}"]
    if parsed.scheme == "scrypt":
        return _scrypt_malformed(params["ln"], params["r"], params["p"])
    return [] if params["i"] >= 1 else ["i must be at least 1"]


def _scrypt_malformed(ln: int, r: int, p: int) -> list[str]:
    if ln < 1 or r < 1 or p < 1:
        return ["ln, r and p must be at least 1"]
    # RFC 7914 section 2 requires N < 2^(128*r/8); OpenSSL (hashlib) refuses anything else, so
    # such a hash could never verify.
    if ln >= 16 * r:
        return [f"ln={ln} must be below 16*r={16 * r} (RFC 7914: N < 2^(16*r))"]
    return []


def check_password_for(scheme: Scheme, password: bytes) -> None:
    """bcrypt reads at most 72 bytes and implementations disagree on NUL: refuse, never truncate."""
    if scheme != "bcrypt":
        return
    if len(password) > BCRYPT_MAX_PASSWORD_BYTES:
        raise ValidationError(
            "Password too long for bcrypt",
            f"password is {len(password)} bytes; bcrypt uses at most "
            f"{BCRYPT_MAX_PASSWORD_BYTES} (use argon2id or scrypt for longer passwords)",
        )
    if b"\0" in password:
        raise ValidationError("Password not usable with bcrypt", "password contains a NUL byte")


def _scrypt_raw(password: bytes, salt: bytes, ln: int, r: int, p: int, length: int) -> bytes:
    n = 2**ln
    # OpenSSL refuses more than maxmem; the server maximum was checked before this point.
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length)


def _django_salt() -> str:
    return "".join(secrets.choice(_DJANGO_SALT_ALPHABET) for _ in range(DJANGO_SALT_CHARS))


def hash_password(scheme: Scheme, fmt: HashFormat, password: bytes, settings: Settings) -> str:
    """A fresh hash with the server's parameters and a random salt."""
    django = fmt == "django"
    if scheme == "argon2id":
        params: Argon2Params = default_params(settings)
        salt = os.urandom(settings.argon_salt_length)
        phc = format_phc(params, salt, argon2id(password, salt, params))
        return "argon2" + phc if django else phc
    if scheme == "bcrypt":
        mcf = bcrypt.hashpw(password, bcrypt.gensalt(BCRYPT_COST)).decode("ascii")
        return "bcrypt$" + mcf if django else mcf
    if scheme == "scrypt":
        if django:
            text_salt = _django_salt()
            key = _scrypt_raw(password, text_salt.encode(), SCRYPT_LN, SCRYPT_R, SCRYPT_P, 64)
            return f"scrypt${2**SCRYPT_LN}${text_salt}${SCRYPT_R}${SCRYPT_P}${_b64_padded(key)}"
        salt = os.urandom(SALT_BYTES)
        key = _scrypt_raw(password, salt, SCRYPT_LN, SCRYPT_R, SCRYPT_P, KEY_BYTES)
        return (
            f"$scrypt$ln={SCRYPT_LN},r={SCRYPT_R},p={SCRYPT_P}"
            f"${b64encode_unpadded(salt)}${b64encode_unpadded(key)}"
        )
    digest = scheme.removeprefix("pbkdf2_")
    iterations = PBKDF2_ITERATIONS[scheme]
    length = hashlib.new(digest).digest_size
    if django:
        text_salt = _django_salt()
        key = hashlib.pbkdf2_hmac(digest, password, text_salt.encode(), iterations, length)
        return f"{scheme}${iterations}${text_salt}${_b64_padded(key)}"
    salt = os.urandom(SALT_BYTES)
    key = hashlib.pbkdf2_hmac(digest, password, salt, iterations, length)
    return (
        f"$pbkdf2-{digest}$i={iterations},l={length}"
        f"${b64encode_unpadded(salt)}${b64encode_unpadded(key)}"
    )


def verify_password(parsed: Parsed, password: bytes) -> bool:
    """Recompute and compare in constant time (bcrypt compares inside the library)."""
    params = parsed.params
    if parsed.argon2 is not None:
        computed = argon2id(password, parsed.salt, parsed.argon2.params)
    elif parsed.scheme == "bcrypt":
        return bcrypt.checkpw(password, parsed.mcf)
    elif parsed.scheme == "scrypt":
        computed = _scrypt_raw(
            password, parsed.salt, params["ln"], params["r"], params["p"], len(parsed.key)
        )
    else:
        digest = parsed.scheme.removeprefix("pbkdf2_")
        computed = hashlib.pbkdf2_hmac(digest, password, parsed.salt, params["i"], len(parsed.key))
    return hmac.compare_digest(computed, parsed.key)


__all__ = [
    "Parsed",
    "Scheme",
    "check_password_for",
    "hash_password",
    "malformed",
    "over_limits",
    "parse",
    "verify_password",
]
