"""data tools: JSONPath (RFC 9535) and JMESPath queries over JSON or YAML documents."""

from __future__ import annotations

from typing import Any, Literal

import jmespath
import jmespath.exceptions
import jsonpath_rfc9535
from pydantic import Field, JsonValue

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, always_off_loop, tool
from devutils.tools._datatree import DataError, TextFormat, compact, load_text

MAX_QUERY = 4096
_ERROR = "Query failed"


class QueryInput(ToolInput):
    content: str = Field(min_length=1, description="JSON or YAML document.")
    query: str = Field(min_length=1, max_length=MAX_QUERY, description="The expression.")
    language: Literal["jsonpath", "jmespath"] = Field(
        "jsonpath", description="jsonpath (RFC 9535) or jmespath."
    )
    format: TextFormat = Field("json", description="Format of content.")


class QueryOutput(ToolOutput):
    result: JsonValue = Field(
        description="jsonpath: the matched values (an array); jmespath: the result."
    )
    paths: list[str] | None = Field(
        None, description="jsonpath: the normalized path of each match."
    )


def _position(query: str, index: int) -> str:
    """Where in the expression: 1-based line and column, and the text from there."""
    index = max(0, min(index, len(query)))
    line = query.count("\n", 0, index) + 1
    column = index - query.rfind("\n", 0, index)
    where = f"line {line}, column {column}" if "\n" in query else f"column {column}"
    rest = query[index : index + 20]
    return f"{where} ({'near ' + repr(rest) if rest else 'end of expression'})"


def _jsonpath(query: str, document: Any, charge: Any) -> QueryOutput:
    try:
        compiled = jsonpath_rfc9535.compile(query)
    except jsonpath_rfc9535.JSONPathError as exc:
        message = exc.args[0] if exc.args else type(exc).__name__
        if exc.token is not None:
            raise ValidationError(
                _ERROR, f"invalid JSONPath: {message} at {_position(query, exc.token.index)}"
            ) from None
        raise ValidationError(_ERROR, f"invalid JSONPath: {message}") from None
    except (OverflowError, ValueError):  # the library's int(float(...)) of a literal like 1e999
        raise ValidationError(
            _ERROR, "invalid JSONPath: a number literal is out of range"
        ) from None
    values: list[Any] = []
    paths: list[str] = []
    try:
        for node in compiled.finditer(document):
            path = node.path()
            charge(len(compact(node.value)) + len(path) + 2)
            values.append(node.value)
            paths.append(path)
    except jsonpath_rfc9535.JSONPathError as exc:
        raise ValidationError(_ERROR, f"JSONPath evaluation failed: {exc}") from None
    return QueryOutput(result=values, paths=paths)


def _jmespath(query: str, document: Any, charge: Any) -> QueryOutput:
    try:
        compiled = jmespath.compile(query)
    except jmespath.exceptions.ParseError as exc:
        message = getattr(exc, "message", None) or exc.msg
        raise ValidationError(
            _ERROR, f"invalid JMESPath: {message} at {_position(query, exc.lex_position)}"
        ) from None
    except jmespath.exceptions.JMESPathError as exc:
        raise ValidationError(_ERROR, f"invalid JMESPath: {exc}") from None
    try:
        result = compiled.search(document)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValidationError(_ERROR, f"JMESPath evaluation failed: {exc}") from None
    charge(len(compact(result)))
    return QueryOutput(result=result)


@tool(
    "/api/v1/data/query",
    blocking="large",
    # Never on the event loop: the cost follows the expression, not the text (nested filters are
    # O(n^k), JMESPath multi-selects double per pipe, YAML aliases expand), so no size estimate
    # bounds it; in the pool the deadline stops it.
    estimate=always_off_loop,
    title="Query JSON or YAML",
    description="Run a JSONPath (RFC 9535) or JMESPath expression over a JSON or YAML document; "
    "syntax errors give the expression position.",
    examples=(
        Example(
            {
                "content": '{"users":[{"name":"Ann","age":30},{"name":"Bob","age":17}]}',
                "query": "$.users[?@.age >= 18].name",
            }
        ),
        Example(
            {
                "content": '{"users":[{"name":"Ann","age":30},{"name":"Bob","age":17}]}',
                "query": "users[?age < `18`].name",
                "language": "jmespath",
            }
        ),
        Example({"content": "items:\n  - id: 1\n  - id: 2\n", "query": "$..id", "format": "yaml"}),
    ),
)
def data_query(inp: QueryInput, ctx: ToolContext) -> QueryOutput:
    try:
        document = load_text(inp.content, inp.format, ctx.settings.max_json_depth)
    except DataError as exc:
        raise ValidationError(_ERROR, str(exc)) from None
    charge = ctx.output_budget(_ERROR).charge
    try:
        if inp.language == "jsonpath":
            return _jsonpath(inp.query, document, charge)
        return _jmespath(inp.query, document, charge)
    except RecursionError:
        raise ValidationError(_ERROR, "expression or document nests too deeply") from None
