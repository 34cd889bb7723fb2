"""Readable 400s for tool arguments that do not fit the input model.

Every front end validates through ``Registry.parse``, which hands pydantic's verdict here.  An
agent that misspells an argument must learn which name it got wrong and which one it meant
(``unknown field "text"; did you mean "content"?``), and a missing subject field is named
plainly (``field "content" is required``).  Other problems keep the tool's binding message with
pydantic's per-field reasons as details.  This runs on the error path only.
"""

from __future__ import annotations

import difflib
from functools import cache

import pydantic

from devutils.errors import ValidationError
from devutils.models import ToolInput, wire_name

# Names agents commonly reach for, and the fields they usually mean.  A suggestion is only made
# when the tool has that field, so one word may point at several fields of different tools.
KNOWN_ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("content",),
    "data": ("content",),
    "body": ("content",),
    "message": ("content",),
    "msg": ("content",),
    "string": ("content",),
    "str": ("content",),
    "value": ("content", "input"),
    "payload": ("content",),
    "input": ("content",),
    "algo": ("algorithm",),
    "alg": ("algorithm",),
    "hashalgorithm": ("algorithm",),
    "digest": ("algorithm",),
    "secret": ("key",),
    "secretkey": ("key",),
    "regex": ("pattern",),
    "regexp": ("pattern",),
    "expression": ("pattern",),
    "jwt": ("token",),
    "accesstoken": ("token",),
    "pem": ("certificate",),
    "cert": ("certificate",),
    "pass": ("password",),
    "pwd": ("password",),
    "case": ("caseType",),
    "type": ("caseType", "sortType", "recordType"),
    "mode": ("action",),
    "operation": ("action",),
    "op": ("action",),
    "link": ("url",),
    "uri": ("url",),
    "href": ("url",),
    "hostname": ("domain", "host"),
    "name": ("domain",),
    "address": ("ip",),
    "tz": ("timezone",),
    "zone": ("timezone",),
    "from": ("inputFormat",),
    "to": ("outputFormat",),
    "format": ("inputFormat", "action"),
    "time": ("input",),
    "timestamp": ("input",),
    "direction": ("order",),
    "length": ("size",),
    "n": ("count",),
    "number": ("count",),
    "amount": ("count",),
}


# Client-chosen names are echoed: long ones are cut, and only the first few are named.
_MAX_NAME_CHARS = 64
_MAX_NAMED = 5
# Only the first few of pydantic's other reasons are spelled out, the rest counted: a list of
# 250,000 wrong items made an 18 MB answer (twice that over MCP), past MAX_OUTPUT_BYTES.  Each
# reason is cut too (pydantic's longest, an enum's choices, is about 250 characters; our own
# validators' sentences may quote the input).
_MAX_REASONS = 10
_MAX_REASON_CHARS = 500


def _shown(key: str) -> str:
    return key if len(key) <= _MAX_NAME_CHARS else key[:_MAX_NAME_CHARS] + "..."


def _reason(loc: tuple[int | str, ...], msg: str) -> str:
    """``loc: msg`` with dict keys (client-chosen) and the sentence cut to their bounds."""
    where = ".".join(_shown(part) if isinstance(part, str) else str(part) for part in loc)
    # Our own validators' sentences, without pydantic's "Value error, " label.
    text = msg.removeprefix("Value error, ")
    if len(text) > _MAX_REASON_CHARS:
        text = text[:_MAX_REASON_CHARS] + "..."
    return f"{where}: {text}" if where else text


def _squash(name: str) -> str:
    """A spelling-insensitive form: ``url_safe``, ``urlSafe`` and ``URL-SAFE`` all agree."""
    return name.replace("_", "").replace("-", "").casefold()


def _wire(model: type[ToolInput], name: str) -> str:
    """A field's wire name: its explicit alias (``from``, a Python keyword) or its camelCase."""
    return model.model_fields[name].serialization_alias or wire_name(name)


@cache
def _fields(model: type[ToolInput]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(wire names in declaration order, every accepted key: camelCase and snake_case)."""
    wire = tuple(_wire(model, name) for name in model.model_fields)
    accepted = frozenset((*wire, *model.model_fields))
    return wire, accepted


def accepted_keys(model: type[ToolInput]) -> frozenset[str]:
    return _fields(model)[1]


def suggest(model: type[ToolInput], key: str) -> str | None:
    """The field an unknown ``key`` most likely meant, or None."""
    wire, _ = _fields(model)
    if len(key) > _MAX_NAME_CHARS:
        return None
    squashed = {_squash(name): name for name in wire}
    wanted = _squash(key)
    if wanted in squashed:
        return squashed[wanted]
    for candidate in KNOWN_ALIASES.get(wanted, ()):
        if candidate in wire:
            return candidate
    close = difflib.get_close_matches(wanted, list(squashed), n=1, cutoff=0.75)
    return squashed[close[0]] if close else None


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _unknown_field(model: type[ToolInput], key: str, given: set[str]) -> str:
    if key in model.model_fields:
        # Both spellings of one field (caseType and case_type): pydantic refuses the second.
        wire = _wire(model, key)
        return f'field "{wire}" is given twice (as "{wire}" and "{key}")'
    meant = suggest(model, key)
    if meant is None or meant in given:
        return f'unknown field "{_shown(key)}"'
    return f'unknown field "{key}"; did you mean "{meant}"?'


def _unknown_fields(model: type[ToolInput], keys: list[str], given: set[str]) -> str:
    named = [_unknown_field(model, key, given) for key in keys[:_MAX_NAMED]]
    if len(keys) > _MAX_NAMED:
        named.append(f"and {len(keys) - _MAX_NAMED} more unknown fields")
    return "; ".join(named)


def unknown_fields_error(
    model: type[ToolInput], keys: list[str], given: set[str]
) -> ValidationError:
    """For keys refused before validation (an unknown key whose value was null)."""
    wire, _ = _fields(model)
    return ValidationError(
        _unknown_fields(model, keys, given), f"allowed fields: {', '.join(wire)}"
    )


def input_error(
    model: type[ToolInput], exc: pydantic.ValidationError, fallback_message: str, given: set[str]
) -> ValidationError:
    """Our 400 for pydantic's verdict on ``model`` (``given``: the keys the client sent)."""
    unknown: list[str] = []
    missing: list[str] = []
    others: list[str] = []
    untold = 0
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        if err["type"] == "extra_forbidden":
            unknown.append(".".join(str(part) for part in err["loc"]))
        elif err["type"] == "missing" and len(err["loc"]) == 1:
            missing.append(str(err["loc"][0]))
        elif len(others) < _MAX_REASONS:
            others.append(_reason(err["loc"], err["msg"]))
        else:
            untold += 1
    if untold:
        others.append(f"and {untold} more {'error' if untold == 1 else 'errors'}")
    # Every problem goes in the details (the first few in full, the rest counted), so one
    # round trip can fix the whole call.
    reasons = [*others, *(f'field "{name}" is required' for name in missing)]
    if unknown:
        wire, _ = _fields(model)
        return ValidationError(
            _unknown_fields(model, unknown, given),
            "; ".join([*reasons, f"allowed fields: {', '.join(wire)}"]),
        )
    if missing:
        message = (
            f'field "{missing[0]}" is required'
            if len(missing) == 1
            else f"fields {_quoted(missing)} are required"
        )
        required = [
            _wire(model, name) for name, info in model.model_fields.items() if info.is_required()
        ]
        return ValidationError(
            message, "; ".join([*others, f"required fields: {', '.join(required)}"])
        )
    return ValidationError(fallback_message, "; ".join(others))
