"""data/convert readers and writers keep what they read: line breaks in CSV cells, YAML strings
that look like numbers, XML text and attributes, a CSV byte order mark, and warnings that point
into the input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import yaml

from devutils.errors import ValidationError
from devutils.registry import Registry, dump_output


def convert(registry: Registry, content: str, source: str, target: str, **options: Any) -> Any:
    spec = registry.get("data_convert")
    assert spec is not None
    args = {"content": content, "from": source, "to": target, **options}
    return dump_output(registry.invoke_sync(spec, args))


def result(registry: Registry, content: str, source: str, target: str, **options: Any) -> str:
    out = convert(registry, content, source, target, **options)
    assert out["warnings"] == []
    text: str = out["result"]
    return text


def round_trip(registry: Registry, document: Any, fmt: str, **options: Any) -> Any:
    there = result(registry, json.dumps(document), "json", fmt, **options)
    return json.loads(result(registry, there, fmt, "json", **options))


# --- CSV/TSV: a carriage return is quoted -------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "fmt", "expected"),
    [
        ([{"a": "x\ry", "b": "2"}], "csv", 'a,b\n"x\ry",2\n'),
        ([{"a": "x\ry", "b": "2"}], "tsv", 'a\tb\n"x\ry"\t2\n'),
        ([{"a": "\r"}, {"a": "\r\n"}, {"a": "\n"}], "csv", 'a\n"\r"\n"\r\n"\n"\n"\n'),
        ([["p\rq", "r"]], "csv", '"p\rq",r\n'),
        ([{"a": "", "b": 'say "hi"'}], "csv", 'a,b\n,"say ""hi"""\n'),
    ],
    ids=["csv", "tsv", "cr-alone-crlf-lf", "no-header-rows", "unchanged-quoting"],
)
def test_line_breaks_in_cells_are_quoted_and_read_back(
    registry: Registry, document: Any, fmt: str, expected: str
) -> None:
    # RFC 4180: a field with CR or LF is quoted; a bare CR read back as a second row.
    header = isinstance(document[0], dict)
    assert result(registry, json.dumps(document), "json", fmt, header=header) == expected
    assert round_trip(registry, document, fmt, header=header) == document


def test_a_leading_byte_order_mark_is_no_part_of_the_first_column(registry: Registry) -> None:
    # Excel writes UTF-8 CSV with a BOM; the first key was "\ufeffname".
    out = result(registry, "\ufeffname,age\nAnn,30\n", "csv", "json", indent=0)
    assert out == '[{"name":"Ann","age":"30"}]'
    assert result(registry, "\ufeffa\tb\n1\t2\n", "tsv", "json", indent=0) == '[{"a":"1","b":"2"}]'
    rows = result(registry, "\ufeffa,b\n", "csv", "json", indent=0, header=False)
    assert rows == '[["a","b"]]'
    # Only the one at the start is a mark; anywhere else it is data.
    assert result(registry, "a\n\ufeffx\n", "csv", "json", indent=0) == '[{"a":"\ufeffx"}]'


# --- YAML: every string a YAML 1.1 or 1.2 reader takes for a number is quoted -------------------

LOOK_LIKE_NUMBERS = [
    "-.5", "+.5", "-.0", "+.0", ".5", "-.5e3", "+.5E+3", "-.5e-2", ".5e3", "-.1_2", "1e3",
    "-1E3", "0o17", "09", "-09", "1.", "-1.", "1_0.5", "-.inf", "+.Inf", ".nan", "0x1F", "1:30",
]  # fmt: skip
PLAIN = ["-.", "+.", ".", "._", "-._5", "1e3x", "0o8", ".5.5", "e3"]


@pytest.mark.parametrize("text", LOOK_LIKE_NUMBERS)
def test_strings_that_read_as_numbers_are_quoted(registry: Registry, text: str) -> None:
    out = result(registry, json.dumps([text]), "json", "yaml")
    assert out == f"- '{text}'\n"
    assert round_trip(registry, [text], "yaml") == [text]
    assert yaml.safe_load(out) == [text]


@pytest.mark.parametrize("text", PLAIN)
def test_strings_no_reader_takes_for_numbers_stay_plain(registry: Registry, text: str) -> None:
    assert result(registry, json.dumps({"k": text}), "json", "yaml") == f"k: {text}\n"
    assert round_trip(registry, {"k": text}, "yaml") == {"k": text}


def test_numbers_are_still_written_plain(registry: Registry) -> None:
    out = result(registry, "[-0.5, 1000.0, 9, -1, 1e300]", "json", "yaml")
    assert out == "- -0.5\n- 1000.0\n- 9\n- -1\n- 1.0e+300\n"


# --- XML reader: text kept, attribute and child never merged ------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<a>  spaced  </a>", {"a": "  spaced  "}),
        ("<a><![CDATA[ <x> & ]]></a>", {"a": " <x> & "}),
        ("<a>x&#13;\n</a>", {"a": "x\r\n"}),
        ("<a>   </a>", {"a": "   "}),
        ("<a></a>", {"a": None}),
        ('<a k="v"> t </a>', {"a": {"@k": "v", "#text": " t "}}),
        ("<a>\n  <b> x </b>\n  <c/>\n</a>\n", {"a": {"b": " x ", "c": None}}),
    ],
    ids=["spaces", "cdata", "crlf", "only-spaces", "empty", "attribute-and-text", "indented"],
)
def test_leaf_text_is_kept_exactly_and_indentation_ignored(
    registry: Registry, content: str, expected: Any
) -> None:
    assert json.loads(result(registry, content, "xml", "json")) == expected


def test_text_beside_child_elements_is_trimmed_with_a_warning(registry: Registry) -> None:
    out = convert(registry, "<a> t \n  <b>1</b>\n</a>", "xml", "json", indent=0)
    assert out["result"] == '{"a":{"b":"1","#text":"t"}}'
    assert out["warnings"] == ["white space around text mixed with child elements trimmed (at /a)"]


@pytest.mark.parametrize(
    "document",
    [{"r": "a]]>b\r\n"}, {"a": "  x  "}, {"a": {"b": ["\n", " y\t"], "@k": " v "}}],
    ids=["cdata-end-and-crlf", "spaces", "nested"],
)
@pytest.mark.parametrize("indent", [0, 2])
def test_json_xml_json_round_trip_is_exact(registry: Registry, document: Any, indent: int) -> None:
    assert round_trip(registry, document, "xml", indent=indent) == document


@pytest.mark.parametrize(
    ("content", "prefix", "detail"),
    [
        ('<r id="1"><_id>2</_id></r>', "_",
         "an attribute and a child element would both be the key '_id' at /r"),
        ('<r><s a="1"><pa>2</pa></s></r>', "p",
         "an attribute and a child element would both be the key 'pa' at /r/s"),
        ('<r text="1">t</r>', "#",
         "an attribute and the text would both be the key '#text' at /r"),
    ],
    ids=["root", "nested", "text"],
)  # fmt: skip
def test_an_attribute_and_a_child_with_one_key_are_refused(
    registry: Registry, content: str, prefix: str, detail: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        convert(registry, content, "xml", "json", attributePrefix=prefix)
    assert caught.value.message == "Conversion failed"
    assert caught.value.details == f"{detail} (choose another attributePrefix)"


def test_distinct_attribute_and_child_keys_are_kept(registry: Registry) -> None:
    out = result(registry, '<r id="1"><id>2</id></r>', "xml", "json", attributePrefix="_")
    assert json.loads(out) == {"r": {"_id": "1", "id": "2"}}
    assert json.loads(result(registry, '<r text="1"/>', "xml", "json", attributePrefix="#")) == {
        "r": {"#text": "1"}
    }


async def test_attribute_and_child_clash_over_rest_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/data/convert",
        json={
            "content": '<r id="1"><_id>2</_id></r>',
            "from": "xml",
            "to": "json",
            "attributePrefix": "_",
        },
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "Conversion failed")
    assert "'_id' at /r" in error["details"]


# --- warnings point into the input --------------------------------------------------------------

NUMBERS_AS_TEXT = "XML has no types: booleans and numbers written as text"


@pytest.mark.parametrize(
    ("content", "target", "options", "warnings"),
    [
        ('{"a":{"b":{"c":1}}}', "xml", {}, [f"{NUMBERS_AS_TEXT} (at /a/b/c)"]),
        ('{"a":1}', "xml", {}, [f"{NUMBERS_AS_TEXT} (at /a)"]),
        ('{"a/b":{"c~":null}}', "xml", {},
         ["invalid XML name replaced (at /a~1b, 2 times)",
          "null written as an empty element (at /a~1b/c~0)"]),
        ('{"a":{"b":1}}', "xml", {"xmlRoot": "doc"}, [f"{NUMBERS_AS_TEXT} (at /a/b)"]),
        ('{"a":[1,2]}', "xml", {}, [f"{NUMBERS_AS_TEXT} (at /a/0, 2 times)"]),
        ("[1,2]", "xml", {},
         ["top-level array written as repeated <item> elements (at /)",
          f"{NUMBERS_AS_TEXT} (at /0, 2 times)"]),
        ('[["x"],[[]]]', "xml", {},
         ["top-level array written as repeated <item> elements (at /)",
          "nested array written as repeated <item> elements (at /0, 2 times)",
          "empty array left out: XML has no empty list (at /1/0)"]),
        ('{"r":{"l":[1,["x"]]}}', "xml", {},
         [f"{NUMBERS_AS_TEXT} (at /r/l/0)",
          "nested array written as repeated <item> elements (at /r/l/1)"]),
        ('{"a":{"b":[1,{}]}}', "csv", {},
         ["a single object written as one row (at /)",
          "nested value written as JSON text in one cell (at /a)"]),
        ('{"a":null}', "csv", {},
         ["a single object written as one row (at /)", "null written as an empty cell (at /a)"]),
        ("null", "csv", {},
         ["a single object written as one row (at /)", "null written as an empty cell (at /)"]),
        ('[{"a":1},{"b":[2]}]', "csv", {},
         ["missing column written as an empty cell (at /0, 2 times)",
          "nested value written as JSON text in one cell (at /1/b)"]),
        ('[[1,{"c":2}],{"d":3}]', "csv", {},
         ["nested value written as JSON text in one cell (at /0/1)",
          "object among array rows written as JSON text (at /1)"]),
    ],
    ids=["xml-deep", "xml-root-scalar", "xml-escaped-pointer", "xml-root-option",
         "xml-single-key-array", "xml-top-array", "xml-nested-arrays", "xml-nested-array-inside",
         "csv-single-object", "csv-single-object-null", "csv-scalar", "csv-rows",
         "csv-array-rows"],
)  # fmt: skip
def test_warnings_name_the_place_in_the_input(
    registry: Registry, content: str, target: str, options: dict[str, Any], warnings: list[str]
) -> None:
    assert convert(registry, content, target=target, source="json", **options)["warnings"] == (
        warnings
    )


def test_top_level_array_xml_is_unchanged(registry: Registry) -> None:
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    out = convert(registry, '[1,["x"],[]]', "json", "xml")["result"]
    assert out == (
        f"{head}<root>\n  <item>1</item>\n  <item>\n    <item>x</item>\n  </item>\n"
        "  <item/>\n</root>\n"
    )
    assert convert(registry, "[1]", "json", "xml", indent=0)["result"] == (
        f"{head}<root><item>1</item></root>\n"
    )
    assert convert(registry, "[]", "json", "xml", xmlRoot="d")["result"] == f"{head}<d>\n</d>\n"


# --- CSV/TSV: a delimiter that cannot read back ------------------------------------------------


@pytest.mark.parametrize("delimiter", ['"', "\n", "\r"], ids=["quote", "lf", "cr"])
def test_a_quote_or_a_line_break_is_no_delimiter(registry: Registry, delimiter: str) -> None:
    """`"` as the delimiter wrote `a"b` rows that read back as other cells."""
    with pytest.raises(ValidationError) as caught:
        convert(registry, '[{"a":1,"b":2}]', "json", "csv", delimiter=delimiter)
    assert caught.value.details == (
        "delimiter: a double quote or a line break cannot be the delimiter"
    )


def test_another_delimiter_reads_back(registry: Registry) -> None:
    assert round_trip(registry, [{"a": "x;y", "b": "2"}], "csv", delimiter=";") == [
        {"a": "x;y", "b": "2"}
    ]
