"""crypto tools: hash, hmac (password hashing and certificates live in their own modules)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import Field

from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool

_HASHES = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


class HashInput(ToolInput):
    content: str = Field(description="Text to hash (its UTF-8 bytes).")
    algorithm: Literal["md5", "sha1", "sha256", "sha512"] = Field(description="Digest algorithm.")


class HashOutput(ToolOutput):
    hash: str = Field(description="Lower-case hex digest.")
    algorithm: str


@tool(
    "/api/v1/crypto/hash",
    title="Hash text",
    description="Hex digest (md5, sha1, sha256, sha512) of the UTF-8 bytes of a text.",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    examples=(
        Example({"content": "hello world", "algorithm": "sha256"}),
        Example({"content": "abc", "algorithm": "md5"}),
    ),
)
def crypto_hash(inp: HashInput, ctx: ToolContext) -> HashOutput:
    digest = _HASHES[inp.algorithm](inp.content.encode()).hexdigest()
    return HashOutput(hash=digest, algorithm=inp.algorithm)


class HmacInput(ToolInput):
    content: str = Field(description="Message (its UTF-8 bytes).")
    key: str = Field(min_length=1, description="Secret key (its UTF-8 bytes).")
    algorithm: Literal["sha256", "sha512"] = Field(description="Hash function.")


class HmacOutput(ToolOutput):
    hmac: str = Field(description="Lower-case hex HMAC.")
    algorithm: str


@tool(
    "/api/v1/crypto/hmac",
    title="HMAC of text",
    description="Hex HMAC-SHA256/512 of a message with a key (both as UTF-8).",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    examples=(Example({"content": "Hello World", "key": "my-secret-key", "algorithm": "sha256"}),),
)
def crypto_hmac(inp: HmacInput, ctx: ToolContext) -> HmacOutput:
    mac = hmac.new(inp.key.encode(), inp.content.encode(), inp.algorithm).hexdigest()
    return HmacOutput(hmac=mac, algorithm=inp.algorithm)
