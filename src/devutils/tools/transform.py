"""transform tools: base64, URL (query) encoding and JWT decoding, with the reference's rules.

Compression lives in :mod:`devutils.tools.compress`.
"""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote_plus, unquote_to_bytes

import orjson
from pydantic import Field

from devutils.errors import RequestTooLargeError, ValidationError
from devutils.json_digits import has_long_digit_run
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools import _gobase64
from devutils.tools._bytesout import BytesOutput, bytes_output, check_output_size, text_output
from devutils.tools._gotext import strconv_quote
from devutils.tools._jsontext import nesting_depth
from devutils.tools._timefmt import EPOCH, rfc3339

MAX_TOKEN_BYTES = 64 * 1024  # real tokens are a few KiB; this bounds parsing work per call
# orjson (the REST encoder) refuses to write objects nested deeper than 254 levels, and the
# response wraps the claims in one more object: stay clear of that, whatever MAX_JSON_DEPTH says.
SERIALIZABLE_DEPTH = 250
_TIME_CLAIMS = ("exp", "iat", "nbf")
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


class Base64Input(ToolInput):
    content: str = Field(min_length=1, description="Text to encode, or base64 text to decode.")
    action: Literal["encode", "decode"] = Field(description="encode | decode.")
    url_safe: bool = Field(False, description="Use the URL-safe alphabet (-_), still padded.")


def _base64_work(inp: Base64Input) -> int:
    # ~1 ns a byte against ~40 for text tools (bench/inline_budget.py): 128 KiB stays inline.
    return len(inp.content) // 16


@tool(
    "/api/v1/transform/base64",
    blocking="large",  # a hostile 1 MiB input costs ~80 ms of CPU: off the event loop
    estimate=_base64_work,
    title="Base64 encode or decode",
    description=(
        "Base64-encode the UTF-8 bytes of a text, or decode padded base64 (standard or URL-safe "
        "alphabet; line breaks ignored). Binary decode results set isBinary and resultBase64."
    ),
    examples=(
        Example({"content": "Hello, World!", "action": "encode"}),
        Example({"content": "SGVsbG8sIFdvcmxkIQ==", "action": "decode"}),
        Example({"content": "/w==", "action": "decode"}, title="binary result"),
        Example({"content": "subjects?_d", "action": "encode", "urlSafe": True}),
    ),
)
def transform_base64(inp: Base64Input, ctx: ToolContext) -> BytesOutput:
    data = inp.content.encode()
    limit = ctx.settings.max_output_bytes
    if inp.action == "encode":
        check_output_size(_gobase64.encoded_length(len(data)), limit, "Base64 encode failed")
        return text_output(_gobase64.encode(data, url_safe=inp.url_safe))
    encoding = _gobase64.URL if inp.url_safe else _gobase64.STD
    try:
        decoded = encoding.decode(data)
    except _gobase64.Base64Error as exc:
        raise ValidationError("Base64 decode failed", f"invalid base64 input: {exc}") from None
    return bytes_output(decoded)


class UrlInput(ToolInput):
    content: str = Field(min_length=1, description="Text to encode, or encoded text to decode.")
    action: Literal["encode", "decode"] = Field(description="encode | decode.")


@tool(
    "/api/v1/transform/url",
    blocking="large",  # a hostile 1 MiB input costs ~80 ms of CPU: off the event loop
    title="URL query encode or decode",
    description=(
        "Query-component encoding like Go url.QueryEscape (space becomes +, only A-Za-z0-9-_.~ "
        "kept) or decoding like url.QueryUnescape (+ is a space, malformed % escapes fail)."
    ),
    examples=(
        Example({"content": "hello world & more", "action": "encode"}),
        Example({"content": "hello+world+%26+more", "action": "decode"}),
    ),
)
def transform_url(inp: UrlInput, ctx: ToolContext) -> BytesOutput:
    if inp.action == "encode":
        encoded = quote_plus(inp.content, safe="")
        check_output_size(len(encoded), ctx.settings.max_output_bytes, "URL encode failed")
        return text_output(encoded)
    data = inp.content.encode()
    bad = _BAD_ESCAPE.search(data)
    if bad is not None:
        escape = strconv_quote(data[bad.start() : bad.start() + 3])
        raise ValidationError(
            "URL decode failed", f"invalid URL encoding: invalid URL escape {escape}"
        )
    return bytes_output(unquote_to_bytes(data.replace(b"+", b" ")))


class JwtDecodeInput(ToolInput):
    token: str = Field(min_length=1, description="A JWT (header.payload.signature).")


class JwtDecodeOutput(ToolOutput):
    header: dict[str, Any] | None = Field(description="Decoded header (null if it is JSON null).")
    payload: dict[str, Any] | None = Field(description="Decoded claims; integers kept exactly.")
    signature_verified: bool = Field(
        False, description="Always false: the signature is never checked."
    )
    times: dict[str, str] = Field(
        default_factory=dict,
        description="exp, iat and nbf claims that are numbers, as UTC RFC 3339 times.",
    )


def _jwt_error(details: str) -> ValidationError:
    return ValidationError("JWT decode failed", details)


def _too_deep(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


_UNREAD = object()
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _exact_claims(raw: bytes, text: str, max_depth: int) -> Any:
    """The part read with every integer exact (API-DELTAS D7), when it holds one beyond what
    orjson keeps (64 bits, read as a float); else, or when the standard parser refuses it
    (orjson then says why, in the words the other errors use), ``_UNREAD``."""
    if (
        not has_long_digit_run(raw)
        or nesting_depth(text) > max_depth
        or _SURROGATE_ESCAPE.search(text)  # the standard parser lets a lone one through
    ):
        return _UNREAD
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError, NaN, over 4300 digits
        return _UNREAD


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are no JSON (orjson refuses them too)


def decode_part(part: str, name: str, max_depth: int) -> dict[str, Any] | None:
    try:
        raw = _gobase64.RAW_URL.decode(part.encode())
    except _gobase64.Base64Error as exc:
        raise _jwt_error(f"invalid JWT {name} encoding: {exc}") from None
    if not raw.strip():
        raise _jwt_error(f"invalid JWT {name} JSON: unexpected end of JSON input")
    text = raw.decode("utf-8", "replace")
    try:
        value = _exact_claims(raw, text, max_depth)
        if value is _UNREAD:
            value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):  # orjson's own limit (~1024)
            raise _jwt_error(
                f"invalid JWT {name} JSON: nesting depth exceeds limit of {max_depth}"
            ) from None
        raise _jwt_error(f"invalid JWT {name} JSON: {exc}") from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _jwt_error(
            f"invalid JWT {name} JSON: json: cannot unmarshal {_json_kind(value)} "
            "into Go value of type map[string]interface {}"
        )
    if _too_deep(value, max_depth):
        raise _jwt_error(f"invalid JWT {name} JSON: nesting depth exceeds limit of {max_depth}")
    return value


def _readable_times(payload: dict[str, Any] | None) -> dict[str, str]:
    times: dict[str, str] = {}
    for claim in _TIME_CLAIMS:
        value = (payload or {}).get(claim)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                times[claim] = rfc3339(EPOCH + timedelta(seconds=math.floor(value)))
            except OverflowError:
                continue  # outside years 1-9999: no readable form
    return times


@tool(
    "/api/v1/transform/jwt/decode",
    raw="payload",  # the CLI's --raw prints this field
    title="Decode a JWT (unverified)",
    description=(
        "Decode a JWT's header and payload without verifying the signature; numeric exp, iat "
        "and nbf claims are also shown as UTC times."
    ),
    examples=(
        Example(
            {
                "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
                "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
            }
        ),
    ),
)
def transform_jwt_decode(inp: JwtDecodeInput, ctx: ToolContext) -> JwtDecodeOutput:
    size = len(inp.token.encode())
    if size > MAX_TOKEN_BYTES:
        raise RequestTooLargeError(
            "JWT decode failed",
            f"token too large: {size} bytes exceeds limit of {MAX_TOKEN_BYTES} bytes",
        )
    parts = inp.token.split(".")
    if len(parts) != 3:
        raise _jwt_error(f"invalid JWT format: expected 3 parts, got {len(parts)}")
    max_depth = min(ctx.settings.max_json_depth, SERIALIZABLE_DEPTH)
    header = decode_part(parts[0], "header", max_depth)
    payload = decode_part(parts[1], "payload", max_depth)
    return JwtDecodeOutput(
        header=header, payload=payload, signature_verified=False, times=_readable_times(payload)
    )
