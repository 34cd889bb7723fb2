"""PEM scanning with Go's ``pem.Decode`` semantics, block after block, in linear time.

Only the first block counted for the reference; chains and bundles need every block, in order.
END markers are located once for the whole text, so a failed candidate never rescans the rest.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Iterator

_BEGIN = "-----BEGIN "
_END = "\n-----END "
_DASHES = "-----"
# Go drops spaces and tabs and its decoder skips CR and LF; any other character is an error.
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=\r\n\t ]")
_BLANKS = str.maketrans("", "", "\r\n\t ")


def _line(text: str, pos: int) -> tuple[str, int]:
    """The line starting at ``pos`` without trailing blanks, and where the next one starts."""
    newline = text.find("\n", pos)
    end = len(text) if newline < 0 else newline
    return text[pos:end].rstrip(" \t\r"), (len(text) if newline < 0 else newline + 1)


def _next_block(text: str, pos: int, ends: list[int]) -> tuple[str, bytes, int] | None:
    """Type, bytes and end of the next well-formed block from ``pos``; bad base64 is skipped."""
    while True:
        if text.startswith(_BEGIN, pos):
            pos += len(_BEGIN)
        else:
            found = text.find("\n" + _BEGIN, pos)
            if found < 0:
                return None
            pos = found + 1 + len(_BEGIN)
        type_line, pos = _line(text, pos)
        if not type_line.endswith(_DASHES):
            continue
        block_type = type_line[: -len(_DASHES)]
        has_headers = False
        while True:  # RFC 1421 headers ("Proc-Type: ..."), as Go reads them
            if pos >= len(text):
                return None
            line, after = _line(text, pos)
            if ":" not in line:
                break
            has_headers, pos = True, after
        if not has_headers and text.startswith(_END[1:], pos):
            end_index, trailer = pos, pos + len(_END) - 1
        else:
            index = bisect.bisect_left(ends, pos)
            if index == len(ends):
                return None
            end_index, trailer = ends[index], ends[index] + len(_END)
        closing = block_type + _DASHES
        tail, after_block = _line(text, trailer + len(closing))
        if not text.startswith(closing, trailer) or tail:
            continue
        body = text[pos:end_index]
        if _NOT_BASE64.search(body):
            continue
        try:
            der = base64.b64decode(body.translate(_BLANKS), validate=True)
        except (binascii.Error, ValueError):
            continue
        return block_type, der, after_block


def pem_blocks(text: str) -> Iterator[tuple[str, bytes]]:
    """Every well-formed PEM block of ``text`` in order (type, bytes), as repeated Go Decodes."""
    ends = [match.start() for match in re.finditer(re.escape(_END), text)]
    pos = 0
    while True:
        found = _next_block(text, pos, ends)
        if found is None:
            return
        block_type, der, pos = found
        yield block_type, der


def first_pem_block(text: str) -> tuple[str, bytes] | None:
    """Type and bytes of the first well-formed PEM block; blocks with bad base64 are skipped."""
    return next(pem_blocks(text), None)


def has_armour(text: str) -> bool:
    """True when the text has a PEM BEGIN line (else it may be bare base64 DER)."""
    return text.startswith(_BEGIN) or ("\n" + _BEGIN) in text


def bare_base64(text: str) -> bytes | None:
    """Bytes of base64 text without armour (blanks and line breaks allowed), else None."""
    body = text.strip()
    if not body or _NOT_BASE64.search(body):
        return None
    try:
        return base64.b64decode(body.translate(_BLANKS), validate=True)
    except (binascii.Error, ValueError):
        return None
