"""RFC 6902 JSON Patch, RFC 7386 merge patch and a structural diff that writes RFC 6902 patches.

Hand-rolled rather than the ``jsonpatch`` package for three reasons that matter to a service:
``test`` must compare JSON values (``jsonpatch`` uses Python ``==``, so ``true`` passes a test for
``1``); a failure must name the operation by index; and ``copy`` must be bounded (thirty copies of
the root would otherwise build 2^30 nodes), so every copy is counted against a node budget.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from devutils.tools._datatree import DataError, compact, count_nodes, escape_pointer, same


class PatchError(DataError):
    """A patch that is malformed or cannot be applied; the message names the operation."""


def parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f'JSON pointer "{pointer}" must be empty or start with "/"')
    tokens = pointer[1:].split("/")
    for token in tokens:
        stripped = token.replace("~0", "").replace("~1", "")
        if "~" in stripped:
            raise ValueError(f'JSON pointer "{pointer}" has an invalid "~" escape')
    return [token.replace("~1", "/").replace("~0", "~") for token in tokens]


def _index(token: str, size: int, allow_end: bool) -> int:
    if token == "-" and allow_end:  # noqa: S105 - the RFC 6901 end-of-array token
        return size
    if not token.isdigit() or not token.isascii() or (len(token) > 1 and token[0] == "0"):
        raise ValueError(f'"{token}" is not an array index')
    index = int(token)
    if index > size or (index == size and not allow_end):
        raise ValueError(f"array index {index} is out of range (size {size})")
    return index


def _resolve(document: Any, tokens: list[str]) -> Any:
    node = document
    for position, token in enumerate(tokens):
        where = "".join("/" + escape_pointer(t) for t in tokens[: position + 1])
        if isinstance(node, dict):
            if token not in node:
                raise ValueError(f'"{where}" does not exist')
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), allow_end=False)]
        else:
            raise ValueError(f'"{where}" does not exist (its parent is not a container)')
    return node


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(document, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), allow_end=True), value)
    else:
        raise ValueError("the target's parent is not an object or array")
    return document


def _remove(document: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise ValueError("cannot remove the whole document")
    parent = _resolve(document, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise ValueError(f'"{last}" does not exist')
        return document, parent.pop(last)
    if isinstance(parent, list):
        return document, parent.pop(_index(last, len(parent), allow_end=False))
    raise ValueError("the target's parent is not an object or array")


def _member(op: dict[str, Any], name: str) -> Any:
    if name not in op:
        raise ValueError(f'missing "{name}"')
    return op[name]


def _pointer_member(op: dict[str, Any], name: str) -> list[str]:
    value = _member(op, name)
    if not isinstance(value, str):
        raise ValueError(f'"{name}" must be a string')
    return parse_pointer(value)


def apply_patch(document: Any, patch: Any, max_nodes: int) -> Any:
    """Apply RFC 6902 operations in order (to a copy); all or nothing."""
    if not isinstance(patch, list):
        raise PatchError("a JSON Patch is an array of operations")
    document = copy.deepcopy(document)
    nodes = count_nodes(document, max_nodes)
    for index, op in enumerate(patch):
        name = op.get("op") if isinstance(op, dict) else None
        label = f'operation {index} ("{name}")' if isinstance(name, str) else f"operation {index}"
        try:
            if not isinstance(op, dict):
                raise ValueError("an operation must be an object")
            document, nodes = _apply_one(document, op, nodes, max_nodes)
        except (ValueError, DataError) as exc:
            raise PatchError(f"{label} failed: {exc}") from None
    return document


def _apply_one(document: Any, op: dict[str, Any], nodes: int, max_nodes: int) -> tuple[Any, int]:
    name = _member(op, "op")
    path = _pointer_member(op, "path")
    if name == "add":
        value = copy.deepcopy(_member(op, "value"))
        nodes += count_nodes(value, max_nodes)
        return _add(document, path, value), nodes
    if name == "remove":
        document, _ = _remove(document, path)
        return document, nodes
    if name == "replace":
        _resolve(document, path)
        value = copy.deepcopy(_member(op, "value"))
        nodes += count_nodes(value, max_nodes)
        if not path:
            return value, nodes
        parent = _resolve(document, path[:-1])
        if isinstance(parent, list):
            parent[_index(path[-1], len(parent), allow_end=False)] = value
        else:
            parent[path[-1]] = value  # the key exists: _resolve checked it
        return document, nodes
    if name == "move":
        source = _pointer_member(op, "from")
        if path[: len(source)] == source and path != source:
            raise ValueError('"from" is a prefix of "path": cannot move a value into itself')
        document, value = _remove(document, source)
        return _add(document, path, value), nodes
    if name == "copy":
        value = copy.deepcopy(_resolve(document, _pointer_member(op, "from")))
        nodes += count_nodes(value, max_nodes)
        if nodes > max_nodes:
            raise DataError(f"the document would grow past {max_nodes} nodes")
        return _add(document, path, value), nodes
    if name == "test":
        actual = _resolve(document, path)
        if not same(actual, _member(op, "value")):
            raise ValueError(f"value at the path is {_short(actual)}, not {_short(op['value'])}")
        return document, nodes
    raise ValueError(f'unknown op "{name}"' if isinstance(name, str) else '"op" must be a string')


def _short(value: Any) -> str:
    text = compact(value)
    return text if len(text) <= 60 else text[:57] + "..."


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2, written without mutating either argument."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- structural diff --------------------------------------------------------------------------

Emit = Callable[[dict[str, Any], str], None]


def diff(original: Any, modified: Any, emit: Emit, path: str = "") -> None:
    """Emit RFC 6902 operations (and a readable line each) that turn original into modified.

    Objects are compared key by key; arrays by position (a common prefix and suffix are kept, the
    rest replaced in place, extra items added or removed from the end so indices stay valid).
    """
    if isinstance(original, dict) and isinstance(modified, dict):
        for key, value in original.items():
            where = f"{path}/{escape_pointer(key)}"
            if key not in modified:
                emit({"op": "remove", "path": where}, f"removed {where} (was {_short(value)})")
            else:
                diff(value, modified[key], emit, where)
        for key, value in modified.items():
            if key not in original:
                where = f"{path}/{escape_pointer(key)}"
                emit(
                    {"op": "add", "path": where, "value": value}, f"added {where}: {_short(value)}"
                )
        return
    if isinstance(original, list) and isinstance(modified, list):
        _diff_arrays(original, modified, emit, path)
        return
    if not same(original, modified):
        emit(
            {"op": "replace", "path": path, "value": modified},
            f"changed {path or '/'}: {_short(original)} -> {_short(modified)}",
        )


def _diff_arrays(original: list[Any], modified: list[Any], emit: Emit, path: str) -> None:
    head = 0
    shortest = min(len(original), len(modified))
    while head < shortest and same(original[head], modified[head]):
        head += 1
    tail = 0
    while tail < shortest - head and same(
        original[len(original) - 1 - tail], modified[len(modified) - 1 - tail]
    ):
        tail += 1
    old = original[head : len(original) - tail]
    new = modified[head : len(modified) - tail]
    common = min(len(old), len(new))
    for offset in range(common):
        diff(old[offset], new[offset], emit, f"{path}/{head + offset}")
    for offset in range(len(old) - 1, common - 1, -1):
        where = f"{path}/{head + offset}"
        emit({"op": "remove", "path": where}, f"removed {where} (was {_short(old[offset])})")
    for offset in range(common, len(new)):
        where = f"{path}/{head + offset}"
        emit(
            {"op": "add", "path": where, "value": new[offset]},
            f"added {where}: {_short(new[offset])}",
        )
