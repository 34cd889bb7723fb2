"""Lossless JSON re-formatting: numbers kept as written, key order kept, Go MarshalIndent layout.

Parsing uses the stdlib ``json`` module with hooks: numbers stay as their source text (no float
rounding, no int-digit limits), objects keep their first-seen key order with the last duplicate's
value, and NaN/Infinity are refused.  Nesting is measured by a linear pre-scan before the
(recursive) parser runs, so deep input is a clean error instead of a ``RecursionError``.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any


class JSONTextError(ValueError):
    """Input that is not strict JSON, or nests too deeply."""


class Number(str):
    """A JSON number, kept as its exact source text."""

    __slots__ = ()


# Strings are skipped whole (possessive quantifiers: linear even on unterminated strings), so
# brackets inside them do not count.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_WEIGHT = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings (exact for valid JSON)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    return max(accumulate(map(_BRACKET_WEIGHT.__getitem__, brackets)))


def _refuse_constant(name: str) -> Any:
    raise JSONTextError(f"{name} is not valid JSON")


def strip_bom(text: str) -> str:
    """The text without one leading U+FEFF: a byte order mark, not content.  RFC 8259 §8.1 lets
    a parser ignore it; editors on Windows and Excel's CSV write one."""
    return text.removeprefix("\ufeff")


def parse(text: str, max_depth: int) -> Any:
    text = strip_bom(text)
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JSONTextError(f"nesting depth {depth} exceeds the limit of {max_depth}")
    try:
        return json.loads(
            text,
            parse_int=Number,
            parse_float=Number,
            parse_constant=_refuse_constant,
            object_pairs_hook=dict,
        )
    except json.JSONDecodeError as exc:
        # Python's message for a second mark says "decode using utf-8-sig": not the caller's remedy.
        problem = "unexpected byte order mark (U+FEFF)" if "BOM" in exc.msg else exc.msg
        raise JSONTextError(f"{problem} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise JSONTextError("nesting too deep") from None


def _string(value: str) -> str:
    # No HTML escaping (API-DELTAS D6), non-ASCII raw: only what JSON itself requires.
    return json.dumps(value, ensure_ascii=False)


class _CappedOutput:
    """The pieces of the output with a running length: indentation multiplies deep input (a
    204 KB body gave 208 MB), so the cap is enforced while the text is produced."""

    __slots__ = ("budget", "pieces", "size")

    def __init__(self, budget: Any) -> None:
        self.pieces: list[str] = []
        self.size = 0
        self.budget = budget

    def append(self, piece: str) -> None:
        self.pieces.append(piece)
        self.size += len(piece)
        if self.size > self.budget.remaining:
            self.budget.charge(self.size)  # raises: over the cap


def _dump(value: Any, out: Any, indent: str, level: int, sort_keys: bool) -> None:
    if isinstance(value, Number):
        out.append(value)
    elif isinstance(value, str):
        out.append(_string(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        keys = sorted(value) if sort_keys else list(value)
        inner = "\n" + indent * (level + 1) if indent else ""
        out.append("{")
        for position, key in enumerate(keys):
            if position:
                out.append(",")
            out.append(inner)
            out.append(_string(key))
            out.append(": " if indent else ":")
            _dump(value[key], out, indent, level + 1, sort_keys)
        out.append("\n" + indent * level + "}" if indent else "}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        inner = "\n" + indent * (level + 1) if indent else ""
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            out.append(inner)
            _dump(item, out, indent, level + 1, sort_keys)
        out.append("\n" + indent * level + "]" if indent else "]")
    else:  # pragma: no cover - parse() only produces the types above
        raise TypeError(type(value).__name__)


def render(value: Any, indent: int, sort_keys: bool, budget: Any = None) -> str:
    """Go ``json.MarshalIndent(v, "", indent)`` layout, or compact when ``indent`` is 0.

    With an output budget (:class:`devutils.execution.budget.OutputBudget`), production stops
    with its 413 as soon as the text would pass the cap.
    """
    out: Any = [] if budget is None else _CappedOutput(budget)
    try:
        _dump(value, out, " " * indent, 0, sort_keys)
    except RecursionError:
        raise JSONTextError("nesting too deep") from None
    text = "".join(out if budget is None else out.pieces)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONTextError("string contains an unpaired surrogate (\\ud800-\\udfff)") from None
    return text
