"""text tools: case conversion, statistics and line sorting (regex lives in regex.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools._casing import (
    ASCII_SPACE,
    capitalise,
    go_lower,
    go_trim_space,
    go_upper,
    sentence_case,
    split_words,
)
from devutils.tools._gofloat import parse_go_float

CaseType = Literal[
    "UPPERCASE",
    "lowercase",
    "Title Case",
    "Sentence case",
    "camelCase",
    "PascalCase",
    "snake_case",
    "kebab-case",
    "CONSTANT_CASE",
    "dot.case",
]


def _camel(words: list[str]) -> str:
    return go_lower(words[0]) + "".join(map(capitalise, words[1:])) if words else ""


_CONVERTERS: dict[str, Callable[[str], str]] = {
    "UPPERCASE": go_upper,
    "lowercase": go_lower,
    "Sentence case": sentence_case,
    "Title Case": lambda text: " ".join(map(capitalise, split_words(text))),
    "camelCase": lambda text: _camel(split_words(text)),
    "PascalCase": lambda text: "".join(map(capitalise, split_words(text))),
    "snake_case": lambda text: "_".join(map(go_lower, split_words(text))),
    "kebab-case": lambda text: "-".join(map(go_lower, split_words(text))),
    "CONSTANT_CASE": lambda text: "_".join(map(go_upper, split_words(text))),
    "dot.case": lambda text: ".".join(map(go_lower, split_words(text))),
}


class CaseInput(ToolInput):
    content: str = Field(description="Text to convert.")
    case_type: CaseType = Field(description="Target case style (exact spelling, case-sensitive).")


class CaseOutput(ToolOutput):
    result: str
    case_type: str


@tool(
    "/api/v1/text/case",
    blocking="large",  # up to ~1 s of CPU for a 1 MiB body: off the event loop
    title="Convert text case",
    description="Convert text to UPPERCASE, lowercase, Title Case, Sentence case, camelCase, "
    "PascalCase, snake_case, kebab-case, CONSTANT_CASE or dot.case (words split at separators, "
    "camelCase humps and letter/digit edges).",
    examples=(
        Example({"content": "hello world", "caseType": "camelCase"}),
        Example({"content": "HTTPServer error", "caseType": "snake_case"}),
    ),
)
def text_case(inp: CaseInput, ctx: ToolContext) -> CaseOutput:
    return CaseOutput(result=_CONVERTERS[inp.case_type](inp.content), case_type=inp.case_type)


class InfoInput(ToolInput):
    content: str = Field(description="Text to analyse.")


class InfoOutput(ToolOutput):
    character_count: int = Field(description="Unicode code points.")
    word_count: int = Field(description="Runs of non-space text separated by ASCII whitespace.")
    line_count: int = Field(description="Newline-separated lines (0 for empty text).")
    sentence_count: int = Field(description="'.', '!' or '?' followed by whitespace or the end.")
    byte_size: int = Field(description="UTF-8 bytes.")


_WORD_GAPS = re.compile(f"[{ASCII_SPACE}]+")
_SENTENCE_ENDS = re.compile(f"[.!?](?:[{ASCII_SPACE}]|\\Z)")


@tool(
    "/api/v1/text/info",
    blocking="large",  # up to ~1 s of CPU for a 1 MiB body: off the event loop
    title="Text statistics",
    description="Count characters (code points), words, lines, sentences and UTF-8 bytes of a text.",
    examples=(Example({"content": "Hello world!\nThis is a test."}),),
)
def text_info(inp: InfoInput, ctx: ToolContext) -> InfoOutput:
    text = inp.content
    trimmed = go_trim_space(text)
    words = sum(1 for piece in _WORD_GAPS.split(trimmed) if go_trim_space(piece)) if trimmed else 0
    sentences = 0
    if trimmed:
        sentences = sum(1 for _ in _SENTENCE_ENDS.finditer(text)) or 1
    return InfoOutput(
        character_count=len(text),
        word_count=words,
        line_count=text.count("\n") + 1 if text else 0,
        sentence_count=sentences,
        byte_size=len(text.encode()),
    )


class SortInput(ToolInput):
    content: str = Field(description="Lines separated by \\n.")
    order: Literal["asc", "desc"] = Field(description="Sort direction.")
    sort_type: Literal["alpha", "numeric", "natural"] = Field(
        description="alpha: code-point order; numeric: by value, non-numbers after; "
        "natural: digit runs compared as numbers (1.9.0 before 1.10.0)."
    )


class SortOutput(ToolOutput):
    result: str


_DIGIT_RUNS = re.compile(r"[0-9]+|[^0-9]+")
NaturalKey = tuple[tuple[str, int, str, int], ...]


def _natural_key(line: str) -> NaturalKey:
    """Digit runs compare by value (leading zeros break ties), text runs by code point.

    A digit run's key starts with "0", so against a text run it orders like the characters do.
    No int conversion: a 10 000-digit run costs nothing extra.
    """
    key = []
    for run in _DIGIT_RUNS.findall(line):
        if run[0].isdigit():
            significant = run.lstrip("0")
            key.append(("0", len(significant), significant, len(run)))
        else:
            key.append((run, 0, "", 0))
    return tuple(key)


def _numeric_sort(lines: list[str], descending: bool) -> list[str]:
    """Numbers (Go ParseFloat syntax) first, by value; then the other lines by text.

    Total order for numbers, ascending: -Inf < finite values (-0 == 0) < +Inf < NaN; descending is
    the exact reverse.  Equal keys keep their input order (stable) in both directions.
    """
    numbers: list[tuple[tuple[bool, float], str]] = []
    others: list[str] = []
    for line in lines:
        value = parse_go_float(go_trim_space(line))
        if value is None:
            others.append(line)
        else:
            nan = math.isnan(value)
            numbers.append(((nan, 0.0 if nan else value), line))
    numbers.sort(key=lambda item: item[0], reverse=descending)
    others.sort(reverse=descending)
    return [line for _, line in numbers] + others


@tool(
    "/api/v1/text/sort",
    blocking="large",  # up to ~1 s of CPU for a 1 MiB body: off the event loop
    title="Sort lines",
    description="Stable sort of the lines of a text: alphabetical (code points), numeric "
    "(non-numbers last) or natural/version-aware, ascending or descending.",
    examples=(
        Example({"content": "banana\napple\ncherry", "order": "asc", "sortType": "alpha"}),
        Example({"content": "1.10.0\n1.9.0\n1.2.0", "order": "asc", "sortType": "natural"}),
    ),
)
def text_sort(inp: SortInput, ctx: ToolContext) -> SortOutput:
    if not go_trim_space(inp.content):
        return SortOutput(result=inp.content)
    lines = inp.content.split("\n")
    descending = inp.order == "desc"
    if inp.sort_type == "numeric":
        ordered = _numeric_sort(lines, descending)
    elif inp.sort_type == "natural":
        ordered = sorted(lines, key=_natural_key, reverse=descending)
    else:
        ordered = sorted(lines, reverse=descending)
    return SortOutput(result="\n".join(ordered))
