"""Digest families for crypto/hash and crypto/hmac, and the byte encodings their fields use.

Every algorithm maps to a function of the input bytes and its options that returns the raw digest;
checksums (CRC-32, CRC-32C, Adler-32, xxHash) give their big-endian (canonical) bytes, so ``hex``
output reads as the usual ``cbf43926``.  Text fields are turned into bytes here (``utf8``, ``hex``,
``base64``, ``base64url``) and a field that does not decode is a 400 naming the field.  Digests
are compared with :func:`hmac.compare_digest` over every accepted spelling of the expected value.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import zlib
from collections.abc import Callable
from typing import Literal

import blake3
import google_crc32c
import xxhash

from devutils.errors import ValidationError
from devutils.tools import _gobase64

InputEncoding = Literal["utf8", "hex", "base64", "base64url"]
OutputFormat = Literal["hex", "base64", "base64url"]
HashAlgorithm = Literal[
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha512_256",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "shake_128",
    "shake_256",
    "blake2b",
    "blake2s",
    "blake3",
    "crc32",
    "crc32c",
    "adler32",
    "xxh64",
    "xxh3_64",
    "xxh3_128",
]
HmacAlgorithm = Literal[
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha512_256",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "blake2b",
    "blake2s",
    "blake3",
]

MAX_XOF_LENGTH = 1024  # bytes of shake/blake3 output: far past any real use, small in JSON
XOF_DEFAULT = {"shake_128": 32, "shake_256": 64, "blake3": 32}
BLAKE2_MAX = {"blake2b": 64, "blake2s": 32}  # digest and key size limits (RFC 7693)
BLAKE3_KEY = 32
KEYED_HASHES = ("blake2b", "blake2s", "blake3")
_HEX = re.compile(r"[0-9A-Fa-f]*")
_HEX_BYTES = re.compile(rb"[0-9A-Fa-f]*")


def _checksum(func: Callable[[bytes], int], size: int) -> Callable[[bytes], bytes]:
    return lambda data: (func(data) & (1 << 8 * size) - 1).to_bytes(size, "big")


_FIXED: dict[str, Callable[[bytes], bytes]] = {
    "crc32": _checksum(zlib.crc32, 4),
    "crc32c": _checksum(google_crc32c.value, 4),
    "adler32": _checksum(zlib.adler32, 4),
    "xxh64": lambda data: xxhash.xxh64_digest(data),
    "xxh3_64": lambda data: xxhash.xxh3_64_digest(data),
    "xxh3_128": lambda data: xxhash.xxh3_128_digest(data),
}


def _invalid(field: str, problem: str) -> ValidationError:
    return ValidationError("Invalid request format", f"{field}: {problem}")


def decode_field(text: str, encoding: InputEncoding, field: str) -> bytes:
    """The bytes a text field stands for; a 400 naming ``field`` when it does not decode."""
    if encoding == "utf8":
        return text.encode()
    raw = text.encode("utf-8", "surrogatepass")
    if encoding == "hex":
        if _HEX.fullmatch(text) is None:
            bad = _HEX.match(text)
            offset = bad.end() if bad else 0
            raise _invalid(field, f"invalid hex: illegal character at offset {offset}")
        if len(raw) % 2:
            raise _invalid(field, "invalid hex: odd length")
        return binascii.unhexlify(raw)
    # base64url is taken with or without padding (JWT style); base64 must be padded.
    if encoding == "base64url":
        codec = _gobase64.URL if raw.endswith(b"=") else _gobase64.RAW_URL
    else:
        codec = _gobase64.STD
    try:
        return codec.decode(raw)
    except _gobase64.Base64Error as exc:
        raise _invalid(field, f"invalid {encoding}: {exc}") from None


def encode_digest(digest: bytes, output: OutputFormat) -> str:
    """Lower-case hex, padded standard base64, or unpadded base64url (RFC 4648 section 5)."""
    if output == "hex":
        return digest.hex()
    if output == "base64":
        return _gobase64.encode(digest)
    return _gobase64.encode(digest, url_safe=True).rstrip("=")


def digest_matches(digest: bytes, expected: str) -> bool:
    """True when ``expected`` spells ``digest`` in hex (any case), base64 or base64url.

    Text that is valid hex of the digest's hex length is read as hex only: for a 1-byte digest
    two hex digits are also unpadded base64 of another byte ("0A" is 0x0a, or 0xd0 in base64).
    Every spelling is compared in constant time and all comparisons always run, so the answer
    takes the same time whichever spelling (or none) matched.
    """
    given = expected.strip().encode("utf-8", "surrogatepass")
    b64 = _gobase64.encode(digest).encode()
    b64url = _gobase64.encode(digest, url_safe=True).encode()
    hex_matched = hmac.compare_digest(given.lower(), digest.hex().encode())
    base64_candidates = (b64, b64.rstrip(b"="), b64url, b64url.rstrip(b"="))
    base64_matched = False
    for wanted in base64_candidates:
        base64_matched |= hmac.compare_digest(given, wanted)
    is_hex = len(given) == 2 * len(digest) and _HEX_BYTES.fullmatch(given) is not None
    return hex_matched or (base64_matched and not is_hex)


def check_options(
    algorithm: str, length: int | None, digest_size: int | None, key: bytes | None
) -> None:
    """Refuse options that do not apply to ``algorithm`` or are out of its range."""
    if length is not None and algorithm not in XOF_DEFAULT:
        raise _invalid("length", "applies only to shake_128, shake_256 and blake3")
    if digest_size is not None:
        if algorithm not in BLAKE2_MAX:
            raise _invalid("digestSize", "applies only to blake2b and blake2s")
        if digest_size > BLAKE2_MAX[algorithm]:
            raise _invalid("digestSize", f"{algorithm} allows 1 to {BLAKE2_MAX[algorithm]} bytes")
    if key is not None:
        check_keyed(algorithm, key, "key")


def check_keyed(algorithm: str, key: bytes, field: str) -> None:
    if algorithm in BLAKE2_MAX:
        if len(key) > BLAKE2_MAX[algorithm]:
            raise _invalid(field, f"{algorithm} keys are at most {BLAKE2_MAX[algorithm]} bytes")
    elif algorithm == "blake3":
        if len(key) != BLAKE3_KEY:
            raise _invalid(field, f"blake3 keys are exactly {BLAKE3_KEY} bytes")
    else:
        raise _invalid(field, "a key applies only to blake2b, blake2s and blake3")


def compute(
    algorithm: str,
    data: bytes,
    *,
    length: int | None = None,
    digest_size: int | None = None,
    key: bytes | None = None,
) -> bytes:
    """The raw digest of ``data`` (options already checked by :func:`check_options`)."""
    if algorithm in _FIXED:
        return _FIXED[algorithm](data)
    if algorithm == "blake3":
        size = length or XOF_DEFAULT["blake3"]
        hasher = blake3.blake3(data, key=key) if key is not None else blake3.blake3(data)
        return hasher.digest(length=size)
    if algorithm == "blake2b":
        return hashlib.blake2b(data, digest_size=digest_size or 64, key=key or b"").digest()
    if algorithm == "blake2s":
        return hashlib.blake2s(data, digest_size=digest_size or 32, key=key or b"").digest()
    if algorithm in ("shake_128", "shake_256"):
        shake = hashlib.shake_128(data) if algorithm == "shake_128" else hashlib.shake_256(data)
        return shake.digest(length or XOF_DEFAULT[algorithm])
    return hashlib.new(algorithm, data).digest()


def mac(algorithm: str, key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) for the hash functions, the keyed mode for BLAKE2 and BLAKE3."""
    if algorithm in KEYED_HASHES:
        check_keyed(algorithm, key, "key")
        return compute(algorithm, data, key=key)
    return hmac.new(key, data, algorithm).digest()
