"""crypto tools: hash, hmac and their verify forms (password hashing and certificates live in
their own modules).  The algorithm families and byte encodings are in :mod:`._digests`."""

from __future__ import annotations

from pydantic import Field

from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools import _digests
from devutils.tools._digests import HashAlgorithm, HmacAlgorithm, InputEncoding, OutputFormat

_OUTPUT = "Digest encoding (base64url unpadded)."


class _HashArgs(ToolInput):
    content: str = Field(description="Data, in inputEncoding.")
    algorithm: HashAlgorithm = Field(description="Digest or checksum.")
    input_encoding: InputEncoding = Field("utf8", description="Encoding of content.")
    length: int | None = Field(
        None, ge=1, le=_digests.MAX_XOF_LENGTH, description="Output bytes (shake_*, blake3)."
    )
    digest_size: int | None = Field(None, ge=1, le=64, description="Digest bytes (blake2b/s).")
    key: str | None = Field(None, description="Key for blake2b/s, blake3.")
    key_encoding: InputEncoding = Field("utf8", description="Encoding of key.")


class HashInput(_HashArgs):
    output_format: OutputFormat = Field("hex", description=_OUTPUT)


class HashOutput(ToolOutput):
    hash: str = Field(description="The digest in outputFormat.")
    algorithm: str


class HashVerifyInput(_HashArgs):
    expected: str = Field(min_length=1, description="Expected digest: hex, base64 or base64url.")


class VerifyOutput(ToolOutput):
    valid: bool = Field(description="True when the digest equals expected.")
    algorithm: str


def _hash_work(inp: _HashArgs) -> int:
    # ~1-3 ns a byte (SHA-2, base64 decoding): 64 KiB stays on the event loop.
    return (len(inp.content) + len(inp.key or "")) // 8


def _digest(inp: _HashArgs) -> bytes:
    data = _digests.decode_field(inp.content, inp.input_encoding, "content")
    key = None if inp.key is None else _digests.decode_field(inp.key, inp.key_encoding, "key")
    _digests.check_options(inp.algorithm, inp.length, inp.digest_size, key)
    return _digests.compute(
        inp.algorithm, data, length=inp.length, digest_size=inp.digest_size, key=key
    )


@tool(
    "/api/v1/crypto/hash",
    title="Hash data",
    description="Digest or checksum (SHA-2/3, BLAKE2/3, CRC, xxHash ...) of text or bytes.",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    blocking="large",
    estimate=_hash_work,
    examples=(
        Example({"content": "hello world", "algorithm": "sha256"}),
        Example({"content": "abc", "algorithm": "md5"}),
        Example(
            {"content": "313233343536373839", "algorithm": "crc32c", "inputEncoding": "hex"},
            title="checksum of hex bytes",
        ),
        Example({"content": "abc", "algorithm": "blake3", "outputFormat": "base64url"}),
    ),
)
def crypto_hash(inp: HashInput, ctx: ToolContext) -> HashOutput:
    return HashOutput(
        hash=_digests.encode_digest(_digest(inp), inp.output_format), algorithm=inp.algorithm
    )


@tool(
    "/api/v1/crypto/hash/verify",
    title="Verify a digest",
    description="Compare data's digest with an expected one in constant time.",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    blocking="large",
    estimate=_hash_work,
    examples=(
        Example(
            {
                "content": "abc",
                "algorithm": "sha256",
                "expected": "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",
            }
        ),
    ),
)
def crypto_hash_verify(inp: HashVerifyInput, ctx: ToolContext) -> VerifyOutput:
    valid = _digests.digest_matches(_digest(inp), inp.expected)
    return VerifyOutput(valid=valid, algorithm=inp.algorithm)


class _HmacArgs(ToolInput):
    content: str = Field(description="Message, in inputEncoding.")
    key: str = Field(min_length=1, description="Secret key, in keyEncoding.")
    algorithm: HmacAlgorithm = Field(description="Hash; blake2b/s, blake3: keyed mode.")
    input_encoding: InputEncoding = Field("utf8", description="Encoding of content.")
    key_encoding: InputEncoding = Field("utf8", description="Encoding of key.")


class HmacInput(_HmacArgs):
    output_format: OutputFormat = Field("hex", description=_OUTPUT)


class HmacOutput(ToolOutput):
    hmac: str = Field(description="The MAC in outputFormat.")
    algorithm: str


class HmacVerifyInput(_HmacArgs):
    expected: str = Field(min_length=1, description="Expected MAC: hex, base64 or base64url.")


def _hmac_work(inp: _HmacArgs) -> int:
    return (len(inp.content) + len(inp.key)) // 8


def _mac(inp: _HmacArgs) -> bytes:
    data = _digests.decode_field(inp.content, inp.input_encoding, "content")
    key = _digests.decode_field(inp.key, inp.key_encoding, "key")
    return _digests.mac(inp.algorithm, key, data)


@tool(
    "/api/v1/crypto/hmac",
    title="HMAC of data",
    description="HMAC (SHA-1/2/3, MD5) or keyed BLAKE2/BLAKE3 MAC of a message with a key.",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    blocking="large",
    estimate=_hmac_work,
    examples=(
        Example({"content": "Hello World", "key": "my-secret-key", "algorithm": "sha256"}),
        Example(
            {
                "content": "Hi There",
                "key": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                "keyEncoding": "hex",
                "algorithm": "sha3_256",
                "outputFormat": "base64",
            }
        ),
    ),
)
def crypto_hmac(inp: HmacInput, ctx: ToolContext) -> HmacOutput:
    return HmacOutput(
        hmac=_digests.encode_digest(_mac(inp), inp.output_format), algorithm=inp.algorithm
    )


@tool(
    "/api/v1/crypto/hmac/verify",
    title="Verify an HMAC",
    description="Compare a message's MAC with an expected one in constant time.",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    blocking="large",
    estimate=_hmac_work,
    examples=(
        Example(
            {
                "content": "Hello World",
                "key": "my-secret-key",
                "algorithm": "sha256",
                "expected": "LNfCUCUZjURYACzrBkrTfM+75GZQh21pP14IC9lU5Ek=",
            },
            title="expected in base64",
        ),
    ),
)
def crypto_hmac_verify(inp: HmacVerifyInput, ctx: ToolContext) -> VerifyOutput:
    return VerifyOutput(
        valid=_digests.digest_matches(_mac(inp), inp.expected), algorithm=inp.algorithm
    )
