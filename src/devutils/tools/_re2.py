"""RE2 patterns as every tool compiles them: the same limits, and only a few kept compiled.

Each compiled pattern may hold up to ``MAX_MEM``, and the server process runs small regex calls
itself, so one small cache serves text/regex and data/schema/validate alike.

RE2 accepts ``\\C`` (any single byte), which Go's regexp refuses: a match could end inside a UTF-8
sequence, and its code-point offsets (and the pieces of a split or replace) came out broken.  No
``re2.Options`` field turns it off, so patterns are scanned for it before RE2 sees them.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_MEM = 1 << 20  # per compiled pattern


def any_byte_escape(pattern: str) -> bool:
    """True when ``pattern`` uses ``\\C``: an escape, not ``\\\\C`` (a backslash, then C) nor text
    inside ``\\Q...\\E`` (literal up to the first ``\\E``, or the end, as in Go and RE2)."""
    position = pattern.find("\\")
    while position >= 0:
        escaped = pattern[position + 1 : position + 2]
        if escaped == "C":
            return True
        if escaped == "Q":
            end = pattern.find("\\E", position + 2)
            if end < 0:
                return False
            position = end  # the \E itself is skipped below like any escape
        position = pattern.find("\\", position + 2)
    return False


@functools.lru_cache(maxsize=16)
def compiled(source: str) -> Any:
    """``source`` compiled (leftmost-first, like Go, ECMA-262 and Python); raises ``re2.error``."""
    if any_byte_escape(source):
        # Worded as RE2 words the same escape inside a class (``[\\C]``), which it does refuse.
        raise re2.error(b"invalid escape sequence: \\C")
    options = re2.Options()
    options.log_errors = False  # RE2 would print every rejected pattern to stderr
    options.max_mem = MAX_MEM
    options.longest_match = False
    try:
        return re2.compile(source, options)
    finally:
        # The re2 module keeps 128 compiled patterns of its own (each up to MAX_MEM, ~70 MiB
        # seen in the server process): ours keeps a few.
        re2.purge()
