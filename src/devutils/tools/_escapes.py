"""Unicode escapes (``\\uXXXX``, ``\\UXXXXXXXX``) in both directions, for transform/encode.

Encoding keeps printable ASCII, doubles backslashes and writes everything else as ``\\uXXXX`` (or
``\\UXXXXXXXX`` past the BMP), so the result is pure ASCII and reads back exactly.  Decoding takes
``\\uXXXX`` (a UTF-16 surrogate pair becomes one character, as in JavaScript and JSON),
``\\UXXXXXXXX``, ``\\xNN``, ``\\u{...}`` and the one-letter escapes; anything else after a
backslash, or a lone surrogate, is an error naming the offset.
"""

from __future__ import annotations

import re

_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_SIMPLE.update({"\\": "\\", "'": "'", '"': '"', "/": "/"})
_ESCAPE = re.compile(
    r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|x([0-9A-Fa-f]{2})|u\{([0-9A-Fa-f]{1,6})\}|(.)|$)",
    re.DOTALL,
)
_PLAIN = re.compile(r"[\x20-\x5b\x5d-\x7e]+")


class EscapeError(ValueError):
    pass


def escape(text: str) -> str:
    parts: list[str] = []
    pos = 0
    while pos < len(text):
        run = _PLAIN.match(text, pos)
        if run is not None:
            parts.append(run.group())
            pos = run.end()
            continue
        code = ord(text[pos])
        if code == 0x5C:
            parts.append("\\\\")
        elif code < 0x10000:
            parts.append(f"\\u{code:04x}")
        else:
            parts.append(f"\\U{code:08x}")
        pos += 1
    return "".join(parts)


def _code_point(match: re.Match[str]) -> int:
    for group in (1, 2, 3, 4):
        if match.group(group) is not None:
            return int(match.group(group), 16)
    raise AssertionError("unreachable")


def unescape(text: str) -> str:
    parts: list[str] = []
    pos = 0
    pending_high: int | None = None
    pending_at = 0  # where the pending high surrogate's escape starts
    for match in _ESCAPE.finditer(text):
        if match.start() > pos:
            if pending_high is not None:
                raise EscapeError(f"lone surrogate at offset {pending_at}")
            parts.append(text[pos : match.start()])
        pos = match.end()
        simple = match.group(5)
        if match.group() == "\\":
            raise EscapeError(f"trailing backslash at offset {match.start()}")
        if simple is not None:
            if simple not in _SIMPLE:
                raise EscapeError(f"unknown escape \\{simple} at offset {match.start()}")
            if pending_high is not None:
                raise EscapeError(f"lone surrogate at offset {pending_at}")
            parts.append(_SIMPLE[simple])
            continue
        code = _code_point(match)
        if pending_high is not None:
            if not 0xDC00 <= code <= 0xDFFF or match.group(1) is None:
                raise EscapeError(f"lone surrogate at offset {pending_at}")
            code = 0x10000 + (pending_high - 0xD800 << 10) + (code - 0xDC00)
            pending_high = None
        elif 0xD800 <= code <= 0xDBFF and match.group(1) is not None:
            pending_high, pending_at = code, match.start()
            continue
        elif 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise EscapeError(f"invalid code point U+{code:04X} at offset {match.start()}")
        parts.append(chr(code))
    if pending_high is not None:
        raise EscapeError(f"lone surrogate at offset {pending_at}")
    parts.append(text[pos:])
    return "".join(parts)
