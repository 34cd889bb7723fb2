"""text/regex: find every match of an RE2 pattern, with Go's FindAllString semantics.

RE2 is the reference's engine family (Go ``regexp``): linear time, no backtracking, so hostile
patterns such as ``(a+)+$`` cannot stall a worker; lookaround and backreferences are syntax errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import re2
from pydantic import Field, field_validator

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools._repeatcount import MAX_REPEAT, oversized_repeat

MAX_PATTERN_CHARS = 1000
MAX_MATCHES = 10_000
# Each match reports every group, so many-group patterns get fewer matches: the response and the
# work stay bounded (200 groups x 10 000 matches would be seconds of CPU and megabytes of JSON).
MAX_GROUP_CELLS = 100_000
_MAX_MEM = 1 << 20  # per compiled pattern; the re2 module caches up to 128 of them
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
    matches: list[str] = Field(description="Whole-match texts, in order (Go FindAllString).")
    pattern: str
    count: int = Field(description="Number of matches returned.")
    truncated: bool = Field(
        description=f"True when matching stopped at the cap: {MAX_MATCHES} matches, fewer for "
        f"patterns with many groups (at most {MAX_GROUP_CELLS} match-and-group values)."
    )
    details: list[MatchDetail]


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
    options = re2.Options()
    options.log_errors = False  # RE2 would print every rejected pattern to stderr
    options.max_mem = _MAX_MEM
    options.longest_match = False  # leftmost-first, like Go's regexp
    source = f"(?{''.join(sorted(set(flags)))}){pattern}" if flags else pattern
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        raise _go_error(pattern, source, exc) from None


def match_cap(groups: int) -> int:
    return min(MAX_MATCHES, MAX_GROUP_CELLS // (groups + 1))


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
    blocking="large",  # up to ~1 s of CPU for a 1 MiB body: off the event loop
    title="Test a regular expression",
    description="All matches of an RE2 (Go regexp) pattern in a text, with positions and groups; "
    "flags i, m, s.",
    examples=(
        Example({"content": "Contact: john@example.com", "pattern": r"[\w.]+@[\w.]+"}),
        Example({"content": "a1 B2 c3", "pattern": r"(?P<letter>[a-z])(\d)", "flags": "i"}),
    ),
)
def text_regex(inp: RegexInput, ctx: ToolContext) -> RegexOutput:
    regexp = _compile(inp.pattern, inp.flags)
    names = {index: name for name, index in regexp.groupindex.items()}
    cap = match_cap(regexp.groups)
    matches: list[str] = []
    details: list[MatchDetail] = []
    truncated = False
    for found in _go_find_all(regexp, inp.content):
        if len(matches) == cap:
            truncated = True
            break
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
