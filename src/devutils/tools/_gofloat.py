"""Go's ``strconv.ParseFloat(s, 64)`` acceptance rules, for numeric line sorting.

Python's ``float()`` accepts a different language (surrounding whitespace, ``+nan``, ``infinity``
spelled out in any case, non-ASCII digits), so the syntax is checked here first.
"""

from __future__ import annotations

import math
import re

# Linear: no two adjacent runs can take the same digits (``[0-9_]+\.?[0-9_]*`` could, and a long
# line that is no number backtracked through every split of its digits: 8000 digits and an "x"
# took 2.3 s), and each run is possessive (what follows a run can never be one of its digits, so
# giving some back could never help; without it such a line still costs a step per digit).
_DECIMAL = re.compile(r"[+-]?(?:[0-9_]++(?:\.[0-9_]*+)?|\.[0-9_]++)(?:[eE][+-]?[0-9_]++)?")
_HEX = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F_]++(?:\.[0-9a-fA-F_]*+)?|\.[0-9a-fA-F_]++)[pP][+-]?[0-9_]++"
)
_SPECIAL = re.compile(r"([+-]?)(?i:inf|infinity)|(?i:nan)")
# An underscore must sit between two digits (or right after a 0x prefix), as in Go literals.
_BAD_HEX_UNDERSCORE = re.compile(r"(?<![0-9a-fA-F])_|_(?![0-9a-fA-F])")
_BAD_DECIMAL_UNDERSCORE = re.compile(r"(?<![0-9])_|_(?![0-9])")


def parse_go_float(text: str) -> float | None:
    """The value Go's ParseFloat gives without error, else ``None`` (syntax error or overflow)."""
    special = _SPECIAL.fullmatch(text)
    if special:
        if text[-1] in "nN":
            return math.nan
        return -math.inf if special.group(1) == "-" else math.inf
    hexadecimal = _HEX.fullmatch(text) is not None
    if not hexadecimal and _DECIMAL.fullmatch(text) is None:
        return None
    if "_" in text and _underscores_misplaced(text, hexadecimal):
        return None
    digits = text.replace("_", "")
    try:
        value = float.fromhex(digits) if hexadecimal else float(digits)
    except OverflowError:
        return None
    # Go reports overflow to ±Inf as an error (ErrRange); the reference then treats it as text.
    return None if math.isinf(value) else value


def _underscores_misplaced(text: str, hexadecimal: bool) -> bool:
    body = text.lstrip("+-")
    if hexadecimal:
        body = "0" + body[2:]  # the base prefix counts as a digit before an underscore
        return _BAD_HEX_UNDERSCORE.search(body) is not None
    return _BAD_DECIMAL_UNDERSCORE.search(body) is not None
