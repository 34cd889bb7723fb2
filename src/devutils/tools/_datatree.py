"""Documents as plain JSON values: bounded JSON and YAML loading, normalising, equality, pointers.

Every data tool works on the JSON data model (dict, list, str, int, float, bool, None).  Loading
is bounded before any tree is built: JSON by a linear bracket pre-scan (see ``_jsontext``), YAML by
a first pass over its event stream that measures nesting and counts every node an alias would
expand to, so a billion-laughs document is refused after reading its few hundred bytes of events,
never expanded.  YAML is read with PyYAML's safe loader only (no tags that construct objects).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable, Hashable
from typing import Any, Literal

import yaml

from devutils.json_digits import exceeds_digit_limit
from devutils.tools._jsontext import nesting_depth, strip_bom

# Nodes (scalars and containers) one document may expand to, aliases included.  A 1 MiB body
# holds at most ~500 000 JSON nodes; the cap leaves room for YAML aliases used as intended.
MAX_NODES = 1_000_000

TextFormat = Literal["json", "yaml"]

# libyaml's parser when PyYAML was built with it; the pure-Python one otherwise.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"

_OPEN_EVENTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE_EVENTS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


# Python refuses to convert integers of more than 4300 decimal digits to or from text
# (sys.get_int_max_str_digits); 14,000 bits is about 4,214 digits.
MAX_INT_DIGITS = 4200
_MAX_INT_BITS = 14_000


class DataError(ValueError):
    """Input that cannot be read as the format says, or that passes a limit."""


def _refuse_constant(name: str) -> Any:
    raise DataError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A JSON number as a float, refused when it is past binary64 (``1e400``): read as infinity it
    came out as ``Infinity`` (not JSON) or ``null`` with no warning."""
    value = float(text)
    if math.isinf(value):
        raise DataError(
            f"the number {text[:40]} is beyond a 64-bit float; send it as a string to keep it"
        )
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DataError(f'member "{key}" appears twice in one object')
            seen.add(key)
    return out


def load_json(text: str, max_depth: int, unique_keys: bool = False) -> Any:
    """JSON text as a value; a duplicate member keeps the last value unless ``unique_keys``."""
    text = strip_bom(text)
    depth = nesting_depth(text)
    if depth > max_depth:
        raise DataError(f"nesting depth {depth} exceeds the limit of {max_depth}")
    try:
        return json.loads(
            text,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_members if unique_keys else None,
        )
    except json.JSONDecodeError as exc:
        # Python's message for a second mark says "decode using utf-8-sig": not the caller's remedy.
        problem = "unexpected byte order mark (U+FEFF)" if "BOM" in exc.msg else exc.msg
        raise DataError(
            f"invalid JSON: {problem} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:  # integer digit limit
        raise DataError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise DataError("nesting too deep") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "invalid YAML"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f"invalid YAML: {problem} (line {mark.line + 1}, column {mark.column + 1})"
        return f"invalid YAML: {problem}"
    return f"invalid YAML: {exc}"


def check_yaml_events(text: str, max_depth: int, max_nodes: int = MAX_NODES) -> None:
    """Measure nesting and the expanded node count from the event stream (no tree is built).

    An alias counts as every node of the value its anchor names; an alias to an anchor whose node
    is still open (a recursive structure) is refused.
    """
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    count = 0
    try:
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, _OPEN_EVENTS):
                count += 1
                open_nodes.append((event.anchor, count - 1))
                if len(open_nodes) > max_depth:
                    raise DataError(f"nesting depth exceeds the limit of {max_depth}")
            elif isinstance(event, _CLOSE_EVENTS):
                anchor, start = open_nodes.pop()
                if anchor is not None:
                    sizes[anchor] = count - start
            elif isinstance(event, yaml.ScalarEvent):
                count += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor or "")
                if size is None:
                    raise DataError(
                        f"alias *{event.anchor} refers to an undefined or enclosing anchor "
                        "(recursive structures are refused)"
                    )
                count += size
            if count > max_nodes:
                raise DataError(
                    f"the document expands to more than {max_nodes} nodes (aliases counted)"
                )
    except yaml.YAMLError as exc:
        raise DataError(_yaml_problem(exc)) from None


def _key_display(key: Any) -> str:
    """A mapping key as the reader wrote it: strings quoted, so ``"1"`` and ``1`` differ."""
    return json.dumps(key, ensure_ascii=False) if isinstance(key, str) else _key_text(key)


class _KeyCheckingLoader(_YAML_LOADER):  # type: ignore[misc]
    """The safe loader, refusing mapping keys a Python dict would silently merge.

    PyYAML builds mappings as dicts, so a repeated key keeps its last value and keys of different
    types that Python finds equal (``1``, ``1.0`` and ``true``) become one entry: a member lost
    without a word.  The latter is always refused; a true repeat keeps the last value (as JSON
    input does) unless ``unique_keys`` (a JSON Patch, RFC 6902 A.13), where it is refused.
    """

    unique_keys = False

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            self._check_keys(node)
        return super().construct_mapping(node, deep)

    def _check_keys(self, node: yaml.MappingNode) -> None:
        # Only the mapping's own keys: a key that overrides one from a merge (<<) is intended.
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base constructor refuses it with its own message
            if key not in seen:
                seen[key] = key
                continue
            earlier = seen[key]  # the first key equal to this one, with its own type
            if type(earlier) is not type(key):
                problem = (
                    f"keys {_key_display(earlier)} and {_key_display(key)} would become one, "
                    "losing a member"
                )
            elif self.unique_keys:
                problem = f"member {_key_display(key)} appears twice in one object"
            else:
                continue
            raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)


class _UniqueKeyLoader(_KeyCheckingLoader):
    unique_keys = True


def load_yaml(
    text: str, max_depth: int, max_nodes: int = MAX_NODES, unique_keys: bool = False
) -> Any:
    """YAML text as Python values (one document); a repeated key is refused if ``unique_keys``,
    else keeps its last value."""
    text = strip_bom(text)
    check_yaml_events(text, max_depth, max_nodes)
    loader = _UniqueKeyLoader if unique_keys else _KeyCheckingLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, see above
    except yaml.YAMLError as exc:
        raise DataError(_yaml_problem(exc)) from None
    except ValueError as exc:  # a value its constructor refuses, e.g. a date 2024-02-30
        raise value_error(exc, "YAML") from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise DataError("nesting too deep") from None


def value_error(exc: ValueError, language: str) -> DataError:
    """A parser's ValueError as the input's fault: an integer past Python's 4300-digit limit for
    text conversion, or a value its constructor refuses (a date 2024-02-30)."""
    if exceeds_digit_limit(exc):
        return DataError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return DataError(f"invalid {language} value: {str(exc)[:200]}")


class Warnings:
    """Lossy steps of a conversion: one line per kind, with where it first happened and how often."""

    def __init__(self) -> None:
        self._seen: dict[str, list[Any]] = {}

    def add(self, message: str, where: str) -> None:
        entry = self._seen.get(message)
        if entry is None:
            self._seen[message] = [where or "/", 1]
        else:
            entry[1] += 1

    def lines(self) -> list[str]:
        out = []
        for message, (where, count) in self._seen.items():
            times = f", {count} times" if count > 1 else ""
            out.append(f"{message} (at {where}{times})")
        return out


def escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _key_text(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, dt.date | dt.time):
        return key.isoformat()
    return str(key)


def _scalar(value: Any, where: str, warnings: Warnings) -> Any:
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        # A hex or octal literal can be any length; every writer would fail on it later.
        raise DataError(f"an integer has more than {MAX_INT_DIGITS} digits at {where or '/'}")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        warnings.add("NaN or infinity has no JSON form: written as a string", where)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dt.date | dt.time):
        warnings.add("date/time value written as an ISO 8601 string", where)
        return value.isoformat()
    if isinstance(value, bytes):
        warnings.add("binary value written as a base64 string", where)
        return base64.b64encode(value).decode("ascii")
    raise DataError(f"unsupported value of type {type(value).__name__} at {where or '/'}")


def _key_collision(node: dict[Any, Any], text: str, where: str) -> DataError:
    """Two keys (``1`` and ``"1"``) that become the same JSON key: one member would be lost."""
    first, second, *_ = (key for key in node if _key_text(key) == text)
    return DataError(
        f"keys {_key_display(first)} and {_key_display(second)} of the object at {where or '/'} "
        f"both become the JSON key {json.dumps(text, ensure_ascii=False)}, losing a member"
    )


def normalise(value: Any, warnings: Warnings, max_depth: int, max_nodes: int = MAX_NODES) -> Any:
    """A fresh tree of JSON types (aliases expanded, sets as lists, keys as strings)."""
    count = 0

    def walk(node: Any, where: str, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > max_nodes:
            raise DataError(f"the document has more than {max_nodes} nodes")
        if isinstance(node, dict):
            if depth >= max_depth:
                raise DataError(f"nesting depth exceeds the limit of {max_depth}")
            out: dict[str, Any] = {}
            for key, item in node.items():
                if not isinstance(key, str):
                    warnings.add("non-string key written as a string", where)
                    key = _key_text(key)
                if key in out:
                    raise _key_collision(node, key, where)
                out[key] = walk(item, f"{where}/{escape_pointer(key)}", depth + 1)
            return out
        if isinstance(node, list | tuple | set | frozenset):
            if depth >= max_depth:
                raise DataError(f"nesting depth exceeds the limit of {max_depth}")
            if isinstance(node, set | frozenset):
                warnings.add("set written as an array", where)
                node = sorted(node, key=_key_text)
            return [walk(item, f"{where}/{index}", depth + 1) for index, item in enumerate(node)]
        return _scalar(node, where, warnings)

    try:
        return walk(value, "", 0)
    except RecursionError:
        raise DataError("nesting too deep") from None


def load_text(
    text: str,
    fmt: TextFormat,
    max_depth: int,
    warnings: Warnings | None = None,
    unique_keys: bool = False,
) -> Any:
    """JSON or YAML text as a plain JSON value; ``unique_keys`` refuses a repeated member."""
    if fmt == "json":
        return load_json(text, max_depth, unique_keys)
    loaded = load_yaml(text, max_depth, unique_keys=unique_keys)
    return normalise(loaded, warnings or Warnings(), max_depth)


def same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, but true is not 1; objects ignore key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)


def count_nodes(value: Any, limit: int) -> int:
    """Nodes in a value, stopping (DataError) past ``limit``."""
    total = 0
    stack = [value]
    while stack:
        node = stack.pop()
        total += 1
        if total > limit:
            raise DataError(f"the result would have more than {limit} nodes")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return total


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def charged_json(value: Any, charge: Callable[[int], None]) -> str:
    """Compact JSON text of a value, charging its size (stops early for huge results)."""
    pieces = []
    for chunk in json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).iterencode(value):
        charge(len(chunk))
        pieces.append(chunk)
    return "".join(pieces)
