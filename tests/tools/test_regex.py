"""text/regex: Go FindAllString semantics on RE2 (seed §2.8), flags, details and hostile input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devutils.errors import ValidationError
from devutils.registry import Registry, dump_output
from devutils.tools.regex import MAX_GROUP_CELLS, MAX_MATCHES


def run(registry: Registry, args: dict[str, Any]) -> dict[str, Any]:
    spec = registry.get("text_regex")
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, args))


MATCH_VECTORS = [
    ("baaa", "a*", "", ["", "aaa"]),  # Go drops the empty match right after "aaa"
    ("abc", "x*", "", ["", "", "", ""]),
    ("a,b,,c", "[^,]*", "", ["a", "b", "", "c"]),
    ("Contact: john@example.com", r"[\w.]+@[\w.]+", "", ["john@example.com"]),
    ("no digits", r"\d+", "", []),
    ("Hello HELLO hello", "hello", "i", ["Hello", "HELLO", "hello"]),
    ("one\ntwo", "^\\w+$", "", []),  # without m, ^ and $ are text edges
    ("one\ntwo", "^\\w+$", "m", ["one", "two"]),
    ("a\nb", "a.b", "", []),
    ("a\nb", "a.b", "s", ["a\nb"]),
    ("a\nB", "^b", "mi", ["B"]),
    ("Ünïcödé ascii", r"\w+", "", ["n", "c", "d", "ascii"]),  # \w is ASCII-only, as in Go
    ("αβγ abc", r"\p{Greek}+", "", ["αβγ"]),
    ("ab", "a|ab", "", ["a"]),  # leftmost-first, not longest
    ("x\u00a0y", r"\s", "", []),  # \s is [\t\n\f\r ]
]
MATCH_IDS = [
    "go-empty-after-match", "empty-matches", "empty-field", "email", "no-match-is-empty-list",
    "flag-i", "no-multiline-by-default", "flag-m", "dot-no-newline", "flag-s", "flags-combined",
    "ascii-word-class", "unicode-script", "leftmost-first", "ascii-space-class",
]  # fmt: skip


@pytest.mark.parametrize(("content", "pattern", "flags", "expected"), MATCH_VECTORS, ids=MATCH_IDS)
def test_matches(
    registry: Registry, content: str, pattern: str, flags: str, expected: list[str]
) -> None:
    data = run(registry, {"content": content, "pattern": pattern, "flags": flags})
    assert data["matches"] == expected
    assert data["pattern"] == pattern
    assert data["count"] == len(expected)
    assert data["truncated"] is False
    assert [detail["match"] for detail in data["details"]] == expected


def test_details_give_code_point_offsets_and_groups(registry: Registry) -> None:
    data = run(
        registry,
        {"content": "é1 x b2", "pattern": r"(?P<letter>[a-zé])(\d)?(?P<tail>z)?"},
    )
    assert data["details"] == [
        {
            "match": "é1",
            "start": 0,
            "end": 2,
            "groups": ["é", "1", None],
            "namedGroups": {"letter": "é", "tail": None},
        },
        {
            "match": "x",
            "start": 3,
            "end": 4,
            "groups": ["x", None, None],
            "namedGroups": {"letter": "x", "tail": None},
        },
        {
            "match": "b2",
            "start": 5,
            "end": 7,
            "groups": ["b", "2", None],
            "namedGroups": {"letter": "b", "tail": None},
        },
    ]


def test_match_count_is_capped(registry: Registry) -> None:
    data = run(registry, {"content": "a" * (MAX_MATCHES + 5), "pattern": "a"})
    assert data["count"] == MAX_MATCHES
    assert len(data["matches"]) == MAX_MATCHES
    assert data["truncated"] is True


def test_many_group_patterns_get_fewer_matches(registry: Registry) -> None:
    data = run(registry, {"content": "b" * 2000, "pattern": "(a?)" * 100})
    assert data["count"] == MAX_GROUP_CELLS // 101
    assert data["truncated"] is True
    assert all(len(detail["groups"]) == 100 for detail in data["details"])


def test_redos_pattern_is_linear(registry: Registry) -> None:
    # Catastrophic for a backtracking engine; RE2 answers at once (no match: the text ends in b).
    data = run(registry, {"content": "a" * 100_000 + "b", "pattern": "(a+)+$"})
    assert data["matches"] == []
    data = run(registry, {"content": "a" * 100_000 + "!", "pattern": "(a|aa)+!"})
    assert data["matches"] == ["a" * 100_000 + "!"]


COMPILE_ERRORS = [
    ("[invalid", "missing closing ]: `[invalid`"),
    ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"),
    ("(?<!a)b", "invalid or unsupported Perl syntax: `(?<!`"),
    (r"(a)\1", "invalid escape sequence: `\\1`"),
    (
        "a{1001}",
        "invalid repeat count: `{1001}` (repeat count 1001 exceeds RE2's maximum of 1000)",
    ),
    ("a)", "unexpected ): `a)`"),
    ("(a", "missing closing ): `(a`"),
    ("a**", "invalid nested repetition operator: `**`"),
    ("*a", "missing argument to repetition operator: `*`"),
    ("[z-a]", "invalid character class range: `z-a`"),
    (r"\C", "invalid escape sequence: `\\C`"),  # RE2's any byte; Go has no such escape
    (r"a\Q\C\E\C", "invalid escape sequence: `\\C`"),  # the second one, after \Q...\E
    (r"\Q\\E\C", "invalid escape sequence: `\\C`"),  # \Q...\E ends at the first \E
    (r"[\C]", "invalid escape sequence: `\\C`"),
]
COMPILE_IDS = [
    "missing-bracket", "lookahead", "lookbehind", "backreference", "repeat-count",
    "unexpected-paren", "missing-paren", "nested-repeat", "repeat-no-argument", "bad-range",
    "any-byte", "any-byte-after-quote", "quote-ends-at-first-e", "any-byte-in-class",
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "reason"), COMPILE_ERRORS, ids=COMPILE_IDS)
async def test_compile_errors_read_like_go(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str], pattern: str, reason: str
) -> None:
    response = await client.post(
        "/api/v1/text/regex", json={"content": "abc", "pattern": pattern, "flags": "i"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == "Regex test failed"
    assert error["details"] == f"invalid regex pattern: error parsing regexp: {reason}"
    # RE2 logs rejected patterns to stderr unless told not to.
    assert pattern not in capfd.readouterr().err


@pytest.mark.parametrize("action", ["match", "replace", "split"])
def test_any_byte_escape_is_refused_by_every_action(registry: Registry, action: str) -> None:
    # RE2 accepted it and matched half of "é": offsets past the text, split and replace pieces cut
    # inside a character.
    with pytest.raises(ValidationError) as caught:
        run(registry, {"content": "é", "pattern": r"(\C)", "action": action})
    assert caught.value.details == (
        "invalid regex pattern: error parsing regexp: invalid escape sequence: `\\C`"
    )


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        (r"\\C", ["\\C"]),  # a backslash, then C
        (r"\Q\C\E", ["\\C"]),  # literal text
        (r"\Q.\C", [".\\C"]),  # \Q without \E runs to the end
        (r"\pC", []),  # the Unicode class C (other), not an escape C
    ],
)
def test_backslash_c_that_is_not_the_escape_still_works(
    registry: Registry, pattern: str, matches: list[str]
) -> None:
    assert run(registry, {"content": "x\\E.\\C é", "pattern": pattern})["matches"] == matches


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        ({"content": "x"}, "pattern"),
        ({"content": "x", "pattern": ""}, "pattern"),
        ({"content": "x", "pattern": "a" * 1001}, "pattern"),
        ({"content": "x", "pattern": "a", "flags": "g"}, "unknown flag"),
        ({"content": "x", "pattern": "a", "flags": "ix"}, "unknown flag"),
        ({"content": 1, "pattern": "a"}, "content"),
    ],
    ids=["missing", "empty", "too-long", "js-flag-g", "unknown-flag", "content-type"],
)
async def test_request_errors(
    client: httpx.AsyncClient, body: dict[str, Any], detail_part: str
) -> None:
    response = await client.post("/api/v1/text/regex", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    missing = detail_part not in body and detail_part in ("content", "pattern")
    assert error["message"] == (
        f'field "{detail_part}" is required' if missing else "Invalid request"
    )
    assert detail_part in error["details"]


async def test_success_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/text/regex", json={"content": "a1b22", "pattern": r"\d+"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["matches"] == ["1", "22"]
    assert [(d["start"], d["end"]) for d in data["details"]] == [(1, 2), (3, 5)]


def test_pattern_of_1000_chars_is_accepted(registry: Registry) -> None:
    data = run(registry, {"content": "a" * 1000, "pattern": "a" * 1000})
    assert data["matches"] == ["a" * 1000]


REPEAT_LIMITS = [
    ("a{1001}", "{1001}", "1001"),
    ("a{4294967295}", "{4294967295}", "4294967295"),
    ("a{2,1001}", "{2,1001}", "1001"),
    ("a{1001,}", "{1001,}", "1001"),
    ("(ab){99999999999}", "{99999999999}", "99999999999"),
    (r"\p{Greek}{5000}", "{5000}", "5000"),
    ("[[:digit:]]{1001}", "{1001}", "1001"),
]


@pytest.mark.parametrize(
    ("pattern", "operator", "count"), REPEAT_LIMITS, ids=[case[0] for case in REPEAT_LIMITS]
)
async def test_repeat_counts_over_1000_are_refused(
    client: httpx.AsyncClient, pattern: str, operator: str, count: str
) -> None:
    response = await client.post("/api/v1/text/regex", json={"content": "a", "pattern": pattern})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Regex test failed",
        "details": "invalid regex pattern: error parsing regexp: invalid repeat count: "
        f"`{operator}` (repeat count {count} exceeds RE2's maximum of 1000)",
    }


LITERAL_BRACES = [
    (r"a\{1001}", "a{1001}", ["a{1001}"]),
    ("[{1001}]", "{", ["{"]),
    ("[]{1001}]", "}", ["}"]),
    (r"\Q{4294967295}\E", "{4294967295}", ["{4294967295}"]),
    (r"\x{41}", "A", ["A"]),
    ("a{1000}", "a" * 1000, ["a" * 1000]),
    ("a{,1001}", "a{,1001}", ["a{,1001}"]),
    ("a{01001}", "a{01001}", ["a{01001}"]),
]


@pytest.mark.parametrize(
    ("pattern", "content", "matches"), LITERAL_BRACES, ids=[case[0] for case in LITERAL_BRACES]
)
def test_braces_that_are_not_repeats_still_work(
    registry: Registry, pattern: str, content: str, matches: list[str]
) -> None:
    assert run(registry, {"content": content, "pattern": pattern})["matches"] == matches


# replace and split: the examples of Go's regexp documentation (ReplaceAllString, Split).


@pytest.mark.parametrize(
    ("pattern", "content", "replacement", "expected"),
    [
        (r"a(x*)b", "-ab-axxb-", "T", "-T-T-"),
        (r"a(x*)b", "-ab-axxb-", "$1", "--xx-"),
        (r"a(x*)b", "-ab-axxb-", "$1W", "---"),  # $1W is ${1W}: no such group
        (r"a(x*)b", "-ab-axxb-", "${1}W", "-W-xxW-"),
        (r"a(?P<W>x*)b", "-ab-axxb-", "$W-${W}", "---xx-xx-"),
        (r"a(x*)b", "-ab-axxb-", "$$1", "-$1-$1-"),
        (r"a(x*)b", "-ab-axxb-", "$", "-$-$-"),  # a lone $ stays
        (r"x*", "abc", "-", "-a-b-c-"),
        (r"(\w+)@(\w+)", "me@host", "${2}:$9:${nope}", "host::"),
        # Go's extract: ASCII digits without a leading zero number a group, anything else names one
        (r"(a)", "a", "<$01>", "<>"),
        (r"(a)", "a", "<${01}>", "<>"),
        (r"(?P<01>a)", "a", "<$01>", "<a>"),
        (r"(a)", "ab", "[$\u0661]", "[]b"),  # Arabic-Indic one: a digit of a name, not 1
        (r"(a)", "a", "\u2039$1\u00b2>", "\u2039a\u00b2>"),  # ² (No) is not part of a name
        (r"(?P<5>a)", "a", "<$5|$1>", "<|a>"),  # $5 is group five, never the group named 5
        (r"(?P<123456789>a)", "a", "<$123456789>", "<>"),  # nine digits: a number
        (r"(?P<1234567890>a)", "a", "<$1234567890>", "<a>"),  # ten: a name
    ],
)
def test_replace_like_go(
    registry: Registry, pattern: str, content: str, replacement: str, expected: str
) -> None:
    out = run(
        registry,
        {"content": content, "pattern": pattern, "action": "replace", "replacement": replacement},
    )
    assert out["result"] == expected
    assert "matches" not in out
    assert "details" not in out


def test_replace_limit(registry: Registry) -> None:
    args = {"content": "aaaa", "pattern": "a", "action": "replace", "replacement": "b"}
    out = run(registry, {**args, "limit": 3})
    assert (out["result"], out["count"], out["truncated"]) == ("bbba", 3, False)
    assert run(registry, args)["count"] == 4


@pytest.mark.parametrize(
    ("pattern", "content", "limit", "expected"),
    [
        ("a", "banana", 0, ["b", "n", "n", ""]),
        ("a", "grape", 1, ["grape"]),
        ("a", "papaya", 2, ["p", "paya"]),
        ("z+", "pizza", 0, ["pi", "a"]),
        ("z+", "pizza", 1, ["pizza"]),
        ("z+", "pizza", 2, ["pi", "a"]),
        ("a*", "abaabaccadaaae", 5, ["", "b", "b", "c", "cadaaae"]),
        (",", "", 0, [""]),
    ],
)
def test_split_like_go(
    registry: Registry, pattern: str, content: str, limit: int, expected: list[str]
) -> None:
    out = run(registry, {"content": content, "pattern": pattern, "action": "split", "limit": limit})
    assert out["parts"] == expected
    assert out["count"] == len(expected)


def test_split_and_replace_stop_at_the_match_cap(registry: Registry) -> None:
    content = "a" * (MAX_MATCHES + 5)
    split = run(registry, {"content": content, "pattern": "a", "action": "split"})
    assert split["truncated"] is True
    assert len(split["parts"]) == MAX_MATCHES + 1
    replaced = run(
        registry, {"content": content, "pattern": "a", "action": "replace", "replacement": "b"}
    )
    assert replaced["truncated"] is True
    assert replaced["result"] == "b" * MAX_MATCHES + "a" * 5


async def test_replace_output_is_capped_while_produced(client: httpx.AsyncClient) -> None:
    # 10 000 matches, each replaced by 1000 characters: 10 MB out of a 12 KB request.
    body = {"content": "a" * 10_000, "pattern": "a", "action": "replace", "replacement": "x" * 1000}
    response = await client.post("/api/v1/text/regex", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "REQUEST_TOO_LARGE"
