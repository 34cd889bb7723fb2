"""text tools: case conversion, statistics and line sorting (regex lives in regex.py)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from typing import Literal

import regex
from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import OFF_LOOP_WORK, Example, ToolContext, tool
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
    "path/case",
    "Train-Case",
    "Headline Case",
]

# Chicago-style minor words: articles, coordinating conjunctions and short prepositions stay
# lower case inside a headline (never as its first or last word).
SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "en",
        "for",
        "if",
        "in",
        "nor",
        "of",
        "off",
        "on",
        "or",
        "per",
        "the",
        "to",
        "up",
        "via",
        "vs",
        "yet",
        "so",
    ]
)


def _headline(text: str) -> str:
    words = split_words(text)
    last = len(words) - 1
    return " ".join(
        go_lower(word) if 0 < index < last and go_lower(word) in SMALL_WORDS else capitalise(word)
        for index, word in enumerate(words)
    )


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
    "path/case": lambda text: "/".join(map(go_lower, split_words(text))),
    "Train-Case": lambda text: "-".join(map(capitalise, split_words(text))),
    "Headline Case": _headline,
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
    description="Convert text to UPPERCASE, lowercase, Title Case, Headline Case (small words "
    "lower), Sentence case, camelCase, PascalCase, snake_case, kebab-case, CONSTANT_CASE, dot.case, "
    "path/case or Train-Case (words split at separators, humps and letter/digit edges).",
    examples=(
        Example({"content": "hello world", "caseType": "camelCase"}),
        Example({"content": "HTTPServer error", "caseType": "snake_case"}),
        Example({"content": "the lord of the rings", "caseType": "Headline Case"}),
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
    unique_word_count: int = Field(
        description="Distinct words, compared case-insensitively without surrounding punctuation."
    )
    grapheme_count: int = Field(
        description="User-perceived characters (extended grapheme clusters, Unicode UAX #29)."
    )
    encoded_sizes: dict[str, int] = Field(
        description="Bytes in utf-8, utf-16 and utf-32 (no byte-order mark)."
    )


_WORD_GAPS = re.compile(f"[{ASCII_SPACE}]+")
_GRAPHEME = regex.compile(r"\X")
# Regional indicators (flags) pair up from the start of their run (UAX #29 GB12, GB13): \X finds
# the parity of each one by scanning back to that start, quadratic in the run's length.
_REGIONAL_RUN = re.compile("[\U0001f1e6-\U0001f1ff]{3,}")
# A text holding flags is still counted in a pool process, as when their runs were quadratic.
_REGIONAL = re.compile("[\U0001f1e6-\U0001f1ff]")
# Punctuation around a word ("Hello," "(world)") is not part of it; inner punctuation is (it's).
# The trailing run is searched for from the end (REVERSE): ``\p{P}+$`` searched forwards starts
# at every character of a long punctuation run, quadratic ("x" + "!" x 8190 + "x": 0.6 s).
_LEADING_PUNCTUATION = regex.compile(r"\p{P}+")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$", regex.REVERSE)
_SENTENCE_ENDS = re.compile(f"[.!?](?:[{ASCII_SPACE}]|\\Z)")


def _strip_edge_punctuation(word: str) -> str:
    """``word`` without its leading and trailing runs of punctuation, in linear time."""
    leading = _LEADING_PUNCTUATION.match(word)
    start = leading.end() if leading else 0
    trailing = _TRAILING_PUNCTUATION.search(word, start)
    if trailing is None:
        return word[start:]
    # ``$`` also matches before a final line feed, which stays (as the forward search left it).
    return word[start : trailing.start()] + word[trailing.end() :]


def grapheme_count(text: str) -> int:
    """Extended grapheme clusters in ``text`` (UAX #29), as ``\\X`` counts them, in linear time.

    Between the pairs of a run of regional indicators there is always a boundary, and no rule
    looks back past one: cut there, each piece is counted as a text of its own.  The first piece
    keeps the text before the run (a Prepend joins the first pair) and the last keeps the text
    after it (an Extend joins the last flag); the pairs between are one cluster each.
    """
    count = start = 0
    for run in _REGIONAL_RUN.finditer(text):
        first_cut = run.start() + 2
        # The last cut leaves one or two indicators after it, for what follows the run.
        pairs_between = (run.end() - first_cut - 1) // 2
        count += len(_GRAPHEME.findall(text[start:first_cut])) + pairs_between
        start = first_cut + 2 * pairs_between
    return count + len(_GRAPHEME.findall(text[start:]))


@tool(
    "/api/v1/text/info",
    blocking="large",  # up to ~1 s of CPU for a 1 MiB body: off the event loop
    estimate=lambda inp: OFF_LOOP_WORK if _REGIONAL.search(inp.content) else len(inp.content),
    title="Text statistics",
    description="Count characters (code points), graphemes, words (and distinct words), lines, "
    "sentences and bytes per encoding of a text.",
    examples=(Example({"content": "Hello world!\nThis is a test."}),),
)
def text_info(inp: InfoInput, ctx: ToolContext) -> InfoOutput:
    text = inp.content
    trimmed = go_trim_space(text)
    pieces = (
        [piece for piece in _WORD_GAPS.split(trimmed) if go_trim_space(piece)] if trimmed else []
    )
    distinct = {_strip_edge_punctuation(piece).casefold() for piece in pieces}
    distinct.discard("")
    sentences = 0
    if trimmed:
        sentences = sum(1 for _ in _SENTENCE_ENDS.finditer(text)) or 1
    return InfoOutput(
        character_count=len(text),
        word_count=len(pieces),
        line_count=text.count("\n") + 1 if text else 0,
        sentence_count=sentences,
        byte_size=len(text.encode(errors="surrogatepass")),
        unique_word_count=len(distinct),
        grapheme_count=grapheme_count(text),
        encoded_sizes={
            # A lone surrogate (JSON allows "\ud800") is counted as the code unit it would be.
            name: len(text.encode(codec, errors="surrogatepass"))
            for name, codec in (
                ("utf-8", "utf-8"),
                ("utf-16", "utf-16-le"),
                ("utf-32", "utf-32-le"),
            )
        },
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
NaturalKey = tuple[tuple[tuple[str, int, str], ...], tuple[int, ...]]


def _natural_key(line: str) -> NaturalKey:
    """Digit runs compare by value, text runs by code point; then, only between lines equal so
    far, leading zeros break the tie (v1.9 before v01.9, and v01.9 before v1.10, as sort -V).

    A digit run's key starts with "0", so against a text run it orders like the characters do.
    No int conversion: a 10 000-digit run costs nothing extra.
    """
    runs = []
    widths = []
    for run in _DIGIT_RUNS.findall(line):
        if run[0].isdigit():
            significant = run.lstrip("0")
            runs.append(("0", len(significant), significant))
            widths.append(len(run))
        else:
            runs.append((run, 0, ""))
    return tuple(runs), tuple(widths)


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


# Latin letters that Unicode decomposition (NFKD) leaves whole, written as their usual ASCII.
_ASCII_FOLD = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "đ": "d",
     "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ı": "i"}
)  # fmt: skip
_APOSTROPHES = re.compile("['\u2019]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_SLUG_WORDS = re.compile(r"[^\W_]+")


class SlugInput(ToolInput):
    content: str = Field(description="Text to turn into a URL slug.")
    separator: str = Field(
        "-", min_length=1, max_length=3, description="Between words (1-3 characters)."
    )
    lowercase: bool = Field(True, description="Lower-case the result.")
    max_length: int = Field(
        0, ge=0, le=1000, description="Longest slug, cut at a word boundary (0: no limit)."
    )
    ascii_only: bool = Field(
        True,
        description="Strip accents (é→e, ß→ss); other non-ASCII parts words (½→1-2). "
        "False keeps Unicode letters.",
    )


class SlugOutput(ToolOutput):
    result: str


def _ascii_words(run: re.Match[str]) -> str:
    """What is left of non-ASCII text after NFKD: accents on letters go; anything else (a dash,
    the fraction slash of ½, a non-Latin letter) parts the words around it, so 'a—b' is a-b."""
    if all(unicodedata.category(char).startswith("M") for char in run.group()):
        return ""
    return " "


def _cut(words: list[str], separator: str, limit: int) -> str:
    slug = ""
    for word in words:
        candidate = f"{slug}{separator}{word}" if slug else word
        if len(candidate) > limit:
            return slug or word[:limit]  # a first word longer than the limit is cut inside
        slug = candidate
    return slug


@tool(
    "/api/v1/text/slug",
    blocking="large",
    title="Make a URL slug",
    description="Turn a title into a URL slug: accents stripped, words joined by a separator, "
    "optionally lower-cased and cut at a word boundary.",
    examples=(
        Example({"content": "Héllo, Wörld! Ça va?"}),
        Example({"content": "Straße & Café", "separator": "_", "maxLength": 12}),
    ),
)
def text_slug(inp: SlugInput, ctx: ToolContext) -> SlugOutput:
    if any(char.isalnum() for char in inp.separator):
        raise ValidationError("Slug failed", "separator must not contain letters or digits")
    text = _APOSTROPHES.sub("", inp.content)  # don't → dont, not don-t
    if inp.ascii_only:
        decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
        text = _NON_ASCII_RUN.sub(_ascii_words, decomposed)
    words = _SLUG_WORDS.findall(text)
    if inp.lowercase:
        words = [go_lower(word) for word in words]
    if inp.max_length:
        return SlugOutput(result=_cut(words, inp.separator, inp.max_length))
    return SlugOutput(result=inp.separator.join(words))
