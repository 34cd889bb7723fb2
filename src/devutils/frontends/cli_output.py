"""What the CLI prints: JSON results, ``--raw`` results and errors, and help examples.

``--raw`` prints a tool's main output field alone (the first of the declaration's ``raw`` fields
the output has, else its first field; the whole output as JSON when none is there): a string as is
with a line break added when it has none, numbers and booleans as JSON literals, a list one item
per line (objects as one-line JSON), an object as indented JSON.  A tool whose output carries
``isBinary``/``resultBase64`` (base64, url, encode, compress: encoding and decoding alike) gets its
exact bytes written, with nothing added, so a round trip through pipes is lossless.
"""

from __future__ import annotations

import binascii
import json
import shlex
from collections.abc import Mapping
from typing import Any

import orjson

from devutils.errors import ToolError
from devutils.frontends.cli_input import flag
from devutils.registry import ToolSpec


def raw_fields(spec: ToolSpec) -> tuple[str, ...]:
    if spec.raw is None:
        return (next(iter(spec.output_model.model_fields)),)
    return (spec.raw,) if isinstance(spec.raw, str) else spec.raw


def _dumps(value: Any, indent: bool = False) -> bytes:
    """JSON as REST writes it.  orjson refuses integers past 64 bits, which the data tools keep
    exact (a queried or patched document): those go through the standard library."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None)
    except TypeError:
        text = json.dumps(
            value,
            ensure_ascii=False,
            indent=2 if indent else None,
            separators=None if indent else (",", ":"),
        )
        return text.encode()


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _dumps(value).decode()


def render_raw(spec: ToolSpec, dumped: Mapping[str, Any]) -> bytes:
    """The bytes ``--raw`` writes for a dumped (wire-named) output."""
    value = None
    for name in raw_fields(spec):
        field = spec.output_model.model_fields[name]
        value = dumped.get(field.serialization_alias or field.alias or name)
        if value is not None:
            break
    if "isBinary" in dumped and isinstance(value, str):
        encoded = dumped.get("resultBase64")
        if dumped["isBinary"] and isinstance(encoded, str):
            return binascii.a2b_base64(encoded)
        return value.encode()
    if value is None:  # not for this action: the whole output rather than nothing
        return render_json(dumped)
    if isinstance(value, list):
        return b"".join(_scalar(item).encode() + b"\n" for item in value)
    if isinstance(value, dict):
        return _dumps(value, indent=True) + b"\n"
    text = _scalar(value)
    return (text if text.endswith("\n") else text + "\n").encode()


def render_json(dumped: Mapping[str, Any]) -> bytes:
    return _dumps(dumped, indent=True) + b"\n"


def render_error(error: ToolError, raw: bool) -> str:
    """One JSON object on one line, or with ``--raw`` a one-line message."""
    if raw:
        return "devutils: " + " ".join(error.mcp_text().split()) + "\n"
    envelope = error.envelope()
    envelope["error"] = {
        key: _json_safe(value) if isinstance(value, str) else value
        for key, value in envelope["error"].items()
    }
    return orjson.dumps(envelope).decode() + "\n"


def _json_safe(text: str) -> str:
    """Text JSON can carry: a file or variable name that is not UTF-8 (its bytes arrive as lone
    surrogates) is shown with its bytes escaped, ``nofile\\xff``."""
    try:
        encoded = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no undecodable byte could give
        encoded = text.encode("utf-8", "surrogatepass")
    return encoded.decode("utf-8", "backslashreplace")


def _argument(name: str, value: Any) -> list[str]:
    option = flag(name)
    if value is True:
        return [option]
    if isinstance(value, str):
        if value == "-":
            raise ValueError("a literal '-' only goes through --json")
        text = "@" + value if value.startswith("@") else value
    else:
        text = orjson.dumps(value).decode()
    if text.startswith("-"):
        return [f"{option}={shlex.quote(text)}"]
    return [option, shlex.quote(text)]


def example_command(spec: ToolSpec, args: Mapping[str, Any]) -> str:
    """An example's arguments as a ``devutils`` command line (``--json`` when flags cannot say it)."""
    by_wire = {}
    for name, field in spec.input_model.model_fields.items():
        by_wire[name] = name
        if field.validation_alias is not None:
            for choice in getattr(field.validation_alias, "choices", ()):
                by_wire[str(choice)] = name
    words = ["devutils", *spec.words]
    try:
        for key, value in args.items():
            if value is None:
                continue
            words.extend(_argument(by_wire[key], value))
    except (KeyError, ValueError):
        return " ".join(
            ["devutils", *spec.words, "--json", shlex.quote(orjson.dumps(dict(args)).decode())]
        )
    return " ".join(words)
