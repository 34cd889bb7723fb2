"""text/regex: find every match of an RE2 pattern, with Go's FindAllString semantics.

RE2 is the reference's engine family (Go ``regexp``): linear time, no backtracking, so hostile
patterns such as ``(a+)+$`` cannot stall a worker; lookaround and backreferences are syntax errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import re2
import regex
from pydantic import Field, field_validator

from devutils.errors import ValidationError
from devutils.execution.budget import OutputBudget
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import Example, ToolContext, tool
from devutils.tools._re2 import compiled
from devutils.tools._repeatcount import MAX_REPEAT, oversized_repeat

MAX_PATTERN_CHARS = 1000
MAX_MATCHES = 10_000  # the default of REGEX_MAX_MATCHES
# Each match reports every group, so many-group patterns get fewer matches: the response and the
# work stay bounded (200 groups x 10 000 matches would be seconds of CPU and megabytes of JSON).
MAX_GROUP_CELLS = 100_000
# JSON bytes of a match detail besides its texts (keys, offsets, punctuation), per match and per
# group: what the output budget is charged on top of the texts.
_DETAIL_OVERHEAD = 64
_GROUP_OVERHEAD = 8
_FLAGS = frozenset("ims")

# RE2's error texts → Go regexp/syntax's, so details read like the reference's.
_GO_ERROR_TEXT = {
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "pattern too large - compile failed": "expression too large",
}


class RegexInput(ToolInput):
    content: str = Field(description="Text to search.")
    pattern: str = Field(
        min_length=1,
        max_length=MAX_PATTERN_CHARS,
        description="RE2/Go regexp syntax (no lookaround or backreferences).",
    )
    flags: str = Field(
        "", description="Any of i (ignore case), m (^ $ per line), s (. matches \\n)."
    )
    action: Literal["match", "replace", "split"] = Field(
        "match", description="match (default): every match; replace; split at matches."
    )
    replacement: str = Field(
        "",
        max_length=MAX_PATTERN_CHARS,
        description="replace: template; $1, ${1}, ${name} insert groups, $$ a dollar (Go).",
    )
    limit: int = Field(
        0, ge=0, description="replace: most replacements; split: most pieces (0: no limit)."
    )

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, value: str) -> str:
        unknown = sorted(set(value) - _FLAGS)
        if unknown:
            raise ValueError(f"unknown flag(s) {''.join(unknown)!r}; supported: i, m, s")
        return value


class MatchDetail(ToolOutput):
    match: str
    start: int = Field(description="Code-point offset of the match.")
    end: int = Field(description="Code-point offset just after the match.")
    groups: list[str | None] = Field(description="Numbered groups; null when a group took no part.")
    named_groups: dict[str, str | None]


class RegexOutput(ToolOutput):
    matches: list[str] | None = Field(
        None,
        exclude_if=omit_none,
        description="match: whole-match texts, in order (Go FindAllString).",
    )
    pattern: str
    count: int = Field(description="Matches returned, replacements made or pieces.")
    truncated: bool = Field(
        description="True when matching stopped at the cap: REGEX_MAX_MATCHES matches (10000 by "
        f"default), fewer for patterns with many groups (at most {MAX_GROUP_CELLS} "
        "match-and-group values)."
    )
    details: list[MatchDetail] | None = Field(None, exclude_if=omit_none)
    result: str | None = Field(None, exclude_if=omit_none, description="replace: the new text.")
    parts: list[str] | None = Field(None, exclude_if=omit_none, description="split: the pieces.")


def _go_error(pattern: str, compiled_from: str, exc: re2.error) -> ValidationError:
    raw = exc.args[0] if exc.args else b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    reason, _, fragment = text.partition(": ")
    if not fragment:
        fragment = pattern
    elif fragment == compiled_from:
        fragment = pattern  # hide the inline-flags prefix we added
    reason = _GO_ERROR_TEXT.get(reason, reason)
    return ValidationError(
        "Regex test failed",
        f"invalid regex pattern: error parsing regexp: {reason}: `{fragment}`",
    )


def _check_repeat_counts(pattern: str) -> None:
    found = oversized_repeat(pattern)
    if found is not None:
        operator, count = found
        raise ValidationError(
            "Regex test failed",
            f"invalid regex pattern: error parsing regexp: invalid repeat count: `{operator}` "
            f"(repeat count {count} exceeds RE2's maximum of {MAX_REPEAT})",
        )


def _compile(pattern: str, flags: str) -> Any:
    _check_repeat_counts(pattern)
    source = f"(?{''.join(sorted(set(flags)))}){pattern}" if flags else pattern
    try:
        return compiled(source)
    except re2.error as exc:
        raise _go_error(pattern, source, exc) from None


def match_cap(groups: int, max_matches: int = MAX_MATCHES) -> int:
    return min(max_matches, MAX_GROUP_CELLS // (groups + 1))


# Work units (about 120 ns each, docs/performance.md) of one group reference expanded in one
# replacement: re2 finds its span and copies its text, ~4 µs.
REF_WORK = 32
# Work units of one match, whatever the action: the re2 wrapper's match object, its spans and
# the match's part of the answer, ~8 µs (8190 one-character matches took 60-200 ms).
MATCH_WORK = 64


def work_estimate(inp: RegexInput) -> int:
    """RE2 is linear in the text but its per-character cost grows with the pattern: a 1000-char
    pattern of nested groups over 60 000 characters took 12.5 s.  The product decides whether the
    call may run on the event loop.

    A replacement also expands its template's group references at every match, and a pattern
    that can match empty matches at every position: ``$0`` x 500 over 3000 characters was 1.5 M
    expansions (5.5 s) for a product of 3000.  Every ``$`` may start a reference, and there are
    at most ``len(content) + 1`` matches (``limit``, when given, caps them too).  Each match
    also costs the wrapper's match object and its part of the answer, whatever the action (``|``
    over 8190 characters ran 0.2 s on the loop), so only a short text is matched inline."""
    work = len(inp.pattern) * max(1, len(inp.content))
    matches = min(len(inp.content) + 1, MAX_MATCHES)
    if inp.action == "replace" and inp.limit:
        matches = min(matches, inp.limit)
    work += MATCH_WORK * matches
    if inp.action == "replace":
        work += REF_WORK * inp.replacement.count("$") * matches
    return work


def _go_find_all(regexp: Any, text: str) -> Iterator[Any]:
    """re2's finditer, minus the empty matches Go drops right after a previous match."""
    previous_end = -1
    for found in regexp.finditer(text):
        start, end = found.span()
        if not (start == end == previous_end):
            yield found
        previous_end = end


@tool(
    "/api/v1/text/regex",
    raw=("result", "parts", "matches"),
    blocking="large",
    cost="regex",  # its own pool: a hostile pattern saturates it, never the other classes
    estimate=work_estimate,
    title="Test a regular expression",
    description="All matches of an RE2 (Go regexp) pattern in a text, with positions and groups "
    "(flags i, m, s); or replace them using a template, or split the text at them.",
    examples=(
        Example({"content": "Contact: john@example.com", "pattern": r"[\w.]+@[\w.]+"}),
        Example({"content": "a1 B2 c3", "pattern": r"(?P<letter>[a-z])(\d)", "flags": "i"}),
        Example(
            {
                "content": "2024-01-31",
                "pattern": r"(\d+)-(\d+)-(\d+)",
                "action": "replace",
                "replacement": "$3/$2/$1",
            }
        ),
        Example({"content": "a, b;c", "pattern": r"[,;]\s*", "action": "split"}),
    ),
)
def text_regex(inp: RegexInput, ctx: ToolContext) -> RegexOutput:
    regexp = _compile(inp.pattern, inp.flags)
    settings = ctx.settings
    if regexp.groups > settings.regex_max_groups:
        raise ValidationError(
            "Regex test failed",
            f"pattern has {regexp.groups} capture groups; the limit is "
            f"{settings.regex_max_groups} (REGEX_MAX_GROUPS)",
        )
    cap = match_cap(regexp.groups, settings.regex_max_matches)
    # Each match is reported twice (matches and details) with all its groups: nested groups over
    # a large text multiply it, so the bytes are counted as the matches are found.
    budget = ctx.output_budget("Regex test failed")
    budget.charge(len(inp.pattern))
    if inp.action == "replace":
        return _replace(regexp, inp, cap, budget)
    if inp.action == "split":
        return _split(regexp, inp, cap, budget)
    return _matches(regexp, inp, cap, budget)


def _matches(regexp: Any, inp: RegexInput, cap: int, budget: OutputBudget) -> RegexOutput:
    names = {index: name for name, index in regexp.groupindex.items()}
    matches: list[str] = []
    details: list[MatchDetail] = []
    truncated = False
    for found in _go_find_all(regexp, inp.content):
        if len(matches) == cap:
            truncated = True
            break
        # Charged from the spans, before any group text is copied out of the subject.
        start, end = found.span()
        spans = [found.span(index) for index in range(1, regexp.groups + 1)]
        budget.charge(
            2 * (end - start)
            + _DETAIL_OVERHEAD
            + sum(high - low + _GROUP_OVERHEAD for low, high in spans)
            + sum(spans[i - 1][1] - spans[i - 1][0] + len(names[i]) for i in names)
        )
        groups = list(found.groups())
        matches.append(found.group())
        details.append(
            MatchDetail(
                match=found.group(),
                start=found.start(),
                end=found.end(),
                groups=groups,
                named_groups={names[i]: groups[i - 1] for i in sorted(names)},
            )
        )
    return RegexOutput(
        matches=matches,
        pattern=inp.pattern,
        count=len(matches),
        truncated=truncated,
        details=details,
    )


# Go's Regexp.Expand: $name or ${name}, name as long as possible ($1x is ${1x}); $$ is a dollar;
# a $ not followed by a name is kept as it is.  A name is made of what Go's unicode.IsLetter (L*)
# and unicode.IsDigit (Nd) accept, and "_": Python's \w would take ² (No) into it as well.
_TEMPLATE = regex.compile(r"\$(?:(\$)|\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))")
# Go numbers a group only with ASCII digits, no leading zero and at most nine of them: $01, $١ and
# $1234567890 name a group instead.
_GROUP_NUMBER = re.compile(r"0|[1-9][0-9]{0,8}")
# A template compiled once per call: literal text (str) and group numbers (int) in order.
Template = list[str | int]


def parse_template(template: str, regexp: Any) -> Template:
    parts: Template = []
    position = 0
    for ref in _TEMPLATE.finditer(template):
        parts.append(template[position : ref.start()])
        position = ref.end()
        name = ref.group(2) or ref.group(3)
        if ref.group(1):
            parts.append("$")
        elif _GROUP_NUMBER.fullmatch(name):
            if int(name) <= regexp.groups:
                parts.append(int(name))
        elif name in regexp.groupindex:
            parts.append(regexp.groupindex[name])
        # else: a group the pattern does not have expands to nothing, as in Go
    parts.append(template[position:])
    return [part for part in parts if part != ""]


def _replace(regexp: Any, inp: RegexInput, cap: int, budget: OutputBudget) -> RegexOutput:
    """Go ReplaceAllString, with at most ``limit`` (and the match cap) replacements."""
    text = inp.content
    template = parse_template(inp.replacement, regexp)
    literal = sum(len(part) for part in template if isinstance(part, str))
    refs = [part for part in template if isinstance(part, int)]
    pieces: list[str] = []
    position = replaced = 0
    most = min(cap, inp.limit or cap)
    truncated = False
    for found in _go_find_all(regexp, text):
        if replaced == most:
            truncated = replaced == cap  # the limit asked for is not a truncation
            break
        start, end = found.span()
        # Charged from the spans before the replacement text is built.
        spans = [found.span(ref) for ref in refs]
        budget.charge(start - position + literal + sum(max(0, b - a) for a, b in spans))
        pieces.append(text[position:start])
        pieces.extend(
            part if isinstance(part, str) else found.group(part) or "" for part in template
        )
        position = end
        replaced += 1
    budget.charge(len(text) - position)
    pieces.append(text[position:])
    return RegexOutput(
        pattern=inp.pattern, count=replaced, truncated=truncated, result="".join(pieces)
    )


def _split(regexp: Any, inp: RegexInput, cap: int, budget: OutputBudget) -> RegexOutput:
    """Go Regexp.Split with n = limit (0: every piece); at most the match cap + 1 pieces."""
    text = inp.content
    if not text:
        return RegexOutput(pattern=inp.pattern, count=1, truncated=False, parts=[""])
    parts: list[str] = []
    begin = end = 0
    truncated = False
    for index, found in enumerate(_go_find_all(regexp, text)):
        if inp.limit and len(parts) == inp.limit - 1:
            break
        if index == cap:
            truncated = True
            break
        end, after = found.span()
        if after != 0:
            budget.charge(end - begin + _GROUP_OVERHEAD)
            parts.append(text[begin:end])
        begin = after
    if end != len(text):
        budget.charge(len(text) - begin)
        parts.append(text[begin:])
    return RegexOutput(pattern=inp.pattern, count=len(parts), truncated=truncated, parts=parts)
