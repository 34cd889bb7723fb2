"""data tools: JSONPath (RFC 9535) and JMESPath queries over JSON or YAML documents."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import jmespath
import jmespath.exceptions
import jmespath.functions
import jsonpath_rfc9535
import jsonpath_rfc9535.function_extensions
from pydantic import Field, JsonValue

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, always_off_loop, tool
from devutils.tools._datatree import DataError, TextFormat, compact, load_text

MAX_QUERY = 4096
_ERROR = "Query failed"
# What the libraries' own code raises on input they did not foresee (len() of an int, int() of
# infinity, a zero slice step): the expression is the cause, so it is a 400, never a 500.
_EVALUATION_FAILURES = (ArithmeticError, AttributeError, LookupError, TypeError, ValueError)


class _Count(jsonpath_rfc9535.function_extensions.Count):
    """RFC 9535 count(): ``@`` is a query whose node list is the current node, so 1.

    The library evaluates a bare ``@`` on a scalar to the value itself, not a node list, and its
    count() then took len() of it (a TypeError for a number, the string's length for a string).
    """

    def __call__(self, node_list: object) -> int:
        if isinstance(node_list, jsonpath_rfc9535.JSONPathNodeList):
            return len(node_list)
        return 1  # the one current node


class _Value(jsonpath_rfc9535.function_extensions.Value):
    """RFC 9535 value(): the value of the single node, so for a bare ``@`` the current value."""

    def __call__(self, nodes: object) -> object:
        if isinstance(nodes, jsonpath_rfc9535.JSONPathNodeList):
            return nodes[0].value if len(nodes) == 1 else jsonpath_rfc9535.NOTHING
        return nodes


class _JSONPathEnvironment(jsonpath_rfc9535.JSONPathEnvironment):
    """The library's environment with count() and value() correct for a bare ``@``."""

    def setup_function_extensions(self) -> None:
        super().setup_function_extensions()
        self.function_extensions["count"] = _Count()
        self.function_extensions["value"] = _Value()


_JSONPATH = _JSONPathEnvironment()


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
        compiled = _JSONPATH.compile(query)
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
    except _EVALUATION_FAILURES as exc:
        raise ValidationError(
            _ERROR, f"JSONPath evaluation failed: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    return QueryOutput(result=values, paths=paths)


class _FiniteFunctions(jmespath.functions.Functions):
    """JMESPath's functions, refusing a result with no JSON form.

    A document or a literal holds only finite numbers (both are checked), so infinity or NaN can
    only come from a function that computes a number: sum() or avg() past binary64, to_number()
    of ``'1e400'``, ``'inf'`` or ``'NaN'``. Written out it became ``null`` (or ``"Infinity"`` via
    to_string()) with no warning; the tools refuse ``1e400`` in input for the same reason.
    """

    def call_function(self, function_name: str, resolved_args: Iterable[Any]) -> Any:
        result = super().call_function(function_name, resolved_args)
        if isinstance(result, float) and not math.isfinite(result):
            what = "NaN" if math.isnan(result) else ("" if result > 0 else "-") + "infinity"
            raise _NotFinite(f"{function_name}() gives {what}, which has no JSON form")
        return result


class _NotFinite(Exception):
    """A JMESPath function result that is infinity or NaN."""


_JMESPATH_OPTIONS = jmespath.Options(custom_functions=_FiniteFunctions())


def _has_non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


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
        result = compiled.search(document, options=_JMESPATH_OPTIONS)
    except (jmespath.exceptions.JMESPathError, _NotFinite) as exc:
        raise ValidationError(_ERROR, f"JMESPath evaluation failed: {exc}") from None
    except _EVALUATION_FAILURES as exc:
        raise ValidationError(
            _ERROR, f"JMESPath evaluation failed: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    if _has_non_finite(result):
        # A literal past binary64 (`1e400`), `NaN` or `Infinity`, given back as it is.
        raise ValidationError(
            _ERROR,
            "JMESPath result holds a number with no JSON form (past a 64-bit float, NaN or "
            "Infinity)",
        )
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
