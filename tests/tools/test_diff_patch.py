"""text/diff, data/diff and data/patch: RFC 6902 and RFC 7386 appendix A, round trips, caps."""

from __future__ import annotations

import difflib
import json
import random
from typing import Any

import httpx
import pytest

from devutils.errors import ValidationError
from devutils.registry import Registry, dump_output
from devutils.tools.diffpatch import MAX_DIFF_LINES, MAX_DIFF_TOKENS, _hunks


def call(registry: Registry, name: str, args: dict[str, Any]) -> dict[str, Any]:
    spec = registry.get(name)
    assert spec is not None
    result: dict[str, Any] = dump_output(registry.invoke_sync(spec, args))
    return result


def patch(registry: Registry, document: Any, operations: Any, **options: Any) -> Any:
    args = {"content": json.dumps(document), "patch": json.dumps(operations), **options}
    return call(registry, "data_patch", args)["result"]


def patch_error(registry: Registry, document: Any, operations: Any, **options: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        patch(registry, document, operations, **options)
    assert caught.value.message == "Patch failed"
    return str(caught.value.details)


# RFC 6902 appendix A (A.9, A.12, A.13 and A.15 are the error cases below).
RFC6902 = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
     {"baz": "qux", "foo": "bar"}),
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ({"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
     {"foo": "bar", "baz": "qux"}),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
]  # fmt: skip
RFC6902_IDS = [
    "A.1-add-member", "A.2-add-element", "A.3-remove-member", "A.4-remove-element",
    "A.5-replace", "A.6-move-value", "A.7-move-element", "A.8-test-success",
    "A.10-add-nested", "A.11-ignore-unknown-members", "A.14-escape-ordering", "A.16-add-array",
]  # fmt: skip


@pytest.mark.parametrize(("document", "operations", "expected"), RFC6902, ids=RFC6902_IDS)
def test_rfc6902_appendix_a(
    registry: Registry, document: Any, operations: Any, expected: Any
) -> None:
    assert patch(registry, document, operations) == expected


def test_replace_keeps_member_order(registry: Registry) -> None:
    out = patch(registry, {"a": 1, "b": 2}, [{"op": "replace", "path": "/a", "value": 3}])
    assert list(out) == ["a", "b"]


RFC6902_ERRORS = [
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}],
     'operation 0 ("test") failed: value at the path is "qux", not "bar"'),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}],
     'operation 0 ("add") failed: "/baz" does not exist'),
    ({"baz": "x"}, '[{"op": "add", "path": "/baz", "value": "qux", "op": "remove"}]',
     'patch: invalid JSON: member "op" appears twice in one object'),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}],
     'operation 0 ("test") failed: value at the path is 10, not "10"'),
    ({"a": 1}, [{"op": "test", "path": "/a", "value": True}],
     'operation 0 ("test") failed: value at the path is 1, not true'),
    ({"a": [1]}, [{"op": "add", "path": "/a/2", "value": 0}],
     'operation 0 ("add") failed: array index 2 is out of range (size 1)'),
    ({"a": [1]}, [{"op": "remove", "path": "/a/01"}],
     'operation 0 ("remove") failed: "01" is not an array index'),
    ({"a": {}}, [{"op": "move", "from": "/a", "path": "/a/b"}],
     'operation 0 ("move") failed: "from" is a prefix of "path"'),
    ({}, [{"op": "add", "path": "/a", "value": 1}, {"op": "frob", "path": "/a"}],
     'operation 1 ("frob") failed: unknown op "frob"'),
    ({}, [{"op": "add", "value": 1}], 'operation 0 ("add") failed: missing "path"'),
    ({}, [{"op": "add", "path": "a", "value": 1}], 'must be empty or start with "/"'),
    ({}, [{"op": "add", "path": "/~2", "value": 1}], 'invalid "~" escape'),
    ({}, [5], "operation 0 failed: an operation must be an object"),
    ({}, {"op": "add"}, "a JSON Patch is an array of operations"),
    ({}, [{"op": "remove", "path": ""}], "cannot remove the whole document"),
]  # fmt: skip
RFC6902_ERROR_IDS = [
    "A.9-test-fails", "A.12-nonexistent-target", "A.13-duplicate-op", "A.15-string-vs-number",
    "true-is-not-1", "index-past-end", "leading-zero-index", "move-into-child", "unknown-op",
    "missing-path", "pointer-without-slash", "bad-escape", "non-object-op", "not-an-array",
    "remove-root",
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "operations", "detail"), RFC6902_ERRORS, ids=RFC6902_ERROR_IDS
)
def test_rfc6902_errors_name_the_operation(
    registry: Registry, document: Any, operations: Any, detail: str
) -> None:
    if isinstance(operations, str):  # raw JSON text (a duplicate member)
        with pytest.raises(ValidationError) as caught:
            call(registry, "data_patch", {"content": json.dumps(document), "patch": operations})
        assert caught.value.details == detail
        return
    assert detail in patch_error(registry, document, operations)


def test_copy_bomb_is_refused(registry: Registry) -> None:
    # Each copy doubles the document: 40 copies would need 2^40 nodes.
    operations = [{"op": "add", "path": "/a", "value": [1, 2, 3, 4]}]
    operations += [{"op": "copy", "from": "/a", "path": "/a/-"} for _ in range(40)]
    # After copy k the document has 1 + 5 * 2^k nodes: copy 18 is the first past 1,000,000.
    assert patch_error(registry, {}, operations) == (
        'operation 18 ("copy") failed: the document would grow past 1000000 nodes'
    )


def test_patch_is_all_or_nothing_on_a_copy(registry: Registry) -> None:
    # The failure leaves nothing half-applied; a valid patch never touches the input text.
    document = {"a": [1]}
    patch_error(registry, document, [{"op": "add", "path": "/a/-", "value": 2},
                                     {"op": "test", "path": "/a/0", "value": 9}])  # fmt: skip
    assert document == {"a": [1]}


# RFC 7386 appendix A.
RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(
    ("target", "merge", "expected"), RFC7386, ids=[f"A-{i + 1}" for i in range(len(RFC7386))]
)
def test_rfc7386_appendix_a(registry: Registry, target: Any, merge: Any, expected: Any) -> None:
    assert patch(registry, target, merge, type="merge-patch") == expected


def test_yaml_documents_and_patches(registry: Registry) -> None:
    args = {"content": "a: 1\n", "patch": "- {op: add, path: /b, value: [x]}\n", "format": "yaml"}
    assert call(registry, "data_patch", args)["result"] == {"a": 1, "b": ["x"]}


@pytest.mark.parametrize(
    ("operations", "detail"),
    [
        ("- op: add\n  path: /b\n  value: 1\n  value: 2\n",
         'patch: invalid YAML: member "value" appears twice in one object (line 4, column 3)'),
        ("- {op: add, path: /b, value: 1, op: remove}\n",
         'patch: invalid YAML: member "op" appears twice in one object (line 1, column 33)'),
    ],
    ids=["repeated-value", "repeated-op"],
)  # fmt: skip
def test_a_yaml_patch_repeating_a_member_is_refused_like_json(
    registry: Registry, operations: str, detail: str
) -> None:
    # RFC 6902 A.13 holds whatever the patch is written in (YAML once applied the last value).
    args = {"content": "a: 1\n", "patch": operations, "format": "yaml"}
    with pytest.raises(ValidationError) as caught:
        call(registry, "data_patch", args)
    assert (caught.value.message, caught.value.details) == ("Patch failed", detail)


def test_a_yaml_document_repeating_a_member_keeps_the_last(registry: Registry) -> None:
    # Only the patch must not repeat a member; the document reads as JSON documents do.
    args = {"content": "a: 1\na: 2\n", "patch": "- {op: add, path: /b, value: 3}\n",
            "format": "yaml"}  # fmt: skip
    assert call(registry, "data_patch", args)["result"] == {"a": 2, "b": 3}


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_patch_and_diff_ignore_a_leading_byte_order_mark(registry: Registry, fmt: str) -> None:
    content = '\ufeff{"a": 1}'
    patch_text = '\ufeff[{"op": "replace", "path": "/a", "value": 2}]'
    args = {"content": content, "patch": patch_text, "format": fmt}
    assert call(registry, "data_patch", args)["result"] == {"a": 2}
    args = {"original": content, "modified": '{"a": 1}', "format": fmt}
    assert call(registry, "data_diff", args)["equal"] is True


# --- structural diff ----------------------------------------------------------------------------

DIFFS = [
    ({"a": 1}, {"a": 1}, [], []),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, [], []),  # member order is not a change
    ({"a": 1}, {"a": 1.0}, [], []),  # numbers compare by value
    ({"a": 1}, {"a": True}, [{"op": "replace", "path": "/a", "value": True}],
     ["changed /a: 1 -> true"]),
    ({"a": {"b": 1}, "x/y": 0}, {"a": {"b": 2, "c": [1]}},
     [{"op": "replace", "path": "/a/b", "value": 2}, {"op": "add", "path": "/a/c", "value": [1]},
      {"op": "remove", "path": "/x~1y"}],
     ["changed /a/b: 1 -> 2", "added /a/c: [1]", "removed /x~1y (was 0)"]),
    # A common prefix and suffix are kept: one removal, one insertion.
    ([1, 2, 3, 4], [1, 3, 4], [{"op": "remove", "path": "/1"}], ["removed /1 (was 2)"]),
    ([1, 2, 3], [0, 1, 2, 3], [{"op": "add", "path": "/0", "value": 0}], ["added /0: 0"]),
    ([1, 2, 3], [1, 9, 3], [{"op": "replace", "path": "/1", "value": 9}], ["changed /1: 2 -> 9"]),
    ("x", ["x"], [{"op": "replace", "path": "", "value": ["x"]}], ['changed /: "x" -> ["x"]']),
]  # fmt: skip
DIFF_IDS = [
    "equal", "member-order", "int-vs-float", "true-vs-1", "object-changes", "array-removal",
    "array-insertion-at-front", "array-element-change", "root-type-change",
]  # fmt: skip


@pytest.mark.parametrize(("original", "modified", "ops", "changes"), DIFFS, ids=DIFF_IDS)
def test_data_diff(
    registry: Registry, original: Any, modified: Any, ops: list[Any], changes: list[str] | None
) -> None:
    out = call(
        registry,
        "data_diff",
        {"original": json.dumps(original), "modified": json.dumps(modified)},
    )
    assert out["patch"] == ops
    assert out["equal"] is (not ops)
    if changes is not None:
        assert out["changes"] == changes
    assert len(out["changes"]) == len(ops)
    # The patch, applied by data/patch, turns original into modified.
    assert patch(registry, original, ops) == modified


ROUND_TRIPS = [
    ({"a": [1, {"b": [2, 3]}, 4], "c": None}, {"a": [{"b": [3]}, 4, 5], "d": {"e": []}}),
    ([[1, 2], [3]], [[1], [3, 4], [5]]),
    ({"k": list(range(10))}, {"k": [0, 1, 5, 6, 7, 8, 9, 10]}),
    ({"~": {"/": 1}}, {"~": {"/": [1]}}),
]


@pytest.mark.parametrize(("original", "modified"), ROUND_TRIPS, ids=["mixed", "nested-arrays",
                                                                     "array-middle", "escapes"])  # fmt: skip
def test_diff_then_patch_round_trips(registry: Registry, original: Any, modified: Any) -> None:
    ops = call(
        registry, "data_diff", {"original": json.dumps(original), "modified": json.dumps(modified)}
    )["patch"]
    assert patch(registry, original, ops) == modified


# --- text diff ----------------------------------------------------------------------------------


TEXT_DIFFS = [
    ("a\nb\nc\n", "a\nb\nc\n", {}, "", 0, 0),
    ("a\nb\nc\n", "a\nB\nc\n", {},
     "--- original\n+++ modified\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", 1, 1),
    ("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nX\n6\n7\n8\n", {"context": 1},
     "--- original\n+++ modified\n@@ -4,3 +4,3 @@\n 4\n-5\n+X\n 6\n", 1, 1),
    ("a\nb", "a\nc", {"context": 0},
     "--- original\n+++ modified\n@@ -2 +2 @@\n-b\n\\ No newline at end of file\n"
     "+c\n\\ No newline at end of file\n", 1, 1),
    ("", "new\n", {}, "--- original\n+++ modified\n@@ -0,0 +1 @@\n+new\n", 1, 0),
    # Only a line feed ends a line, as for diff and patch: CR, FF and U+2028 are inside one.
    ("a\rb\fc\u2028d\r\ne\n", "a\rb\fc\u2028D\r\ne\n", {},
     "--- original\n+++ modified\n@@ -1,2 +1,2 @@\n-a\rb\fc\u2028d\r\n+a\rb\fc\u2028D\r\n e\n",
     1, 1),
    ("the quick brown fox", "the slow brown fox jumps", {"mode": "word"},
     "the [-quick-]{+slow+} brown fox{+ jumps+}", 2, 1),
    ("a, b.", "a; b.", {"mode": "word"}, "a[-,-]{+;+} b.", 1, 1),
    ("same words", "same words", {"mode": "word"}, "", 0, 0),
]  # fmt: skip
TEXT_DIFF_IDS = [
    "equal", "one-line", "context-1", "no-newline-at-end", "from-empty", "line-feed-only", "words",
    "punctuation", "words-equal",
]  # fmt: skip


@pytest.mark.parametrize(
    ("original", "modified", "options", "expected", "added", "removed"),
    TEXT_DIFFS,
    ids=TEXT_DIFF_IDS,
)
def test_text_diff(
    registry: Registry,
    original: str,
    modified: str,
    options: dict[str, Any],
    expected: str,
    added: int,
    removed: int,
) -> None:
    out = call(registry, "text_diff", {"original": original, "modified": modified, **options})
    assert out == {"diff": expected, "additions": added, "deletions": removed}


def test_text_diff_caps(registry: Registry) -> None:
    many_lines = "".join(f"{i}\n" for i in range(MAX_DIFF_LINES + 1))
    with pytest.raises(ValidationError, match="Text diff failed") as caught:
        call(registry, "text_diff", {"original": many_lines, "modified": ""})
    assert caught.value.details == (
        f"more than {MAX_DIFF_LINES} changed lines on one side (the common start and end do "
        "not count)"
    )
    many_words = "w " * MAX_DIFF_TOKENS
    with pytest.raises(ValidationError) as caught:
        call(registry, "text_diff", {"original": "", "modified": many_words, "mode": "word"})
    assert str(caught.value.details).startswith(
        f"more than {MAX_DIFF_TOKENS} changed words and separators on one side"
    )


def test_a_small_change_in_a_large_text_is_not_capped(registry: Registry) -> None:
    lines = [f"line {i}\n" for i in range(10 * MAX_DIFF_LINES)]
    changed = [*lines]
    changed[20_000] = "changed\n"
    out = call(registry, "text_diff", {"original": "".join(lines), "modified": "".join(changed)})
    assert out["diff"] == (
        "--- original\n+++ modified\n@@ -19998,7 +19998,7 @@\n line 19997\n line 19998\n"
        " line 19999\n-line 20000\n+changed\n line 20001\n line 20002\n line 20003\n"
    )


def test_hunks_group_like_difflib(registry: Registry) -> None:
    # Same opcodes in, same hunks out as difflib's get_grouped_opcodes (unified_diff's grouping).
    rng = random.Random(2)
    for _ in range(2000):
        old = [rng.choice("abcde") for _ in range(rng.randint(0, 30))]
        new = [*old]
        for _ in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 0.3 and new:
                new.pop(rng.randrange(len(new)))
            elif roll < 0.6:
                new.insert(rng.randint(0, len(new)), rng.choice("xyzab"))
            elif new:
                new[rng.randrange(len(new))] = "q"
        context = rng.randint(0, 4)
        matcher = difflib.SequenceMatcher(None, old, new)
        ops = matcher.get_opcodes()
        expected = []
        if any(op[0] != "equal" for op in ops):
            expected = [
                [op for op in group if not (op[0] == "equal" and op[1] == op[2])]
                for group in matcher.get_grouped_opcodes(context)
            ]
        assert _hunks(ops, context) == expected, (old, new, context)


async def test_diff_and_patch_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/diff", json={"original": '{"a":1}', "modified": '{"a":2}'}
    )
    assert response.status_code == 200, response.text
    ops = response.json()["data"]["patch"]
    response = await client.post(
        "/api/v1/data/patch", json={"content": '{"a":1}', "patch": json.dumps(ops)}
    )
    assert response.json()["data"] == {"result": {"a": 2}}
    response = await client.post(
        "/api/v1/data/patch",
        json={"content": "{}", "patch": '[{"op":"remove","path":"/x"}]'},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Patch failed",
        "details": 'operation 0 ("remove") failed: "x" does not exist',
    }
    response = await client.post(
        "/api/v1/data/patch",
        json={"content": "a: 1\n", "format": "yaml",
              "patch": "- op: add\n  path: /b\n  value: 1\n  value: 2\n"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["details"] == (
        'patch: invalid YAML: member "value" appears twice in one object (line 4, column 3)'
    )
    response = await client.post("/api/v1/text/diff", json={"original": "a", "modified": "b"})
    assert response.json()["data"]["diff"].startswith("--- original\n+++ modified\n")
