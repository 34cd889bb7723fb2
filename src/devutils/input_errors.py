"""Readable 400s for tool arguments that do not fit the input model.

Every front end validates through ``Registry.parse``, which hands pydantic's verdict here.  An
agent that misspells an argument must learn which name it got wrong and which one it meant
(``unknown field "text"; did you mean "content"?``), and a missing subject field is named
plainly (``field "content" is required``).  Other problems keep the tool's binding message with
pydantic's per-field reasons as details.  This runs on the error path only.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections import abc
from collections.abc import Mapping
from functools import cache
from typing import Any

import pydantic
from pydantic import AliasChoices

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
    "input": ("content", "args"),
    "arguments": ("args",),
    "params": ("args",),
    "parameters": ("args",),
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
    "name": ("domain", "tool"),
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


Loc = tuple[int | str, ...]


def _path(loc: Loc) -> str:
    """``steps.0.input``: a location as the messages name it, client-chosen keys cut."""
    return ".".join(_shown(part) if isinstance(part, str) else str(part) for part in loc)


@cache
def _field_names(model: type[ToolInput]) -> dict[str, str]:
    """Every key that names a field of ``model`` (camelCase, snake_case, explicit aliases),
    mapped to the field: pydantic reports a nested location by the key the client sent."""
    names: dict[str, str] = {}
    for name, info in model.model_fields.items():
        names[name] = names[_wire(model, name)] = name
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            if isinstance(choice, str):
                names[choice] = name
    return names


def _unwrapped(kind: Any) -> Any:
    """``X`` for ``X | None`` and ``Annotated[X, ...]``; other types unchanged."""
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin is typing.Union or origin is types.UnionType:
            members = [arg for arg in typing.get_args(kind) if arg is not type(None)]
            if len(members) != 1:
                return kind  # a real union: pydantic's location names the member, not a field
            kind = members[0]
        else:
            return kind


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, ToolInput)


def _inside(kind: Any, part: int | str) -> Any:
    """The type found at ``part`` of a value of type ``kind``, or None when it is not known."""
    kind = _unwrapped(kind)
    if _is_model(kind):
        name = _field_names(kind).get(part) if isinstance(part, str) else None
        return None if name is None else kind.model_fields[name].annotation
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if isinstance(part, int) and origin in (list, tuple, abc.Sequence) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return args[part] if part < len(args) else None
        return args[0]
    if isinstance(part, str) and origin in (dict, abc.Mapping) and len(args) == 2:
        return args[1]
    return None


def _holder(model: type[ToolInput], where: Loc) -> type[ToolInput] | None:
    """The model of the object at ``where`` (the one holding an unknown key), or None."""
    kind: Any = model
    for part in where:
        kind = _inside(kind, part)
        if kind is None:
            return None
    kind = _unwrapped(kind)
    return kind if _is_model(kind) else None


def _keys_at(args: Any, where: Loc) -> set[str]:
    """The keys the client sent in the object at ``where``."""
    for part in where:
        in_object = isinstance(args, Mapping) and part in args
        in_list = isinstance(args, list) and isinstance(part, int) and part < len(args)
        if not (in_object or in_list):
            return set()
        args = args[part]
    return {key for key in args if isinstance(key, str)} if isinstance(args, Mapping) else set()


def _unknown_field(model: type[ToolInput] | None, loc: Loc, given: set[str]) -> str:
    """One unknown key at ``loc``, judged against the model of the object that holds it."""
    key = str(loc[-1])
    prefix = _path(loc[:-1]) + "." if len(loc) > 1 else ""
    if model is not None and key in model.model_fields:
        # Both spellings of one field (caseType and case_type): pydantic refuses the second.
        wire = _wire(model, key)
        return f'field "{prefix}{wire}" is given twice (as "{prefix}{wire}" and "{prefix}{key}")'
    meant = None if model is None else suggest(model, key)
    if meant is None or meant in given:
        return f'unknown field "{prefix}{_shown(key)}"'
    return f'unknown field "{prefix}{key}"; did you mean "{meant}"?'


def _allowed(model: type[ToolInput], top: bool, paths: list[str]) -> str:
    """What may be sent in the objects at ``paths``: the top level's list keeps its plain
    ``allowed fields: ...`` form; a nested object's says where it is."""
    wire, _ = _fields(model)
    where = "" if top else f" of {', '.join(paths)}"
    if wire:
        return f"allowed fields{where}: {', '.join(wire)}"
    return "this tool takes no arguments" if top else f"{', '.join(paths)} take no fields"


def _unknown_fields(model: type[ToolInput], locs: list[Loc], args: Any) -> tuple[str, list[str]]:
    """The message naming the unknown keys at ``locs`` (the first few), and the allowed
    fields of each object holding one: an agent corrects ``steps.0.input`` from a step's
    fields (``tool, args, id``), not from the top level's."""
    named: list[str] = []
    holders: dict[type[ToolInput], list[str]] = {}
    for loc in locs[:_MAX_NAMED]:
        holder = _holder(model, loc[:-1])
        named.append(_unknown_field(holder, loc, _keys_at(args, loc[:-1])))
        if holder is not None:
            paths = holders.setdefault(holder, [])
            if (path := _path(loc[:-1])) not in paths:
                paths.append(path)
    if len(locs) > _MAX_NAMED:
        named.append(f"and {len(locs) - _MAX_NAMED} more unknown fields")
    allowed = [_allowed(holder, holder is model, paths) for holder, paths in holders.items()]
    return "; ".join(named), allowed


def unknown_fields_error(
    model: type[ToolInput], keys: list[str], given: Mapping[str, Any]
) -> ValidationError:
    """For top-level keys refused before validation (an unknown key whose value was null)."""
    message, allowed = _unknown_fields(model, [(key,) for key in keys], given)
    return ValidationError(message, "; ".join(allowed))


def input_error(
    model: type[ToolInput],
    exc: pydantic.ValidationError,
    fallback_message: str,
    given: Mapping[str, Any],
) -> ValidationError:
    """Our 400 for pydantic's verdict on ``model`` (``given``: the arguments as sent)."""
    unknown: list[Loc] = []
    missing: list[str] = []
    others: list[str] = []
    untold = 0
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        if err["type"] == "extra_forbidden":
            unknown.append(tuple(err["loc"]))
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
        message, allowed = _unknown_fields(model, unknown, given)
        return ValidationError(message, "; ".join([*reasons, *allowed]))
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
