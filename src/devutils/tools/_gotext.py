"""Go's two ways of quoting text in error messages, so our error details read like the reference's.

``strconv.Quote`` (used by ``url.EscapeError`` and ``strconv.NumError``) keeps printable Unicode
and escapes the rest; the ``time`` package's private ``quote`` escapes every non-ASCII byte.
"""

from __future__ import annotations

_SHORT_ESCAPES = {
    0x07: "\\a",
    0x08: "\\b",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
    0x22: '\\"',
    0x5C: "\\\\",
}


def strconv_quote(data: bytes) -> str:
    """Go ``strconv.Quote`` of a byte string (invalid UTF-8 bytes become ``\\xNN``)."""
    out = ['"']
    text = data.decode("utf-8", "surrogateescape")
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, carried by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[code])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def time_quote(text: str) -> str:
    """Go ``time.quote``: printable ASCII kept (``"`` and ``\\`` escaped), other bytes ``\\xNN``."""
    out = ['"']
    for char in text:
        if char < " " or char >= "\x80":
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))
        else:
            if char in '"\\':
                out.append("\\")
            out.append(char)
    out.append('"')
    return "".join(out)
