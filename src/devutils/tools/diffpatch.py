"""Diff and patch: text diff (unified or word level), structural JSON diff, JSON/merge patch."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, JsonValue

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, always_off_loop, tool
from devutils.tools._datatree import MAX_NODES, DataError, TextFormat, load_text
from devutils.tools._jsonpatch import PatchError, apply_patch, diff, merge_patch

# difflib's matcher is quadratic in the worst case (every other line changed): the part of the
# texts between their common start and end is capped so the worst input stays well inside the
# default 10 s deadline (docs/performance.md) in a pool process; its estimate (diff_work) keeps
# any call that could be slow off the event loop.  A small change in a large file is cheap.
MAX_DIFF_LINES = 4000
MAX_DIFF_TOKENS = 6000
MAX_CONTEXT = 1000
_TEXT_ERROR = "Text diff failed"
_DIFF_ERROR = "Data diff failed"
_PATCH_ERROR = "Patch failed"
_WORDS = re.compile(r"\s+|\w+|[^\w\s]")
Opcode = tuple[str, int, int, int, int]


def _opcodes(old: list[str], new: list[str], cap: int, unit: str) -> list[Opcode]:
    """difflib opcodes, with the common start and end matched without the quadratic matcher."""
    head = 0
    shortest = min(len(old), len(new))
    while head < shortest and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old_mid = old[head : len(old) - tail]
    new_mid = new[head : len(new) - tail]
    if max(len(old_mid), len(new_mid)) > cap:
        raise ValidationError(
            _TEXT_ERROR,
            f"more than {cap} changed {unit} on one side (the common start and end do not count)",
        )
    ops: list[Opcode] = [("equal", 0, head, 0, head)] if head else []
    if old_mid or new_mid:
        matcher = difflib.SequenceMatcher(None, old_mid, new_mid)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            ops.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        ops.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return ops


def _hunks(ops: Sequence[Opcode], context: int) -> list[list[Opcode]]:
    """Changes with up to ``context`` equal lines around them; nearer changes share a hunk."""
    if all(op[0] == "equal" for op in ops):
        return []
    hunks: list[list[Opcode]] = []
    current: list[Opcode] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag != "equal":
            current.append((tag, i1, i2, j1, j2))
            continue
        keep = min(i2 - i1, context)
        lead = (tag, i1, i1 + keep, j1, j1 + keep)  # context after the changes before
        trail = (tag, i2 - keep, i2, j2 - keep, j2)  # context before the changes after
        if index == 0:
            current = [trail] if keep else []
        elif index == len(ops) - 1:
            if keep:
                current.append(lead)
        elif i2 - i1 > 2 * context:
            if keep:
                current.append(lead)
            hunks.append(current)
            current = [trail] if keep else []
        else:
            current.append((tag, i1, i2, j1, j2))
    if current:
        hunks.append(current)
    return hunks


def _range(start: int, length: int) -> str:
    if length == 1:
        return str(start + 1)
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"


class TextDiffInput(ToolInput):
    original: str = Field(description="The old text.")
    modified: str = Field(description="The new text.")
    mode: Literal["unified", "word"] = Field(
        "unified", description="unified (lines) or word ([-removed-]{+added+} inline)."
    )
    context: int = Field(3, ge=0, le=MAX_CONTEXT, description="Unified context lines.")


class TextDiffOutput(ToolOutput):
    diff: str = Field(description="Empty when the texts are equal.")
    additions: int = Field(description="Lines (unified) or words (word) added.")
    deletions: int = Field(description="Lines (unified) or words (word) removed.")


def _lines(text: str) -> list[str]:
    """Lines as diff and patch count them: each ends at a line feed, which it keeps.

    ``str.splitlines`` also ends lines at CR, VT, FF, U+0085, U+2028 and U+2029, so a CRLF file
    with a stray CR, or a text holding a form feed, came out with lines that ``patch`` does not
    know and a "No newline" marker in the middle of a line."""
    lines = [line + "\n" for line in text.split("\n")]
    last = lines.pop()[:-1]
    if last:
        lines.append(last)
    return lines


def _unified(inp: TextDiffInput, charge: Any) -> TextDiffOutput:
    old = _lines(inp.original)
    new = _lines(inp.modified)
    hunks = _hunks(_opcodes(old, new, MAX_DIFF_LINES, "lines"), inp.context)
    if not hunks:
        return TextDiffOutput(diff="", additions=0, deletions=0)
    pieces = ["--- original\n+++ modified\n"]
    additions = deletions = 0

    def put(prefix: str, line: str) -> None:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        charge(len(line) + 1)
        pieces.append(prefix + line)

    for hunk in hunks:
        i1, j1 = hunk[0][1], hunk[0][3]
        i2, j2 = hunk[-1][2], hunk[-1][4]
        header = f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@\n"
        charge(len(header))
        pieces.append(header)
        for tag, a1, a2, b1, b2 in hunk:
            if tag == "equal":
                for line in old[a1:a2]:
                    put(" ", line)
                continue
            for line in old[a1:a2]:
                put("-", line)
            for line in new[b1:b2]:
                put("+", line)
            deletions += a2 - a1
            additions += b2 - b1
    return TextDiffOutput(diff="".join(pieces), additions=additions, deletions=deletions)


def _words(inp: TextDiffInput, charge: Any) -> TextDiffOutput:
    old = _WORDS.findall(inp.original)
    new = _WORDS.findall(inp.modified)
    if old == new:
        return TextDiffOutput(diff="", additions=0, deletions=0)
    pieces = []
    additions = deletions = 0
    for tag, i1, i2, j1, j2 in _opcodes(old, new, MAX_DIFF_TOKENS, "words and separators"):
        if tag == "equal":
            piece = "".join(old[i1:i2])
        else:
            removed = "".join(old[i1:i2])
            added = "".join(new[j1:j2])
            deletions += sum(1 for word in old[i1:i2] if not word.isspace())
            additions += sum(1 for word in new[j1:j2] if not word.isspace())
            piece = (f"[-{removed}-]" if removed else "") + (f"{{+{added}+}}" if added else "")
        charge(len(piece))
        pieces.append(piece)
    return TextDiffOutput(diff="".join(pieces), additions=additions, deletions=deletions)


# Work units (about 120 ns each, docs/performance.md) of one pair of tokens in difflib's worst
# case: 4094 x 4094 word tokens took 2 s (120 ns a pair), 88 x 88 took 3.3 ms (420 ns a pair).
PAIR_WORK = 4


def diff_work(inp: TextDiffInput) -> int:
    """The texts, plus difflib's worst case: the matcher may compare every token of one side
    with every token of the other, so the product of the two sides' token counts bounds it.
    Tokens are lines in unified mode; in word mode every character may be one.  Counted without
    tokenizing: this runs on the loop for every call."""
    old, new = inp.original, inp.modified
    if inp.mode == "unified":
        pairs = (old.count("\n") + 1) * (new.count("\n") + 1)
    else:
        pairs = len(old) * len(new)
    return len(old) + len(new) + PAIR_WORK * pairs


@tool(
    "/api/v1/text/diff",
    blocking="large",
    # The default estimate (the texts' characters) kept 8 KiB of word diff, 2 s of matching, on
    # the event loop.
    estimate=diff_work,
    title="Diff two texts",
    description="Unified line diff with context, or a word-level diff marking [-removed-] and "
    "{+added+} words inline.",
    examples=(
        Example({"original": "a\nb\nc\n", "modified": "a\nB\nc\nd\n"}),
        Example(
            {"original": "the quick brown fox", "modified": "the slow brown dog", "mode": "word"}
        ),
    ),
)
def text_diff(inp: TextDiffInput, ctx: ToolContext) -> TextDiffOutput:
    charge = ctx.output_budget(_TEXT_ERROR).charge
    return _unified(inp, charge) if inp.mode == "unified" else _words(inp, charge)


class DataDiffInput(ToolInput):
    original: str = Field(min_length=1, description="The old document (JSON or YAML).")
    modified: str = Field(min_length=1, description="The new document.")
    format: TextFormat = Field("json", description="Format of both documents.")


class DataDiffOutput(ToolOutput):
    equal: bool
    patch: list[dict[str, JsonValue]] = Field(
        description="RFC 6902 operations: original -> modified."
    )
    changes: list[str] = Field(description="One readable line per operation.")


def _load(
    text: str, fmt: TextFormat, what: str, max_depth: int, message: str, unique: bool = False
) -> Any:
    try:
        return load_text(text, fmt, max_depth, unique_keys=unique)
    except DataError as exc:
        raise ValidationError(message, f"{what}: {exc}") from None


@tool(
    "/api/v1/data/diff",
    blocking="large",
    # Off the loop: a few hundred bytes of YAML aliases expand to a million nodes.
    estimate=always_off_loop,
    title="Diff two JSON documents",
    description="Structural diff of two JSON or YAML documents as an RFC 6902 patch and a "
    "readable list of changes.",
    examples=(
        Example({"original": '{"a":1,"b":[1,2],"c":"x"}', "modified": '{"a":2,"b":[1,2,3]}'}),
    ),
)
def data_diff(inp: DataDiffInput, ctx: ToolContext) -> DataDiffOutput:
    depth = ctx.settings.max_json_depth
    original = _load(inp.original, inp.format, "original", depth, _DIFF_ERROR)
    modified = _load(inp.modified, inp.format, "modified", depth, _DIFF_ERROR)
    budget = ctx.output_budget(_DIFF_ERROR)
    patch: list[dict[str, Any]] = []
    changes: list[str] = []

    def emit(op: dict[str, Any], line: str) -> None:
        # An added or replacing value is written once in the patch; the line is short.
        budget.charge(len(line) + len(op["path"]) + 32)
        patch.append(op)
        changes.append(line)

    try:
        diff(original, modified, emit)
    except RecursionError:
        raise ValidationError(_DIFF_ERROR, "nesting too deep") from None
    return DataDiffOutput(equal=not patch, patch=patch, changes=changes)


class DataPatchInput(ToolInput):
    content: str = Field(min_length=1, description="The document (JSON or YAML).")
    patch: str = Field(min_length=1, description="The patch (same format).")
    type: Literal["json-patch", "merge-patch"] = Field(
        "json-patch", description="json-patch (RFC 6902) or merge-patch (RFC 7386)."
    )
    format: TextFormat = Field("json", description="Format of content and patch.")


class DataPatchOutput(ToolOutput):
    result: JsonValue = Field(description="The patched document.")


@tool(
    "/api/v1/data/patch",
    blocking="large",
    # Off the loop: a few hundred bytes of YAML aliases expand to a million nodes.
    estimate=always_off_loop,
    title="Apply a JSON patch",
    description="Apply an RFC 6902 JSON Patch or an RFC 7386 merge patch to a JSON or YAML "
    "document; a failure names the operation.",
    examples=(
        Example(
            {
                "content": '{"a":1,"b":[1]}',
                "patch": '[{"op":"replace","path":"/a","value":2},{"op":"add","path":"/b/-","value":3}]',
            }
        ),
        Example(
            {
                "content": '{"a":"b","c":{"d":"e","f":"g"}}',
                "patch": '{"a":"z","c":{"f":null}}',
                "type": "merge-patch",
            }
        ),
    ),
)
def data_patch(inp: DataPatchInput, ctx: ToolContext) -> DataPatchOutput:
    depth = ctx.settings.max_json_depth
    document = _load(inp.content, inp.format, "content", depth, _PATCH_ERROR)
    # RFC 6902 A.13: an operation with a member twice is an invalid patch, not "last one wins".
    patch = _load(inp.patch, inp.format, "patch", depth, _PATCH_ERROR, unique=True)
    try:
        if inp.type == "merge-patch":
            result = merge_patch(document, patch)
        else:
            result = apply_patch(document, patch, MAX_NODES)
    except PatchError as exc:
        raise ValidationError(_PATCH_ERROR, str(exc)) from None
    except DataError as exc:
        raise ValidationError(_PATCH_ERROR, str(exc)) from None
    except RecursionError:
        raise ValidationError(_PATCH_ERROR, "nesting too deep") from None
    return DataPatchOutput(result=result)
