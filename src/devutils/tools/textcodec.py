"""transform/encode: one tool for the common text and binary-to-text codecs, both directions.

Byte codecs (hex, base32, base32hex, base58, base85, ascii85, quoted-printable, url) work on the
bytes of the text in ``charset`` (UTF-8 by default; ``latin-1`` maps U+0000-U+00FF to the bytes
0-255, so any bytes can be written as text); decoding gives text in the same charset, or
``isBinary`` with the exact bytes in ``resultBase64`` when they are not text in it.  Text codecs
(html, unicode, json, punycode, idna) work on characters and take no charset.
Libraries: the standard library (base64, binascii, html, json, urllib), ``base58`` (Bitcoin
alphabet) and ``idna`` (IDNA 2008 with UTS 46 mapping, not Python's IDNA 2003 codec).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Callable
from typing import Literal
from urllib.parse import quote

import base58
import idna
import orjson
from pydantic import Field

from devutils.errors import RequestTooLargeError, ValidationError
from devutils.models import ToolInput
from devutils.registry import OFF_LOOP_WORK, Example, ToolContext, tool
from devutils.tools._bytesout import BytesOutput, check_output_size, text_output
from devutils.tools._escapes import EscapeError, escape, unescape

Codec = Literal[
    "hex",
    "base32",
    "base32hex",
    "base58",
    "base85",
    "ascii85",
    "quoted-printable",
    "url",
    "html",
    "unicode",
    "json",
    "punycode",
    "idna",
]
Charset = Literal[
    "utf-8", "utf-16le", "utf-16be", "utf-32le", "utf-32be", "latin-1", "cp1252", "ascii"
]
TEXT_CODECS = ("html", "unicode", "json", "punycode", "idna")
# base58 is quadratic in the input (big-integer division): 4 KiB costs ~50 ms, 64 KiB ~12 s.
MAX_BASE58_BYTES = 4096
MAX_BASE58_CHARS = MAX_BASE58_BYTES * 138 // 100 + 1  # the encoding of MAX_BASE58_BYTES fits
_MESSAGE = "Encoding failed"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URL_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_QP_LINE_BREAK = re.compile(rb"(\r?\n)")
_A85_IGNORED = " \t\n\r\v"  # a85decode's ignorechars
_JSON_WHITESPACE = " \t\n\r"
_WHITESPACE = re.compile(r"\s+")


class EncodeInput(ToolInput):
    content: str = Field(description="Text to encode, or encoded text to decode.")
    codec: Codec = Field(description="Codec.")
    direction: Literal["encode", "decode"] = Field(description="encode | decode.")
    charset: Charset | None = Field(
        None, description="Bytes<->text charset for byte codecs (default utf-8)."
    )


def _invalid(problem: str) -> ValidationError:
    return ValidationError(_MESSAGE, f"content: {problem}")


def _pad(text: str, block: int) -> str:
    return text + "=" * (-len(text) % block)


def _b58_check(size: int, limit: int) -> None:
    if size > limit:
        raise RequestTooLargeError(
            _MESSAGE, f"base58 input too large: {size} bytes exceeds limit of {limit} bytes"
        )


def _b58encode(data: bytes) -> str:
    _b58_check(len(data), MAX_BASE58_BYTES)
    return base58.b58encode(data).decode("ascii")


def _b58decode(text: str) -> bytes:
    _b58_check(len(text), MAX_BASE58_CHARS)
    try:
        return base58.b58decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise _invalid("invalid base58: a character outside the Bitcoin alphabet") from None


def _refuse_lone_char_group(count: int) -> None:
    # base64's 85 decoders pad a final group of one character and drop it whole, so `0` decoded
    # to nothing; an encoder writes 2-5 characters per group, never one.
    if count % 5 == 1:
        raise ValueError("incorrect length: a final group of 1 character")


def _b85decode(text: str) -> bytes:
    stripped = text.strip()
    data = base64.b85decode(stripped)
    _refuse_lone_char_group(len(stripped))
    return data


def _a85_group_chars(body: str) -> int:
    """Characters of the 5-character groups, without whitespace and the `z` shortcut."""
    count = 0
    for char in body:
        if char in _A85_IGNORED or (char == "z" and count % 5 == 0):
            continue
        count += 1
    return count


def _a85decode(text: str) -> bytes:
    stripped = text.strip()
    framed = stripped.startswith("<~") and stripped.endswith("~>")
    data = base64.a85decode(
        stripped.encode("ascii"), adobe=framed, ignorechars=_A85_IGNORED.encode()
    )
    _refuse_lone_char_group(_a85_group_chars(stripped[2:-2] if framed else stripped))
    return data


def _qp_encode(data: bytes) -> str:
    """Quoted-printable keeping every line break as it is (LF or CRLF) and every other CR/LF.

    b2a_qp in text mode writes all line breaks in the style of the first one (and a lone CR as
    it is), so mixed endings changed; that is exact only for LF-only text without CR and for
    CRLF-only text.  Otherwise each line is encoded alone in binary mode: a lone CR is =0D."""
    crlf = data.count(b"\r\n")
    if data.count(b"\r") == crlf and crlf in (0, data.count(b"\n")):
        return binascii.b2a_qp(data).decode("ascii")  # one style: fast, same lines
    parts = _QP_LINE_BREAK.split(data)  # line, break, line, ..., line
    soft_break = b"=\r\n" if parts[1:2] == [b"\r\n"] else b"=\n"  # b2a_qp's own choice
    encoded = [
        binascii.b2a_qp(part, istext=False).replace(b"=\n", soft_break) if index % 2 == 0 else part
        for index, part in enumerate(parts)
    ]
    return b"".join(encoded).decode("ascii")


BYTE_ENCODERS: dict[str, Callable[[bytes], str]] = {
    "hex": lambda data: data.hex(),
    "base32": lambda data: base64.b32encode(data).decode("ascii"),
    "base32hex": lambda data: base64.b32hexencode(data).decode("ascii"),
    "base58": _b58encode,
    "base85": lambda data: base64.b85encode(data).decode("ascii"),
    "ascii85": lambda data: base64.a85encode(data).decode("ascii"),
    "quoted-printable": _qp_encode,
    "url": lambda data: quote(data, safe="-_.~"),
}
BYTE_DECODERS: dict[str, Callable[[str], bytes]] = {
    "hex": lambda text: bytes.fromhex(_WHITESPACE.sub("", text)),
    "base32": lambda text: base64.b32decode(_pad(text.strip(), 8), casefold=True),
    "base32hex": lambda text: base64.b32hexdecode(_pad(text.strip(), 8), casefold=True),
    "base58": _b58decode,
    "base85": _b85decode,
    "ascii85": _a85decode,
    "quoted-printable": lambda text: binascii.a2b_qp(text.encode("ascii")),
}
# Exact encoded sizes, known before encoding; the other encoders' results are checked after.
ENCODED_SIZE: dict[str, Callable[[int], int]] = {
    "hex": lambda size: 2 * size,
    "base32": lambda size: (size + 4) // 5 * 8,
    "base32hex": lambda size: (size + 4) // 5 * 8,
    "base85": lambda size: (size * 5 + 3) // 4,
}


def _decode_bytes(codec: str, text: str, charset: str) -> bytes:
    if codec == "url":
        return _url_decode(text, charset)
    return BYTE_DECODERS[codec](text)


def _url_decode(text: str, charset: str) -> bytes:
    """%XX escapes are bytes; literal characters are bytes in `charset` (unquote_to_bytes would
    write them as UTF-8 whatever the charset)."""
    bad = _BAD_ESCAPE.search(text)
    if bad is not None:
        raise _invalid(f"invalid URL escape {text[bad.start() : bad.start() + 3]!r}")
    data = bytearray()
    start = 0
    for escape_match in _URL_ESCAPE.finditer(text):
        data += _literal_bytes(text, start, escape_match.start(), charset)
        data.append(int(escape_match.group(1), 16))
        start = escape_match.end()
    data += _literal_bytes(text, start, len(text), charset)
    return bytes(data)


def _literal_bytes(text: str, start: int, end: int, charset: str) -> bytes:
    try:
        return text[start:end].encode(charset)
    except UnicodeEncodeError as exc:
        offset = start + exc.start
        raise _invalid(
            f"character {text[offset]!r} at offset {offset} has no {charset} encoding"
        ) from None


def _json_decode(text: str) -> str:
    """With quotes, a JSON string literal (JSON whitespace around it allowed); without quotes,
    the text is the string's content exactly, spaces included (a bare `"` cannot be content)."""
    quoted = text.strip(_JSON_WHITESPACE).startswith('"')
    literal = text if quoted else f'"{text}"'
    try:
        value = orjson.loads(literal)
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"invalid JSON string: {exc}") from None
    if not isinstance(value, str):
        raise _invalid("not a JSON string")
    return value


def _idna(text: str, encode: bool) -> str:
    try:
        if encode:
            return idna.encode(text, uts46=True).decode("ascii")
        return idna.decode(text, uts46=True)
    except (idna.IDNAError, UnicodeError) as exc:
        raise _invalid(f"invalid IDNA domain name: {exc}") from None


def _text_codec(codec: str, text: str, encode: bool) -> str:
    if codec == "html":
        return html.escape(text) if encode else html.unescape(text)
    if codec == "unicode":
        if encode:
            return escape(text)
        try:
            return unescape(text)
        except EscapeError as exc:
            raise _invalid(f"invalid escape: {exc}") from None
    if codec == "json":
        return orjson.dumps(text).decode() if encode else _json_decode(text)
    if codec == "punycode":
        try:
            return text.encode("punycode").decode("ascii") if encode else _punydecode(text)
        except UnicodeError as exc:
            raise _invalid(f"invalid punycode: {exc}") from None
    return _idna(text, encode)


def _punydecode(text: str) -> str:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise _invalid("invalid punycode: not ASCII") from None
    # RFC 3492 6.2: the last delimiter is consumed only after at least one basic code point;
    # a leading one is then an extended digit, and `-` is not a digit (Python skips it).
    if raw.rfind(b"-") == 0:
        raise _invalid("invalid punycode: '-' at offset 0 is not a digit")
    return raw.decode("punycode")


def _to_bytes(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset)
    except UnicodeEncodeError as exc:
        raise _invalid(f"character {text[exc.start]!r} has no {charset} encoding") from None


def _from_bytes(data: bytes, charset: str) -> BytesOutput:
    try:
        return text_output(data.decode(charset))
    except UnicodeDecodeError:
        return BytesOutput(
            result=data.decode(charset, "replace"),
            is_binary=True,
            result_base64=base64.b64encode(data).decode("ascii"),
        )


def _encode_work(inp: EncodeInput) -> int:
    # Punycode (length x distinct code points) and base58 are quadratic: 8,000 CJK characters
    # took 6 s of punycode, so neither runs on the event loop.
    if inp.codec in ("punycode", "base58"):
        return OFF_LOOP_WORK
    return len(inp.content)


@tool(
    "/api/v1/transform/encode",
    blocking="large",  # input-proportional; base58 is quadratic and capped
    estimate=_encode_work,
    title="Encode or decode with a codec",
    description=(
        "Encode or decode text with a codec; byte codecs use charset (default utf-8) between "
        "text and bytes. Binary decode results set isBinary and resultBase64."
    ),
    examples=(
        Example({"content": "foobar", "codec": "base32", "direction": "encode"}),
        Example(
            {"content": "2cFupjhnEsSn59qHXstmK2ffpLv2", "codec": "base58", "direction": "decode"}
        ),
        Example({"content": "bücher.example", "codec": "idna", "direction": "encode"}),
        Example({"content": "h\\u00e9 \\U0001f600", "codec": "unicode", "direction": "decode"}),
        Example(
            {"content": "Aé", "codec": "hex", "direction": "encode", "charset": "utf-16le"},
            title="charset",
        ),
    ),
)
def transform_encode(inp: EncodeInput, ctx: ToolContext) -> BytesOutput:
    limit = ctx.settings.max_output_bytes
    encode = inp.direction == "encode"
    if inp.codec in TEXT_CODECS:
        if inp.charset is not None:
            raise ValidationError(_MESSAGE, f"charset: does not apply to the {inp.codec} codec")
        result = _text_codec(inp.codec, inp.content, encode)
        check_output_size(len(result), limit, _MESSAGE)
        return text_output(result)
    charset = inp.charset or "utf-8"
    if encode:
        data = _to_bytes(inp.content, charset)
        if inp.codec in ENCODED_SIZE:
            check_output_size(ENCODED_SIZE[inp.codec](len(data)), limit, _MESSAGE)
        encoded = BYTE_ENCODERS[inp.codec](data)
        check_output_size(len(encoded), limit, _MESSAGE)
        return text_output(encoded)
    try:
        data = _decode_bytes(inp.codec, inp.content, charset)
    except ValueError as exc:  # binascii.Error, UnicodeError and the codecs' own
        raise _invalid(f"invalid {inp.codec}: {exc}") from None
    return _from_bytes(data, charset)
