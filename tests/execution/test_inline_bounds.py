"""Bounded execution: a call the registry runs on the event loop (estimate <= INLINE_MAX_WORK)
must stay near a millisecond, so every estimate bounds its tool's real cost and a composite's
inline steps share one budget.  Each case is an input that once ran seconds on the loop.

Placement is asserted through the estimate or the pool that ran the call, not by timing; the two
regex rewrites (no placement decides their cost) are checked against the old patterns on many
generated strings, and against an input the old ones took seconds on, with a bound thousands of
times above what they now take.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

import pytest
import regex

from devutils.errors import RequestTooLargeError, ToolTimeoutError
from devutils.registry import (
    CallInfo,
    InlineBudget,
    Registry,
    ToolContext,
    catalogue,
    dump_output,
)
from devutils.tools._gofloat import parse_go_float
from tests.conftest import FIXED_NOW, make_settings

# The inputs that ran seconds each on the loop (execution model, docs/architecture.md).
REGEX_HUNT = {"content": "a" * 3000, "pattern": "|", "action": "replace", "replacement": "$0" * 500}
PUNCTUATION_RUN = "x" + "!" * 8190 + "x"
NUMERIC_LINE = "1" * 8181 + "x"


def _diff_hunt() -> dict[str, Any]:
    old = "".join(chr(0x2200 + i % 100) for i in range(4094))
    new = "".join(chr(0x2200 + (i * 7) % 100) for i in range(4094))
    return {"original": old, "modified": new, "mode": "word"}


def estimate(registry: Registry, name: str, args: dict[str, Any]) -> int:
    spec = registry.get(name)
    assert spec is not None
    assert spec.estimate is not None, f"{name} has no work estimate"
    return spec.estimate(registry.parse(spec, args))


def inline(registry: Registry, name: str, args: dict[str, Any]) -> bool:
    return estimate(registry, name, args) <= registry.context.settings.inline_max_work


# --- 1. text/regex replace: template references x possible matches --------------------------


@pytest.mark.parametrize(
    "args",
    [
        REGEX_HUNT,
        {"content": "a" * 8190, "pattern": "|", "action": "replace", "replacement": "${0}" * 250},
        {"content": "a" * 2000, "pattern": "a", "action": "replace", "replacement": "<$0>"},
    ],
    ids=["hunt", "braced-8k", "one-ref-per-char"],
)
def test_a_replace_expanding_references_at_every_match_leaves_the_loop(
    registry: Registry, args: dict[str, Any]
) -> None:
    assert not inline(registry, "text_regex", args)


@pytest.mark.parametrize(
    ("args", "stays"),
    [
        (
            {
                "content": "2024-01-31",
                "pattern": r"(\d+)-(\d+)-(\d+)",
                "action": "replace",
                "replacement": "$3/$2/$1",
            },
            True,
        ),
        # No reference, no expansion: each possible match still costs its match object.
        ({"content": "a" * 100, "pattern": "a", "action": "replace", "replacement": "b"}, True),
        ({"content": "a" * 8000, "pattern": "a", "action": "replace", "replacement": "b"}, False),
        # limit caps the matches, hence the expansions.
        (
            {
                "content": "a" * 3000,
                "pattern": "|",
                "action": "replace",
                "replacement": "$0" * 20,
                "limit": 5,
            },
            True,
        ),
        (
            {"content": "a" * 3000, "pattern": "|", "action": "replace", "replacement": "$0" * 20},
            False,
        ),
        # Match and split expand nothing: the template is not theirs; their matches count.
        ({"content": "a" * 100, "pattern": "|", "replacement": "$0" * 500}, True),
        ({"content": "a" * 3000, "pattern": "|"}, False),
        ({"content": "a" * 3000, "pattern": "|", "action": "split"}, False),
    ],
    ids=["small-date", "no-reference", "no-reference-8k", "limit", "no-limit",
         "match-ignores-template", "match-3k", "split-3k"],
)  # fmt: skip
def test_the_regex_estimate_counts_expansions_only_where_they_happen(
    registry: Registry, args: dict[str, Any], stays: bool
) -> None:
    assert inline(registry, "text_regex", args) is stays


def test_empty_matches_are_charged_for_the_text_they_insert() -> None:
    """2001 empty matches each inserting "xyz" are 6 KB of output: past a 4 KiB cap."""
    registry = Registry(catalogue(), ToolContext(make_settings(max_output_bytes=4096)))
    spec = registry.get("text_regex")
    assert spec is not None
    args = {"content": "a" * 2000, "pattern": "|", "action": "replace", "replacement": "xyz"}
    try:
        with pytest.raises(RequestTooLargeError):
            registry.invoke_sync(spec, args)
    finally:
        registry.close()


# --- 2. pipeline: one inline budget and one deadline for all the steps ------------------------


def test_the_inline_budget_is_spent_once() -> None:
    budget = InlineBudget(8192)
    assert budget.take(8192)
    assert not budget.take(1)  # spent: the next step goes to its pool
    assert budget.take(0)


async def test_steps_share_one_inline_budget(registry: Registry) -> None:
    """Two steps that each fit INLINE_MAX_WORK alone do not both run on the loop: the second
    runs in the cpu pool (which had no process before)."""
    spec = registry.get("pipeline")
    assert spec is not None
    args = {"content": PUNCTUATION_RUN}
    step = {"tool": "text_info", "args": args}
    assert inline(registry, "text_info", args)
    pool = registry.executors.pool("cpu")
    assert pool.pids() == []
    await registry.invoke(spec, {"steps": [step, step]}, CallInfo(frontend="rest"))
    assert len(pool.pids()) == 1


def test_cli_steps_share_one_inline_budget(registry: Registry) -> None:
    spec = registry.get("pipeline")
    assert spec is not None
    step = {"tool": "text_info", "args": {"content": PUNCTUATION_RUN}}
    registry.invoke_sync(spec, {"steps": [step, step]})
    assert len(registry.executors.pool("cpu").pids()) == 1


async def test_no_step_starts_after_the_deadline() -> None:
    """Inline steps never yield, so the composite's timeout cannot fire between them: the
    deadline (here passed before the first step) is checked before each step starts."""
    registry = Registry(
        catalogue(), ToolContext(make_settings(tool_timeout=1e-6), clock=lambda: FIXED_NOW)
    )
    spec = registry.get("pipeline")
    assert spec is not None
    steps = [{"tool": "crypto_hash", "args": {"content": "a", "algorithm": "md5"}}]
    try:
        with pytest.raises(ToolTimeoutError) as caught:
            await registry.invoke(spec, {"steps": steps}, CallInfo(frontend="rest"))
    finally:
        registry.close()
    assert caught.value.status == 504
    assert caught.value.details == "the steps did not finish within 1e-06 s"


# --- 3. numeric sort's Go float syntax: linear patterns, same language ------------------------

# The patterns before the rewrite, kept as literals: the new ones must accept exactly the same.
OLD_DECIMAL = re.compile(r"[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?")
OLD_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+")
OLD_SPECIAL = re.compile(r"([+-]?)(?i:inf|infinity)|(?i:nan)")


def _old_accepts(text: str) -> bool:
    """Whether the old syntax check let ``text`` through to float parsing."""
    return bool(
        OLD_SPECIAL.fullmatch(text) or OLD_HEX.fullmatch(text) or OLD_DECIMAL.fullmatch(text)
    )


def _float_like(rng: random.Random) -> str:
    pieces = ["", "+", "-", "0x", "0X", "1", "9", "0", "_", ".", "e", "E", "p", "P", "a", "f"]
    pieces += ["F", "x", " ", "inf", "nan", "1_0", "__", "e+", "p-", "٣"]
    return "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 9)))


def test_the_go_float_syntax_accepts_what_it_accepted() -> None:
    """On 100 000 generated strings the new patterns decide as the old ones did: a refused
    syntax gives None, an accepted one a value or None (overflow, misplaced underscores) from
    the same float parsing, so acceptance by the patterns is compared directly."""
    from devutils.tools import _gofloat

    rng = random.Random(20240131)
    for _ in range(100_000):
        text = _float_like(rng)
        new = bool(
            _gofloat._SPECIAL.fullmatch(text)
            or _gofloat._HEX.fullmatch(text)
            or _gofloat._DECIMAL.fullmatch(text)
        )
        assert new is _old_accepts(text), text
        if not new:
            assert parse_go_float(text) is None, text


@pytest.mark.parametrize(
    "line", [NUMERIC_LINE, "0x" + "f" * 8000 + "x", "1." + "1" * 8000 + "x"], ids=str.__len__
)
def test_a_long_line_that_is_no_number_is_refused_in_linear_time(line: str) -> None:
    """8000 digits then an "x": 2.3 s with the old patterns, ~0.05 ms now."""
    started = time.perf_counter()
    assert parse_go_float(line) is None
    assert time.perf_counter() - started < 0.25


# --- 4. text/diff: difflib's worst case in the estimate ---------------------------------------


def test_a_word_diff_of_popular_symbols_leaves_the_loop(registry: Registry) -> None:
    """4094 symbols a side, each of 100 values 41 times (under difflib's autojunk threshold):
    2 s of matching under the old default estimate (its 8188 characters)."""
    assert not inline(registry, "text_diff", _diff_hunt())


@pytest.mark.parametrize(
    ("args", "stays"),
    [
        ({"original": "a\nb\nc\n", "modified": "a\nB\nc\nd\n"}, True),
        (
            {"original": "the quick brown fox", "modified": "the slow brown dog", "mode": "word"},
            True,
        ),
        # 100 x 100 lines: 10 000 pairs of lines for the matcher.
        ({"original": "x\n" * 100, "modified": "y\n" * 100}, False),
        ({"original": "x" * 100, "modified": "y" * 100, "mode": "word"}, False),
        # One side empty: no pairs, the text alone.
        ({"original": "x" * 8000, "modified": "", "mode": "word"}, True),
    ],
    ids=["example", "word-example", "lines", "words", "one-side"],
)
def test_the_diff_estimate_follows_token_pairs(
    registry: Registry, args: dict[str, Any], stays: bool
) -> None:
    assert inline(registry, "text_diff", args) is stays


# --- 5. text/info: edge punctuation stripped in linear time -----------------------------------

OLD_EDGE_PUNCTUATION = regex.compile(r"^\p{P}+|\p{P}+$")


def test_edge_punctuation_is_stripped_as_before() -> None:
    from devutils.tools import text

    rng = random.Random(7)
    alphabet = "ab!.,(-\n \u00bfx\u2014'\u3002"
    for _ in range(100_000):
        word = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10)))
        assert text._strip_edge_punctuation(word) == OLD_EDGE_PUNCTUATION.sub("", word), word


def test_text_info_on_a_long_punctuation_run_is_linear(registry: Registry) -> None:
    """Two 8 KiB punctuation runs: ~2.5 s with the old pattern, a few ms now."""
    spec = registry.get("text_info")
    assert spec is not None
    content = "x" + "!" * 16380 + "x " + "?" * 16380 + "y"
    parsed = registry.parse(spec, {"content": content})
    started = time.perf_counter()  # the tool itself, here: 32 KiB would run in a pool process
    out = spec.func(parsed, registry.context)
    assert time.perf_counter() - started < 0.25
    assert dump_output(out)["uniqueWordCount"] == 2  # "x!!!x" and "y"
