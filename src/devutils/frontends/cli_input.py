"""Where a CLI field's value comes from: the command line, standard input, a file or a variable.

Rules (docs/cli.md):

- ``-`` reads standard input, ``@PATH`` reads a file, ``@@TEXT`` is the literal ``@TEXT``.
- The tool's *subject* (its first required text field: ``content``, ``token``, ``password`` ...)
  reads standard input when it is not given and standard input is not a terminal.
- Secret fields (``password``, ``key``, ``secret``, ``token`` ...) also take ``--FIELD-env VAR``.
- Input is read as bytes and decoded as strict UTF-8: the tools take text.  When the input model
  has a byte-encoding field (``<field>Encoding`` or ``inputEncoding`` with a ``base64`` choice),
  bytes that are not UTF-8 are sent base64-encoded with that field set instead.
- Free text (``content``, ``text``) is passed exactly; for any other field one trailing line
  break is dropped, so ``echo 10.0.0.1 | devutils network ip`` works.
- Everything read counts against ``MAX_BODY_BYTES``, the limit REST applies to a request body.
"""

from __future__ import annotations

import binascii
import os
import types
import typing
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from devutils.errors import NotFoundError, RequestTooLargeError, ValidationError
from devutils.models import ToolInput

SECRET_WORDS = frozenset({"password", "passphrase", "secret", "key", "token"})
VERBATIM_FIELDS = frozenset({"content", "text"})
Kind = Literal["text", "json", "other"]


def _unwrap(annotation: Any) -> list[Any]:
    """The member types of a field's annotation (Optional, unions and Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                members.extend(_unwrap(arg))
        return members
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return [annotation]


def field_kind(annotation: Any) -> Kind:
    """``text`` when a field takes a string, ``json`` for objects and arrays, else ``other``."""
    members = _unwrap(annotation)
    if any(member is str for member in members):
        return "text"
    if any(
        member in (dict, list)
        or typing.get_origin(member) in (dict, list)
        or (isinstance(member, type) and issubclass(member, BaseModel))  # a nested object
        for member in members
    ):
        return "json"
    return "other"


def is_secret(name: str) -> bool:
    return any(word in SECRET_WORDS for word in name.split("_"))


def secret_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The text fields of ``model`` that hold a secret (Python names).

    The one rule every frontend follows: the CLI offers ``--FIELD-env`` for these, the input
    schemas mark them ``writeOnly`` (so the web pages mask them and keep them out of URLs).
    """
    return tuple(
        name
        for name, field in model.model_fields.items()
        if is_secret(name) and field_kind(field.annotation) == "text"
    )


def subject_field(model: type[ToolInput]) -> str | None:
    """The field standard input fills: the first required text field."""
    for name, field in model.model_fields.items():
        if field.is_required() and field_kind(field.annotation) == "text":
            return name
    return None


def encoding_field(model: type[ToolInput], name: str) -> str | None:
    """The field that says ``name`` is base64, when the model has one."""
    for candidate in (f"{name}_encoding", "input_encoding"):
        field = model.model_fields.get(candidate)
        if field is None:
            continue
        choices = [
            choice
            for member in _unwrap(field.annotation)
            if typing.get_origin(member) is Literal
            for choice in typing.get_args(member)
        ]
        if "base64" in choices:
            return candidate
    return None


def stdin_is_piped(stdin: Any) -> bool:
    try:
        return bool(
            stdin is not None and not stdin.closed and stdin.readable() and not stdin.isatty()
        )
    except (AttributeError, ValueError, OSError):
        return False


@dataclass
class Loaded:
    text: str
    base64: bool = False  # the bytes were not UTF-8 and are sent base64-encoded


class Sources:
    """Reads ``-``, ``@file`` and ``--x-env`` values for one command, within one byte budget."""

    def __init__(self, stdin: BinaryIO | None, limit: int, environ: typing.Mapping[str, str]):
        self._stdin = stdin
        self._left = limit
        self._limit = limit
        self._environ = environ
        self.stdin_taken_by: str | None = None

    # -- raw bytes ---------------------------------------------------------------------------
    def _count(self, data: bytes, origin: str) -> bytes:
        if len(data) > self._left:
            raise RequestTooLargeError(
                "Request too large", f"{origin}: input exceeds {self._limit} bytes (MAX_BODY_BYTES)"
            )
        self._left -= len(data)
        return data

    def stdin_bytes(self, origin: str) -> bytes:
        if self.stdin_taken_by is not None:
            raise ValidationError(
                "Invalid request",
                f"{origin}: standard input is already read by {self.stdin_taken_by}",
            )
        if self._stdin is None:
            raise ValidationError("Invalid request", f"{origin}: no standard input")
        self.stdin_taken_by = origin
        try:
            data = self._stdin.read(self._left + 1)
        except OSError as exc:
            raise ValidationError(
                "Invalid request", f"{origin}: cannot read standard input ({exc.strerror or exc})"
            ) from None
        return self._count(data, "stdin")

    def file_bytes(self, path: str, origin: str) -> bytes:
        try:
            with open(path, "rb") as handle:
                data = handle.read(self._left + 1)
        except OSError as exc:
            raise NotFoundError(
                "Input file not readable", f"{origin}: {path}: {exc.strerror or exc}"
            ) from None
        return self._count(data, origin)

    # -- values ------------------------------------------------------------------------------
    def value_bytes(self, value: str, origin: str) -> bytes | None:
        """The bytes a ``-`` or ``@path`` value stands for; None for a literal value."""
        if value == "-":
            return self.stdin_bytes(origin)
        if value.startswith("@") and not value.startswith("@@"):
            return self.file_bytes(value[1:], origin)
        return None

    def env_text(self, variable: str, origin: str) -> str:
        value = self._environ.get(variable)
        if value is None:
            raise ValidationError(
                "Invalid request", f"{origin}: environment variable {variable} is not set"
            )
        self._count(value.encode(errors="surrogateescape"), origin)
        return value  # undecodable bytes stay surrogates: the caller applies the bytes rules


def literal(value: str) -> str:
    """A command-line value as typed, with the ``@@`` escape undone."""
    return value[1:] if value.startswith("@@") else value


def undecoded_bytes(value: str) -> bytes | None:
    """The bytes of a command-line or environment value that is not UTF-8, else None.

    Python carries such bytes as lone surrogates (PEP 383); they must meet the same strict
    decoding as a file's bytes rather than reach a tool that cannot encode them.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape" if _escaped_only(value) else "surrogatepass")
    return None


def _escaped_only(value: str) -> bool:
    return all(not 0xD800 <= ord(char) <= 0xDFFF or 0xDC80 <= ord(char) <= 0xDCFF for char in value)


def utf8_text(value: str, origin: str) -> str:
    """``value`` unchanged when it is UTF-8 text; a 400-class error naming ``origin`` otherwise."""
    data = undecoded_bytes(value)
    return value if data is None else decode(data, origin, can_base64=False).text


def decode(data: bytes, origin: str, *, can_base64: bool) -> Loaded:
    try:
        return Loaded(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        if can_base64:
            return Loaded(binascii.b2a_base64(data, newline=False).decode("ascii"), base64=True)
        raise ValidationError(
            "Input is not UTF-8 text",
            f"{origin}: invalid UTF-8 at byte {exc.start}; this tool takes text "
            "(base64-encode binary data first)",
        ) from None


def trim(name: str, text: str) -> str:
    """Drop one trailing line break from a one-value field read from a file, stdin or variable."""
    if name in VERBATIM_FIELDS:
        return text
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def trim_bytes(name: str, data: bytes) -> bytes:
    """:func:`trim` before decoding, so bytes that are not UTF-8 (sent base64-encoded) lose the
    same line break as text: a key file is one key whatever its bytes."""
    if name in VERBATIM_FIELDS:
        return data
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data.removesuffix(b"\n")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def wire(name: str) -> str:
    return to_camel(name)


def environ() -> typing.Mapping[str, str]:
    return os.environ
