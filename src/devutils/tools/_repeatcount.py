"""RE2's repeat-count limit, checked on the pattern text before compiling.

RE2 (and Go's regexp) refuse ``{n}``, ``{n,}`` and ``{n,m}`` with a count over 1000.  google-re2
refuses 1001 to 99 999 999 itself, but its count parser gives up on longer numbers and then reads
the whole brace as literal text, so ``a{4294967295}`` compiled and silently matched the text
"a{4294967295}" (Go refuses it).  ``Options.max_mem`` bounds the compiled program, not the counts,
so it does not help.  This scan finds every repeat the way the parsers do: escapes (``\\{``,
``\\x{..}``, ``\\p{..}``, ``\\Q..\\E``) and character classes (``[{]``, ``[[:digit:]]``) hold no
repeats, and a count with a leading zero (``{01001}``) is literal text in both engines.
"""

from __future__ import annotations

import re

MAX_REPEAT = 1000
# ASCII digits only: str.isdigit and \d would take other scripts' digits too.
_REPEAT = re.compile(r"\{([0-9]+)(?:,([0-9]*))?\}")


def oversized_repeat(pattern: str) -> tuple[str, str] | None:
    """The first repeat operator with a count over MAX_REPEAT, as (its text, the count's digits)."""
    index = 0
    end = len(pattern)
    while index < end:
        char = pattern[index]
        if char == "\\":
            index = _after_escape(pattern, index)
        elif char == "[":
            index = _after_class(pattern, index)
        elif char == "{" and (found := _REPEAT.match(pattern, index)) is not None:
            counts = [text for text in found.groups() if text]
            if not any(len(text) > 1 and text[0] == "0" for text in counts):
                for text in counts:
                    if len(text) > len(str(MAX_REPEAT)) or int(text) > MAX_REPEAT:
                        return found.group(), text
            index = found.end()
        else:
            index += 1
    return None


def _after_escape(pattern: str, index: int) -> int:
    """The index just past the escape sequence starting with the backslash at ``index``."""
    kind = pattern[index + 1 : index + 2]
    if kind == "Q":  # literal text up to \E (or the end)
        stop = pattern.find("\\E", index + 2)
        return len(pattern) if stop < 0 else stop + 2
    if kind in ("x", "p", "P") and pattern[index + 2 : index + 3] == "{":
        stop = pattern.find("}", index + 3)
        return len(pattern) if stop < 0 else stop + 1
    return index + 2


def _after_class(pattern: str, index: int) -> int:
    """The index just past the character class opening at ``index``."""
    position = index + 1
    if pattern[position : position + 1] == "^":
        position += 1
    if pattern[position : position + 1] == "]":  # a leading ] is a member
        position += 1
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position = _after_escape(pattern, position)
        elif pattern.startswith("[:", position):
            stop = pattern.find(":]", position + 2)
            position = position + 1 if stop < 0 else stop + 2
        elif char == "]":
            return position + 1
        else:
            position += 1
    return len(pattern)
