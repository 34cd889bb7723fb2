"""JSON Schema keywords whose cost must follow the input's size, for data/schema/validate.

jsonschema runs ``pattern``, ``patternProperties`` and ``additionalProperties`` with Python's
``re``, a backtracking engine: a schema's ``(a+)+$`` against 30 characters takes seconds, and the
schema is the caller's.  Here they run on RE2, which is linear in the text (and refuses what
cannot be linear: look-around, back-references).  jsonschema's ``uniqueItems`` compares objects
and arrays pair by pair (20k items: minutes); here each item gets a hashable stand-in, so one
pass finds a repeat.  Each replacement keeps jsonschema's error messages.

Installed with ``jsonschema.validators.extend``, jsonschema's documented way to change keywords.
One path is not covered: ``unevaluatedProperties`` finds the keys ``patternProperties`` matched
through jsonschema's own helper, with ``re``; the tool's deadline (it never runs on the event
loop) bounds that.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema.validators
import re2
from jsonschema.exceptions import ValidationError as SchemaViolation

from devutils.tools._re2 import compiled


class UnsupportedPattern(ValueError):
    """A schema's regular expression that RE2 cannot run in linear time (or cannot parse)."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"pattern {pattern[:200]!r}: {reason}")


def _compiled(pattern: str) -> Any:
    try:
        return compiled(pattern)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else b""
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        raise UnsupportedPattern(
            pattern, f"not supported by RE2 ({reason}); look-around and back-references are not"
        ) from None


def search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


# --- the keywords (jsonschema's signature: validator, keyword value, instance, schema) ---------


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[SchemaViolation]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield SchemaViolation(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[SchemaViolation]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _extras(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return {
        key
        for key in instance
        if key not in properties and not any(search(pattern, key) for pattern in patterns)
    }


def _listed(extras: list[str]) -> tuple[str, str]:
    return ", ".join(repr(extra) for extra in extras), "was" if len(extras) == 1 else "were"


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[SchemaViolation]:
    if not validator.is_type(instance, "object"):
        return
    extras = _extras(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield SchemaViolation(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            listed, verb = _listed(sorted(extras, key=str))
            yield SchemaViolation(
                f"Additional properties are not allowed ({listed} {verb} unexpected)"
            )


def _stand_in(value: Any) -> Any:
    """A hashable value equal to another's exactly when JSON Schema calls the two equal: true is
    not 1, 1 is 1.0 (Python's numbers hash alike), key order does not count, item order does."""
    if value is True or value is False:
        return ("boolean", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list | tuple):
        return ("array", tuple(_stand_in(item) for item in value))
    if isinstance(value, Mapping):
        return ("object", frozenset((key, _stand_in(item)) for key, item in value.items()))
    return ("value", value)  # numbers and null


def _unique_items(
    validator: Any, unique: Any, instance: Any, schema: Any
) -> Iterator[SchemaViolation]:
    if not (unique and validator.is_type(instance, "array")):
        return
    seen: set[Any] = set()
    for item in instance:
        stand_in = _stand_in(item)
        if stand_in in seen:
            yield SchemaViolation(f"{instance!r} has non-unique elements")
            return
        seen.add(stand_in)


_REPLACED = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}


@functools.cache
def bounded(cls: Any) -> Any:
    """The validator class ``cls`` with the keywords above in place of jsonschema's."""
    replaced = {name: check for name, check in _REPLACED.items() if name in cls.VALIDATORS}
    return jsonschema.validators.extend(cls, validators=replaced)  # type: ignore[no-untyped-call]
