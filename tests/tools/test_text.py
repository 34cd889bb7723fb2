"""text/case, text/info and text/sort: reference behaviour (seed §2.6, §2.7, §2.9) plus D5."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
import regex

from devutils.registry import Registry, dump_output
from devutils.tools._casing import _title_char, capitalise, go_lower, go_upper, split_words
from devutils.tools._gofloat import parse_go_float
from devutils.tools.text import grapheme_count

_WHOLE_TEXT_GRAPHEMES = regex.compile(r"\X")  # what text/info counted before: quadratic on flags


def run(registry: Registry, name: str, args: dict[str, Any]) -> dict[str, Any]:
    spec = registry.get(name)
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, args))


# ---------------------------------------------------------------------------------------------
# text/case

CASE_VECTORS = [
    # reference behaviour for ASCII input
    ("hello world", "UPPERCASE", "HELLO WORLD"),
    ("Hello World", "lowercase", "hello world"),
    ("hello, world!", "Title Case", "Hello World"),
    ("first. second!", "Sentence case", "First. second!"),
    ("  42 is the answer. NEXT", "Sentence case", "  42 Is the answer. next"),
    ("hello world", "camelCase", "helloWorld"),
    ("hello world", "PascalCase", "HelloWorld"),
    ("Hello World", "snake_case", "hello_world"),
    ("Hello World", "kebab-case", "hello-world"),
    (
        "a-b_c.d,e;f:g!h?i(j)k[l]m{n}o@p#q$r%s^t&u*v+w=x<y>z/a\\b|c~d`e",
        "kebab-case",
        "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-a-b-c-d-e",
    ),
    ('don\'t "stop"', "snake_case", 'don\'t_"stop"'),
    ("", "camelCase", ""),
    ("  --  ", "PascalCase", ""),
    # D5: humps and letter/digit boundaries split words
    ("helloWorld", "snake_case", "hello_world"),
    ("HTTPServer", "snake_case", "http_server"),
    ("parseHTTPResponse", "kebab-case", "parse-http-response"),
    ("XMLHttpRequest", "camelCase", "xmlHttpRequest"),
    ("version2Beta", "snake_case", "version_2_beta"),
    ("getUserByID", "PascalCase", "GetUserById"),
    ("HTTPServer error", "CONSTANT_CASE", "HTTP_SERVER_ERROR"),
    ("some value", "dot.case", "some.value"),
    # D5: Unicode-correct capitalisation (the reference corrupts these)
    ("élan vital", "Title Case", "Élan Vital"),
    ("élan vital", "PascalCase", "ÉlanVital"),
    ("über cool", "camelCase", "überCool"),
    ("ǆungla", "Title Case", "ǅungla"),  # title-case digraph, not upper-case
    ("ΣΑΣ", "lowercase", "σασ"),  # Go: no final-sigma rule
    # Go's simple case mapping: length-changing mappings keep the character
    ("straße", "UPPERCASE", "STRAßE"),
    ("ﬁne", "UPPERCASE", "ﬁNE"),
    ("İstanbul", "lowercase", "istanbul"),
    ("ᾳ", "UPPERCASE", "ᾼ"),
    ("ŉ", "UPPERCASE", "ŉ"),
]
CASE_IDS = [
    "upper", "lower", "title-drops-punctuation", "sentence", "sentence-first-letter-anywhere",
    "camel", "pascal", "snake", "kebab", "every-separator", "quotes-not-separators", "empty",
    "separators-only", "hump", "acronym-then-word", "acronym-inside", "leading-acronym",
    "letter-digit", "trailing-acronym", "constant", "dot", "title-non-ascii", "pascal-non-ascii",
    "camel-non-ascii", "titlecase-digraph", "no-final-sigma", "sharp-s-upper", "ligature-upper",
    "dotted-capital-i", "iota-subscript", "n-apostrophe",
]  # fmt: skip


@pytest.mark.parametrize(("content", "case_type", "expected"), CASE_VECTORS, ids=CASE_IDS)
def test_case_known_answers(
    registry: Registry, content: str, case_type: str, expected: str
) -> None:
    data = run(registry, "text_case", {"content": content, "caseType": case_type})
    assert data == {"result": expected, "caseType": case_type}


@pytest.mark.parametrize(
    ("content", "case_type", "expected"),
    [
        ("hello world", "path/case", "hello/world"),
        ("XMLHttpRequest", "path/case", "xml/http/request"),
        ("hello world", "Train-Case", "Hello-World"),
        ("user_id", "Train-Case", "User-Id"),
        ("the lord of the rings", "Headline Case", "The Lord of the Rings"),
        ("a tale of two cities", "Headline Case", "A Tale of Two Cities"),
        ("what are you waiting for", "Headline Case", "What Are You Waiting For"),
        ("GONE WITH THE WIND", "Headline Case", "Gone With the Wind"),
        ("of", "Headline Case", "Of"),
        ("", "Headline Case", ""),
    ],
)
def test_new_case_styles(registry: Registry, content: str, case_type: str, expected: str) -> None:
    assert run(registry, "text_case", {"content": content, "caseType": case_type})["result"] == (
        expected
    )


async def test_case_over_rest_accepts_snake_case_field_names(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/text/case", json={"content": "hello_world", "case_type": "camelCase"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"result": "helloWorld", "caseType": "camelCase"}


@pytest.mark.parametrize(
    "body",
    [
        {"content": "x"},
        {"content": "x", "caseType": "camel"},
        {"content": 5, "caseType": "UPPERCASE"},
    ],
    ids=["missing-case-type", "mcp-short-name", "content-not-string"],
)
async def test_case_errors(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/text/case", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    message = 'field "caseType" is required' if "caseType" not in body else "Invalid request"
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", message)


def test_case_mapping_never_changes_length() -> None:
    sample = "".join(chr(code) for code in range(0x20, 0x2000) if chr(code).isprintable())
    assert len(go_upper(sample)) == len(sample)
    assert len(go_lower(sample)) == len(sample)


def test_ascii_capitalise_shortcut_equals_the_per_code_point_mapping() -> None:
    words = ["a", "Z", "hELLO", "HTTP", "9lives", "x_y", "'quoted", "MiXeD123aBc", "~"]
    words += [
        "".join(chr(32 + (i * 7 + j * 13) % 95) for j in range(i % 9 + 1)) for i in range(500)
    ]
    for word in words:
        assert capitalise(word) == _title_char(word[0]) + go_lower(word[1:]), word
    assert capitalise("") == ""
    assert capitalise("\u01c6a") == "\u01c5a"  # non-ASCII keeps the title-case mapping: dž → ǅ


def test_nbsp_inside_a_piece_is_kept_but_edges_are_trimmed() -> None:
    assert split_words("\u00a0foo\u00a0bar\u00a0 baz") == ["foo\u00a0bar", "baz"]


# ---------------------------------------------------------------------------------------------
# text/info

INFO_VECTORS = [
    # the documented example's ACTUAL numbers (docs claim 25/5/2/2/25)
    ("Hello world!\nThis is a test.", (28, 6, 2, 2, 28)),
    ("", (0, 0, 0, 0, 0)),
    ("   \n\t  ", (7, 0, 2, 0, 7)),
    ("no punctuation here", (19, 3, 1, 1, 19)),
    ("Wait... what?! Yes.", (19, 3, 1, 3, 19)),
    ("3.14 is pi", (10, 3, 1, 1, 10)),
    ("line\n", (5, 1, 2, 1, 5)),
    ("a\u00a0b c", (5, 2, 1, 1, 6)),  # NBSP does not separate words
    ("a\vb", (3, 1, 1, 1, 3)),  # neither does \v
    ("Grüße, 世界!", (10, 2, 1, 1, 16)),
    ("Hi!\u00a0Bye.", (8, 1, 1, 1, 9)),  # '!' before NBSP is not a sentence end
]
INFO_IDS = [
    "documented-example", "empty", "blank-lines", "no-terminator-counts-one", "ellipsis",
    "decimal-point", "trailing-newline", "nbsp", "vertical-tab", "utf8", "nbsp-after-bang",
]  # fmt: skip


@pytest.mark.parametrize(("content", "expected"), INFO_VECTORS, ids=INFO_IDS)
def test_info_known_answers(
    registry: Registry, content: str, expected: tuple[int, int, int, int, int]
) -> None:
    data = run(registry, "text_info", {"content": content})
    keys = ("characterCount", "wordCount", "lineCount", "sentenceCount", "byteSize")
    assert tuple(data[key] for key in keys) == expected
    assert set(data) == {*keys, "uniqueWordCount", "graphemeCount", "encodedSizes"}


# (text, distinct words, grapheme clusters, utf-8/16/32 bytes)
INFO_EXTRA_VECTORS = [
    ("", 0, 0, (0, 0, 0)),
    ("Hello, hello HELLO world!", 2, 25, (25, 50, 100)),
    ("(it's) it's its", 2, 15, (15, 30, 60)),  # inner apostrophes are part of the word
    ("e\u0301", 1, 1, (3, 4, 8)),  # e + combining acute: one grapheme, two code points
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467", 1, 1, (18, 16, 20)),  # ZWJ family
    ("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 1, 2, (16, 16, 16)),  # two flags
    ("\r\n", 0, 1, (2, 4, 8)),  # CR LF is one grapheme (GB3)
    ("Straße STRASSE", 1, 14, (15, 28, 56)),  # casefold: ß equals ss
    ("\u201cHello\u201d \u00abhello\u00bb", 1, 15, (21, 30, 60)),  # any Unicode punctuation
]


@pytest.mark.parametrize(
    ("content", "distinct", "graphemes", "sizes"),
    INFO_EXTRA_VECTORS,
    ids=["empty", "case", "apostrophe", "combining", "zwj", "flags", "crlf", "casefold", "quotes"],
)
def test_info_distinct_words_graphemes_and_encodings(
    registry: Registry, content: str, distinct: int, graphemes: int, sizes: tuple[int, int, int]
) -> None:
    data = run(registry, "text_info", {"content": content})
    assert data["uniqueWordCount"] == distinct
    assert data["graphemeCount"] == graphemes
    assert data["encodedSizes"] == dict(zip(("utf-8", "utf-16", "utf-32"), sizes, strict=True))
    assert data["byteSize"] == sizes[0]


# Runs of regional indicators are counted in pieces cut between their pairs: the counts must be
# those of \X over the whole text.  (text, grapheme clusters)
RI = "\U0001f1e6"
RI_RUN_VECTORS = [
    (RI * 3, 2),
    (RI * 4, 2),
    (RI * 5, 3),
    ("a" + RI * 7 + "b", 6),  # a, three flags, a lone indicator, b
    ("\u0600" + RI * 4, 2),  # a Prepend joins the first pair (GB9b)
    (RI * 5 + "\u0301", 3),  # an Extend joins the last, lone indicator (GB9)
    (RI * 6 + "\u200d\U0001f468", 4),  # ZWJ joins the last pair; no emoji before it (GB11)
    ("\U0001f44b\U0001f3fd" + RI * 3 + "\U0001f44b\U0001f3fd", 4),  # skin tones around
    (RI * 3 + "\u200d" + RI * 3, 4),  # a ZWJ restarts the pairing
    ("\r\n" + RI * 4 + "\r\n", 4),
    (RI * 3 + "x" + RI * 4 + "y" + RI, 7),
]
RI_RUN_IDS = [
    "3", "4", "5", "text-around", "prepend", "extend", "zwj", "skin-tones", "zwj-between", "crlf",
    "several-runs",
]  # fmt: skip


@pytest.mark.parametrize(("content", "graphemes"), RI_RUN_VECTORS, ids=RI_RUN_IDS)
def test_grapheme_count_of_flag_runs(registry: Registry, content: str, graphemes: int) -> None:
    assert len(_WHOLE_TEXT_GRAPHEMES.findall(content)) == graphemes
    assert run(registry, "text_info", {"content": content})["graphemeCount"] == graphemes


def test_grapheme_count_equals_x_over_the_whole_text() -> None:
    # Random short texts of the characters whose rules meet the pairing: regional indicators,
    # Extend, ZWJ, skin tones, emoji, Prepend, SpacingMark, controls, Hangul, Indic conjuncts.
    alphabet = [RI, "\U0001f1ff", "\u0301", "\u200d", "\U0001f3fd", "\U0001f468", "\u0600"]
    alphabet += ["\u0903", "\r", "\n", "a", "\u1100", "\u1161", "\u0915", "\u094d"]
    weights = [6, 6] + [1] * (len(alphabet) - 2)
    rng = random.Random(29)
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, weights, k=rng.randrange(25)))
        assert grapheme_count(text) == len(_WHOLE_TEXT_GRAPHEMES.findall(text)), ascii(text)


async def test_info_counts_a_long_run_of_flag_indicators(client: httpx.AsyncClient) -> None:
    # 384 KB: \X over the whole run was quadratic and the call ran into TOOL_TIMEOUT (504).
    response = await client.post("/api/v1/text/info", json={"content": RI * 96_000 + "!"})
    assert response.status_code == 200
    assert response.json()["data"]["graphemeCount"] == 48_001


async def test_info_over_rest_and_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/text/info", json={})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == 'field "content" is required'
    response = await client.post("/api/v1/text/info", json={"content": ""})
    assert response.json() == {
        "success": True,
        "data": {
            "characterCount": 0,
            "wordCount": 0,
            "lineCount": 0,
            "sentenceCount": 0,
            "byteSize": 0,
            "uniqueWordCount": 0,
            "graphemeCount": 0,
            "encodedSizes": {"utf-8": 0, "utf-16": 0, "utf-32": 0},
        },
    }
    response = await client.post("/api/v1/text/info", json={"content": ["a"]})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid request"


# ---------------------------------------------------------------------------------------------
# text/sort

SORT_VECTORS = [
    ("banana\napple\nCherry", "asc", "alpha", "Cherry\napple\nbanana"),
    ("banana\napple\nCherry", "desc", "alpha", "banana\napple\nCherry"),
    ("b\na\n", "asc", "alpha", "\na\nb"),  # the trailing newline's empty line takes part
    ("   \n  ", "asc", "alpha", "   \n  "),  # blank content comes back unchanged
    ("10\n9\n1e1\nabc\n-2", "asc", "numeric", "-2\n9\n10\n1e1\nabc"),  # 10 and 1e1 tie: stable
    ("10\n9\n1e1\nabc\n-2", "desc", "numeric", "10\n1e1\n9\n-2\nabc"),
    ("b\n2\na\n1", "desc", "numeric", "2\n1\nb\na"),  # non-numbers after, reverse text order
    (" 3 \n+5\n.5\n0x1p-1\nInf\n-Infinity", "asc", "numeric", "-Infinity\n.5\n0x1p-1\n 3 \n+5\nInf"),
    ("NaN\n1\nInf\n-1", "asc", "numeric", "-1\n1\nInf\nNaN"),
    ("NaN\n1\nInf\n-1", "desc", "numeric", "NaN\nInf\n1\n-1"),
    ("1e400\n1\n0x1", "asc", "numeric", "1\n0x1\n1e400"),  # overflow and 0x1 are not numbers
    ("1.10.0\n1.9.0\n1.2.0", "asc", "numeric", "1.10.0\n1.2.0\n1.9.0"),  # versions are text
    ("1.10.0\n1.9.0\n1.2.0", "asc", "natural", "1.2.0\n1.9.0\n1.10.0"),
    ("1.10.0\n1.9.0\n1.2.0", "desc", "natural", "1.10.0\n1.9.0\n1.2.0"),
    ("file10\nfile2\nfile1\nfile", "asc", "natural", "file\nfile1\nfile2\nfile10"),
    ("a01\na1\na001", "asc", "natural", "a1\na01\na001"),
    # Zeros break a tie only: 9 before 10 whatever the padding before them (sort -V).
    ("v1.10\nv01.9\nv01.10\nv1.9", "asc", "natural", "v1.9\nv01.9\nv1.10\nv01.10"),
    ("2024-1-10 deploy\n2024-01-9 deploy", "asc", "natural", "2024-01-9 deploy\n2024-1-10 deploy"),
    ("x" + "9" * 5000 + "\nx" + "1" + "0" * 5000, "asc", "natural",
     "x" + "9" * 5000 + "\nx" + "1" + "0" * 5000),
]  # fmt: skip
SORT_IDS = [
    "alpha-asc-code-points", "alpha-desc", "trailing-newline", "blank-unchanged",
    "numeric-stable-tie", "numeric-desc-stable-tie", "numeric-desc-text-reversed",
    "go-parsefloat-forms", "nan-last-asc", "nan-first-desc", "overflow-is-text",
    "versions-not-numeric", "natural-versions", "natural-desc", "natural-prefix",
    "natural-leading-zeros", "natural-zeros-only-break-ties", "natural-dates",
    "natural-huge-runs",
]  # fmt: skip


@pytest.mark.parametrize(("content", "order", "sort_type", "expected"), SORT_VECTORS, ids=SORT_IDS)
def test_sort_known_answers(
    registry: Registry, content: str, order: str, sort_type: str, expected: str
) -> None:
    data = run(registry, "text_sort", {"content": content, "order": order, "sortType": sort_type})
    assert data == {"result": expected}


async def test_sort_over_rest_and_errors(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        "/api/v1/text/sort", json={"content": "b\na", "order": "asc", "sort_type": "alpha"}
    )
    assert ok.json() == {"success": True, "data": {"result": "a\nb"}}
    for body in (
        {"content": "a", "order": "up", "sortType": "alpha"},
        {"content": "a", "order": "asc", "sortType": "version"},
        {"content": "a", "order": "asc"},
    ):
        response = await client.post("/api/v1/text/sort", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


PARSE_FLOAT_VECTORS = [
    ("1", 1.0), ("-2.5", -2.5), ("+5", 5.0), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0),
    ("1E-2", 0.01), ("0x1p-2", 0.25), ("0X1.8P1", 3.0), ("1_000", 1000.0), ("0x_1p0", 1.0),
    ("1e-400", 0.0), ("inf", float("inf")), ("-Infinity", float("-inf")),
    ("1__0", None), ("_1", None), ("1_", None), ("0x1", None), ("1e", None), (".", None),
    ("+", None), ("+nan", None), ("infin", None), (" 1", None), ("١", None), ("1e400", None),
    ("0x1p99999", None), ("1,5", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), PARSE_FLOAT_VECTORS, ids=[t for t, _ in PARSE_FLOAT_VECTORS]
)
def test_go_parse_float(text: str, expected: float | None) -> None:
    assert parse_go_float(text) == expected


def test_go_parse_float_nan() -> None:
    value = parse_go_float("NaN")
    assert value is not None
    assert value != value


# text/slug


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"content": "Hello World"}, "hello-world"),
        ({"content": "Héllo, Wörld! Ça va?"}, "hello-world-ca-va"),
        ({"content": "Straße & Café"}, "strasse-cafe"),
        ({"content": "Don't stop"}, "dont-stop"),
        ({"content": "Don\u2019t stop"}, "dont-stop"),
        (
            {"content": "  --multiple   spaces__and_underscores-- "},
            "multiple-spaces-and-underscores",
        ),
        ({"content": "Ærø Łódź"}, "aero-lodz"),
        ({"content": "Привет мир"}, ""),
        ({"content": "Привет мир", "asciiOnly": False}, "привет-мир"),
        ({"content": "Hello World", "lowercase": False}, "Hello-World"),
        ({"content": "Hello World", "separator": "_"}, "hello_world"),
        ({"content": "one two three four", "maxLength": 13}, "one-two-three"),
        ({"content": "one two three four", "maxLength": 12}, "one-two"),
        ({"content": "supercalifragilistic", "maxLength": 5}, "super"),
        ({"content": "ﬁnancial ①"}, "financial-1"),  # NFKD compatibility forms
        ({"content": "½ cup"}, "1-2-cup"),  # ½ is 1, FRACTION SLASH, 2
        ({"content": "Paris\u2014London"}, "paris-london"),  # an em dash parts words
        ({"content": "abc\u0416def"}, "abc-def"),  # so does a letter that is dropped
        ({"content": "nai\u0308ve cafe\u0301"}, "naive-cafe"),  # marks are dropped in place
    ],
)
def test_slug(registry: Registry, args: dict[str, Any], expected: str) -> None:
    assert run(registry, "text_slug", args)["result"] == expected


async def test_slug_separator_must_not_be_a_word_character(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/text/slug", json={"content": "a b", "separator": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Slug failed",
        "details": "separator must not contain letters or digits",
    }
