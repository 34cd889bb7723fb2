"""data/query: RFC 9535 JSONPath (the RFC's own examples) and JMESPath (compliance examples)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from devutils.errors import ValidationError
from devutils.registry import Registry, dump_output


def query(registry: Registry, content: Any, expression: str, **options: Any) -> dict[str, Any]:
    spec = registry.get("data_query")
    assert spec is not None
    text = content if isinstance(content, str) else json.dumps(content)
    result: dict[str, Any] = dump_output(
        registry.invoke_sync(spec, {"content": text, "query": expression, **options})
    )
    return result


# RFC 9535 §1.5, Figure 1.
STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century",
             "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour",
             "price": 12.99},
            {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick",
             "isbn": "0-553-21311-3", "price": 8.99},
            {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings",
             "isbn": "0-395-19395-8", "price": 22.99},
        ],
        "bicycle": {"color": "red", "price": 399},
    }
}  # fmt: skip
BOOKS = STORE["store"]["book"]
AUTHORS = [book["author"] for book in BOOKS]

# RFC 9535 §1.5, Table 2 (descendant results compared as multisets where the RFC leaves object
# member order open).
RFC_TABLE_2 = [
    ("$.store.book[*].author", AUTHORS),
    ("$..author", AUTHORS),
    ("$.store.*", [BOOKS, STORE["store"]["bicycle"]]),
    ("$.store..price", [399, 8.95, 12.99, 8.99, 22.99]),
    ("$..book[2]", [BOOKS[2]]),
    ("$..book[2].author", ["Herman Melville"]),
    ("$..book[2].publisher", []),
    ("$..book[-1]", [BOOKS[3]]),
    ("$..book[0,1]", BOOKS[:2]),
    ("$..book[:2]", BOOKS[:2]),
    ("$..book[?@.isbn]", BOOKS[2:]),
    ("$..book[?@.price<10]", [BOOKS[0], BOOKS[2]]),
]


def _multiset(values: list[Any]) -> list[str]:
    return sorted(json.dumps(value, sort_keys=True) for value in values)


@pytest.mark.parametrize(("expression", "expected"), RFC_TABLE_2, ids=[q for q, _ in RFC_TABLE_2])
def test_rfc9535_table_2(registry: Registry, expression: str, expected: list[Any]) -> None:
    result = query(registry, STORE, expression)["result"]
    assert _multiset(result) == _multiset(expected)


def test_rfc9535_descendant_wildcard_visits_every_node(registry: Registry) -> None:
    # $..* : every member value and array element (1 store + 2 + 4 books + 2 bicycle members +
    # 4 + 4 + 5 + 5 book members).
    assert len(query(registry, STORE, "$..*")["result"]) == 27


SECTION_EXAMPLES = [
    # §2.3.1.3 name selector
    ({"o": {"j j": {"k.k": 3}}, "'": {"@": 2}}, "$.o['j j']", [{"k.k": 3}], ["$['o']['j j']"]),
    ({"o": {"j j": {"k.k": 3}}, "'": {"@": 2}}, "$.o['j j']['k.k']", [3], None),
    ({"o": {"j j": {"k.k": 3}}, "'": {"@": 2}}, '$.o["j j"]["k.k"]', [3], None),
    ({"o": {"j j": {"k.k": 3}}, "'": {"@": 2}}, '$["\'"]["@"]', [2], ["$['\\'']['@']"]),
    # §2.3.3.3 index selector
    (["a", "b"], "$[1]", ["b"], ["$[1]"]),
    (["a", "b"], "$[-2]", ["a"], ["$[0]"]),
    # §2.3.4.3 array slice selector
    (list("abcdefg"), "$[1:3]", ["b", "c"], None),
    (list("abcdefg"), "$[5:]", ["f", "g"], None),
    (list("abcdefg"), "$[1:5:2]", ["b", "d"], None),
    (list("abcdefg"), "$[5:1:-2]", ["f", "d"], None),
    (list("abcdefg"), "$[::-1]", list("gfedcba"), None),
]
FILTER_DOC = {
    "a": [3, 5, 1, 2, 4, 6, {"b": "j"}, {"b": "k"}, {"b": {}}, {"b": "kilo"}],
    "o": {"p": 1, "q": 2, "r": 3, "s": 5, "t": {"u": 6}},
    "e": "f",
}
# §2.3.5.3 filter selector
FILTER_EXAMPLES = [
    (FILTER_DOC, "$.a[?@.b == 'kilo']", [{"b": "kilo"}], ["$['a'][9]"]),
    (FILTER_DOC, "$.a[?@>3.5]", [5, 4, 6], ["$['a'][1]", "$['a'][4]", "$['a'][5]"]),
    (FILTER_DOC, "$.a[?@.b]", [{"b": "j"}, {"b": "k"}, {"b": {}}, {"b": "kilo"}], None),
    (FILTER_DOC, "$.o[?@<3, ?@<3]", [1, 2, 1, 2], None),
    (FILTER_DOC, '$.a[?match(@.b, "[jk]")]', [{"b": "j"}, {"b": "k"}], None),
    (FILTER_DOC, '$.a[?search(@.b, "[jk]")]', [{"b": "j"}, {"b": "k"}, {"b": "kilo"}], None),
    (FILTER_DOC, "$.o[?@>1 && @<4]", [2, 3], ["$['o']['q']", "$['o']['r']"]),
    (FILTER_DOC, "$.a[?@.b == $.x]", [3, 5, 1, 2, 4, 6], None),
]
EXAMPLES = SECTION_EXAMPLES + FILTER_EXAMPLES


def assert_found(
    registry: Registry, document: Any, expression: str, values: list[Any], paths: list[str] | None
) -> None:
    out = query(registry, document, expression)
    assert out["result"] == values
    if paths is not None:
        assert out["paths"] == paths


@pytest.mark.parametrize(
    ("document", "expression", "values", "paths"), EXAMPLES, ids=[e[1] for e in EXAMPLES]
)
def test_rfc9535_section_examples(
    registry: Registry, document: Any, expression: str, values: list[Any], paths: list[str] | None
) -> None:
    assert_found(registry, document, expression, values, paths)


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("$.a[?@.b ==]", "invalid JSONPath"),
        ("$[1:2:0:1]", "column"),
        ("store", "column 1"),
        ("$.a[?length(@.b, 1)]", "invalid JSONPath"),
        ("$..book[?@.price<10", "column"),
    ],
    ids=["missing-operand", "slice-too-many", "no-root", "function-arity", "unclosed-filter"],
)
def test_jsonpath_syntax_errors_give_the_position(
    registry: Registry, expression: str, detail: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        query(registry, STORE, expression)
    assert caught.value.message == "Query failed"
    assert detail in str(caught.value.details)


def test_jsonpath_error_points_at_the_offending_token(registry: Registry) -> None:
    with pytest.raises(ValidationError) as caught:
        query(registry, STORE, "$.store.book[?@.price <]")
    assert "column 24 (near ']')" in str(caught.value.details)


# JMESPath compliance suite examples (basic.json, wildcard.json, filters.json, functions.json,
# multiselect.json, pipe.json, slice.json).
JMESPATH = [
    ({"foo": {"bar": {"baz": "correct"}}}, "foo", {"bar": {"baz": "correct"}}),
    ({"foo": {"bar": {"baz": "correct"}}}, "foo.bar.baz", "correct"),
    ({"foo": {"bar": {"baz": "correct"}}}, "foo.bar.baz.bad", None),
    ({"foo": {"bar": {"baz": "correct"}}}, "bad.morebad.morebad", None),
    ({"foo": {"bar": ["one", "two", "three"]}}, "foo.bar", ["one", "two", "three"]),
    ({"foo": [{"bar": 1}, {"bar": 2}, {"baz": 3}]}, "foo[*].bar", [1, 2]),
    ({"foo": {"a": {"x": 1}, "b": {"x": 2}}}, "foo.*.x", [1, 2]),
    ({"foo": [{"name": "a"}, {"name": "b"}]}, "foo[?name == 'a']", [{"name": "a"}]),
    ({"foo": [{"age": 20}, {"age": 25}, {"age": 30}]}, "foo[?age > `20`].age", [25, 30]),
    ({"foo": [1, 2, 3, 4]}, "length(foo)", 4),
    ({"foo": [3, 1, 2]}, "sort(foo)", [1, 2, 3]),
    ({"foo": [{"a": 2}, {"a": 1}]}, "max_by(foo, &a).a", 2),
    ({"foo": {"bar": "bar", "baz": "baz"}}, "foo.[bar, baz]", ["bar", "baz"]),
    ({"foo": {"bar": "bar", "baz": "baz"}}, "foo.{a: bar, b: baz}", {"a": "bar", "b": "baz"}),
    ({"foo": {"bar": {"baz": "one"}}}, "foo | bar | baz", "one"),
    ({"foo": [0, 1, 2, 3, 4, 5]}, "foo[::2]", [0, 2, 4]),
    ({"foo": [0, 1, 2, 3]}, "foo[-1]", 3),
    ({"foo": [[1, 2], [3, [4]]]}, "foo[]", [1, 2, 3, [4]]),
]


@pytest.mark.parametrize(
    ("document", "expression", "expected"), JMESPATH, ids=[e[1] for e in JMESPATH]
)
def test_jmespath_compliance_examples(
    registry: Registry, document: Any, expression: str, expected: Any
) -> None:
    out = query(registry, document, expression, language="jmespath")
    assert out == {"result": expected, "paths": None}


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("foo.", "invalid JMESPath"),
        ("foo[?a ==]", "column 10"),
        ("foo ^ bar", "column 5 (near '^ bar')"),
        ("unknown_fn(foo)", "Unknown function: unknown_fn()"),
    ],
    ids=["incomplete", "missing-operand", "bad-character", "unknown-function"],
)
def test_jmespath_errors_give_the_position(
    registry: Registry, expression: str, detail: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        query(registry, {"foo": 1}, expression, language="jmespath")
    assert detail in str(caught.value.details)


def test_jmespath_type_error_is_400(registry: Registry) -> None:
    with pytest.raises(ValidationError, match="Query failed") as caught:
        query(registry, {"foo": "x"}, "length(`1`)", language="jmespath")
    assert "JMESPath evaluation failed" in str(caught.value.details)


def test_yaml_input(registry: Registry) -> None:
    out = query(registry, "a:\n  - {n: 1}\n  - {n: 2}\n", "$.a[*].n", format="yaml")
    assert out == {"result": [1, 2], "paths": ["$['a'][0]['n']", "$['a'][1]['n']"]}


@pytest.mark.parametrize(
    ("content", "fmt", "detail"),
    [
        ('{"a":', "json", "invalid JSON"),
        ("a: [", "yaml", "invalid YAML"),
        ("[" * 300 + "]" * 300, "json", "nesting depth 300 exceeds the limit of 256"),
    ],
    ids=["json", "yaml", "deep"],
)
def test_bad_documents_are_400(registry: Registry, content: str, fmt: str, detail: str) -> None:
    with pytest.raises(ValidationError) as caught:
        query(registry, content, "$", format=fmt)
    assert detail in str(caught.value.details)


async def test_query_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/query", json={"content": '{"a":[1,2]}', "query": "$.a[-1]"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"result": [2], "paths": ["$['a'][1]"]}


def refusal(registry: Registry, content: Any, expression: str, **options: Any) -> str:
    """The details of the 400 the query gets (anything else fails the test)."""
    with pytest.raises(ValidationError) as caught:
        query(registry, content, expression, **options)
    assert caught.value.message == "Query failed"
    return str(caught.value.details)


# RFC 9535 §2.4: `@` is a filter query (NodesType) whose node list is the current node, so
# count(@) is 1 and value(@) the current value, a scalar included (the library took len() of it).
NODES_OF_THE_CURRENT_NODE = [
    ({"a": [1, 2]}, "$.a[?count(@)==1]", [1, 2], ["$['a'][0]", "$['a'][1]"]),
    ({"a": [1, 2]}, "$.a[?value(@)==1]", [1], ["$['a'][0]"]),
    ({"o": {"k": 1}}, "$.o[?count(@)==1]", [1], ["$['o']['k']"]),
    ({"a": [{"b": "x"}, 1]}, "$.a[?@.b=='x' && count(@)==1]", [{"b": "x"}], ["$['a'][0]"]),
    ({"a": ["ab", "x", None, True, [1, 2], {}]}, "$.a[?count(@)==1]",
     ["ab", "x", None, True, [1, 2], {}], None),
    ({"a": ["ab", "x", None, [1]]}, "$.a[?value(@)=='ab']", ["ab"], ["$['a'][0]"]),
    ({"a": ["ab", "x", None, [1]]}, "$.a[?value(@)=='x']", ["x"], ["$['a'][1]"]),
    ({"a": [0, None]}, "$.a[?value(@)==null]", [None], ["$['a'][1]"]),
    ({"a": [[1, 2], {"x": 1, "y": 2}, 3]}, "$.a[?count(@.*)==2]", [[1, 2], {"x": 1, "y": 2}],
     None),
    ({"a": [[7], [7, 8], 7]}, "$.a[?value(@.*)==7]", [[7]], ["$['a'][0]"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "expression", "values", "paths"),
    NODES_OF_THE_CURRENT_NODE,
    ids=[f"{e[1]}-{i}" for i, e in enumerate(NODES_OF_THE_CURRENT_NODE)],
)
def test_count_and_value_of_the_current_node(
    registry: Registry, document: Any, expression: str, values: list[Any], paths: list[str] | None
) -> None:
    assert_found(registry, document, expression, values, paths)


async def test_value_of_a_scalar_current_node_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/query", json={"content": '{"a":[1,2]}', "query": "$.a[?value(@)==1]"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"result": [1], "paths": ["$['a'][0]"]}


_NO_JSON_FORM = (
    "JMESPath result holds a number with no JSON form (past a 64-bit float, NaN or Infinity)"
)
_FLOOR_INFINITY = (
    "JMESPath evaluation failed: OverflowError: cannot convert float infinity to integer"
)
_FLOOR_NAN = "JMESPath evaluation failed: ValueError: cannot convert float NaN to integer"
_ZERO_STEP = "JMESPath evaluation failed: ValueError: slice step cannot be zero"


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("a[::0]", _ZERO_STEP),
        ("a[1:2:0]", _ZERO_STEP),
        ("floor(`1e400`)", _FLOOR_INFINITY),
        ("floor(`NaN`)", _FLOOR_NAN),
        ("`1e400`", _NO_JSON_FORM),
        ("`-Infinity`", _NO_JSON_FORM),
        ("ceil(to_number('1.0e400'))",
         "JMESPath evaluation failed: to_number() gives infinity, which has no JSON form"),
        ("to_number('1.0e400')",
         "JMESPath evaluation failed: to_number() gives infinity, which has no JSON form"),
        ("to_string(to_number('1.0e400'))",
         "JMESPath evaluation failed: to_number() gives infinity, which has no JSON form"),
        ("to_number('-inf')",
         "JMESPath evaluation failed: to_number() gives -infinity, which has no JSON form"),
        ("to_number('NaN')",
         "JMESPath evaluation failed: to_number() gives NaN, which has no JSON form"),
        ("sum(`[1e308,1e308]`)",
         "JMESPath evaluation failed: sum() gives infinity, which has no JSON form"),
        ("avg(`[-1e308,-1e308]`)",
         "JMESPath evaluation failed: avg() gives -infinity, which has no JSON form"),
    ],
)  # fmt: skip
def test_jmespath_results_with_no_json_form_are_400(
    registry: Registry, expression: str, detail: str
) -> None:
    assert refusal(registry, {"a": [1, 2]}, expression, language="jmespath") == detail


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("sum(big)", "OverflowError: int too large to convert to float"),
        ("avg(huge)", "OverflowError: integer division result too large for a float"),
    ],
)
def test_jmespath_arithmetic_the_library_cannot_do_is_400(
    registry: Registry, expression: str, detail: str
) -> None:
    # Integers past a float are valid input (up to 4200 digits); Python's float() of them fails.
    content = '{"big": [1' + "0" * 400 + ', 1.5], "huge": [1' + "0" * 400 + "]}"
    details = refusal(registry, content, expression, language="jmespath")
    assert details == f"JMESPath evaluation failed: {detail}"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("sum(`[1e308]`)", 1e308),
        ("max(`[1e308, -1e308]`)", 1e308),
        ("to_number('1.5e308')", 1.5e308),
        ("ceil(`1.5`)", 2),
        ("a[::-1]", [2, 1]),
    ],
)
def test_jmespath_finite_numbers_still_pass(
    registry: Registry, expression: str, expected: Any
) -> None:
    assert query(registry, {"a": [1, 2]}, expression, language="jmespath")["result"] == expected


async def test_jmespath_infinity_is_a_400_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/query",
        json={"content": "{}", "query": "sum(`[1e308,1e308]`)", "language": "jmespath"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Query failed",
        "details": "JMESPath evaluation failed: sum() gives infinity, which has no JSON form",
    }
