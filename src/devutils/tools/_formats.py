"""Readers and writers for data/convert: JSON, YAML, TOML, XML, CSV/TSV and query strings.

Readers give a plain JSON value (see ``_datatree``); writers take one and write into a
:class:`Sink`, which charges the output budget as text is produced, so an amplifying conversion
(indentation of deep input) stops at the cap instead of building the text first.  Whatever a
target cannot hold (XML attributes and types, TOML null, nested CSV cells) is written the closest
way and said in the warnings.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Literal

import defusedxml.ElementTree
import tomli_w
import yaml
from defusedxml import DefusedXmlException

from devutils.tools._datatree import (
    DataError,
    Warnings,
    compact,
    escape_pointer,
    load_json,
    load_yaml,
    normalise,
    value_error,
)
from devutils.tools._jsontext import strip_bom

Format = Literal["json", "yaml", "toml", "xml", "csv", "tsv", "querystring"]
TEXT_KEY = "#text"
# XML's white space (production S): the only characters indentation between elements is made of.
_XML_SPACE = " \t\r\n"
_QUERY_FIELDS = 100_000


@dataclass(frozen=True)
class Options:
    indent: int = 2
    sort_keys: bool = False
    delimiter: str | None = None
    header: bool = True
    xml_root: str | None = None
    attribute_prefix: str = "@"
    max_depth: int = 256


class Sink(io.StringIO):
    """Text output that charges ``charge`` for every piece written."""

    def __init__(self, charge: Any) -> None:
        super().__init__()
        self._charge = charge

    def write(self, text: str) -> int:
        self._charge(len(text))
        return super().write(text)


class BinarySink(io.BytesIO):
    def __init__(self, charge: Any) -> None:
        super().__init__()
        self._charge = charge

    def write(self, data: Any) -> int:
        self._charge(len(data))
        return super().write(data)


# --- readers ----------------------------------------------------------------------------------


def _clash(key: str, where: str) -> DataError:
    # Merging the two into one array would silently make an attribute look like a child.
    return DataError(
        f"an attribute and {'the text' if key == TEXT_KEY else 'a child element'} would both "
        f"be the key {key!r} at {where or '/'} (choose another attributePrefix)"
    )


def _attributes(node: ET.Element, opts: Options, warnings: Warnings, where: str) -> dict[str, Any]:
    if opts.attribute_prefix:
        return {opts.attribute_prefix + name: value for name, value in node.attrib.items()}
    if node.attrib:  # an empty prefix means no attributes, in either direction
        warnings.add("attributes left out (attributePrefix is empty)", where)
    return {}


def _text(node: ET.Element, mixed: bool, warnings: Warnings, where: str) -> str:
    """A leaf's text exactly as parsed; beside child elements, white space is layout."""
    text = node.text or ""
    if not mixed:
        return text
    trimmed = text.strip(_XML_SPACE)
    if trimmed != text and trimmed:
        warnings.add("white space around text mixed with child elements trimmed", where)
    return trimmed


def _element(node: ET.Element, opts: Options, depth: int, warnings: Warnings, where: str) -> Any:
    if depth > opts.max_depth:
        raise DataError(f"nesting depth exceeds the limit of {opts.max_depth}")
    out = _attributes(node, opts, warnings, where)
    attributes = set(out)
    lists: set[str] = set()
    for child in node:
        path = f"{where}/{escape_pointer(child.tag)}"
        if child.tag in attributes:
            raise _clash(child.tag, where)
        value = _element(child, opts, depth + 1, warnings, path)
        if (child.tail or "").strip(_XML_SPACE):
            warnings.add("text between child elements left out", path)
        if child.tag in lists:
            out[child.tag].append(value)
        elif child.tag in out:
            out[child.tag] = [out[child.tag], value]
            lists.add(child.tag)
        else:
            out[child.tag] = value
    text = _text(node, len(node) > 0, warnings, where)
    if not out:
        return text or None
    if text:
        if TEXT_KEY in attributes:
            raise _clash(TEXT_KEY, where)
        out[TEXT_KEY] = text
    return out


def read_xml(text: str, opts: Options, warnings: Warnings) -> Any:
    try:
        root = defusedxml.ElementTree.fromstring(
            text, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise DataError(
            f"XML refused ({type(exc).__name__}): DTDs, entities and external references are "
            "not allowed"
        ) from None
    except ET.ParseError as exc:
        raise DataError(f"invalid XML: {exc}") from None
    names = (name for element in root.iter() for name in (element.tag, *element.attrib))
    if any("{" in name for name in names):
        warnings.add("XML namespaces written as {uri}name keys", "/")
    return {root.tag: _element(root, opts, 1, warnings, "/" + escape_pointer(root.tag))}


def read_delimited(text: str, delimiter: str, header: bool) -> Any:
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise DataError(f"invalid CSV: {exc}") from None
    if not header:
        return rows
    if not rows:
        return []
    names = rows[0]
    if len(set(names)) != len(names):
        raise DataError("the header row repeats a column name")
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > len(names):
            raise DataError(f"row {number} has {len(row)} fields, the header {len(names)}")
        records.append(dict(zip(names, row, strict=False)))
    return records


def read_querystring(text: str) -> Any:
    try:
        pairs = urllib.parse.parse_qsl(
            text.removeprefix("?"), keep_blank_values=True, max_num_fields=_QUERY_FIELDS
        )
    except ValueError as exc:
        raise DataError(f"invalid query string: {exc}") from None
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            previous = out[key]
            if isinstance(previous, list):
                previous.append(value)
            else:
                out[key] = [previous, value]
        else:
            out[key] = value
    return out


def read(text: str, fmt: Format, opts: Options, warnings: Warnings) -> Any:
    depth = opts.max_depth
    if fmt == "json":
        return load_json(text, depth)
    if fmt == "yaml":
        return normalise(load_yaml(text, depth), warnings, depth)
    text = strip_bom(text)  # as the JSON and YAML loaders do
    if fmt == "toml":
        try:
            return normalise(tomllib.loads(text), warnings, depth)
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"invalid TOML: {exc}") from None
        except ValueError as exc:  # an integer past Python's 4300-digit limit
            raise value_error(exc, "TOML") from None
        except RecursionError:
            raise DataError("nesting too deep") from None
    if fmt == "xml":
        return read_xml(text, opts, warnings)
    if fmt == "querystring":
        return read_querystring(text)
    delimiter = opts.delimiter or ("\t" if fmt == "tsv" else ",")
    return read_delimited(text, delimiter, opts.header)


# --- writers ----------------------------------------------------------------------------------


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def write_json(value: Any, opts: Options, out: Sink) -> None:
    encoder = json.JSONEncoder(
        ensure_ascii=False,
        indent=opts.indent or None,
        separators=(",", ": ") if opts.indent else (",", ":"),
        sort_keys=opts.sort_keys,
    )
    for chunk in encoder.iterencode(value):
        out.write(chunk)


class _YamlDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """PyYAML's safe dumper, quoting every string a YAML 1.2 reader would take for a number.

    PyYAML knows YAML 1.1, where ``1e3`` (no dot) and ``0o17`` are strings, so it wrote them
    plain; YAML 1.2's core schema (Go's yaml.v3, js-yaml, ruamel) reads them as 1000.0 and 15.
    Its documented ``add_implicit_resolver`` teaches the dumper those forms, so it quotes them.
    """


# YAML 1.2 core float, [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?, with
# YAML 1.1's underscores.  PyYAML's own 1.1 pattern misses a sign before a bare dot (-.5, +.5e3),
# an exponent without a dot (1e3) or without a sign (.5e3), and digits with a leading zero (09:
# 1.2's integer 9); the exponent is optional here so all of those are quoted.
_YamlDumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)
_YamlDumper.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?0[oO][0-7_]+$"), list("-+0")
)


def write_yaml(value: Any, opts: Options, out: Sink) -> None:
    yaml.dump(
        value,
        out,
        Dumper=_YamlDumper,
        indent=max(opts.indent, 2),
        sort_keys=opts.sort_keys,
        allow_unicode=True,
        default_flow_style=False,
    )


_TOML_INT_MIN, _TOML_INT_MAX = -(2**63), 2**63 - 1


def _for_toml(value: Any, where: str, warnings: Warnings) -> Any:
    """What TOML cannot hold, made to fit: nulls left out, and integers past its signed 64 bits
    (TOML 1.0: a parser must refuse them) written as strings, so the digits are kept."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            path = f"{where}/{escape_pointer(key)}"
            if item is None:
                warnings.add("TOML has no null: key left out", path)
            else:
                out[key] = _for_toml(item, path, warnings)
        return out
    if isinstance(value, list):
        if any(item is None for item in value):
            warnings.add("TOML has no null: array element left out", where)
        return [
            _for_toml(item, f"{where}/{index}", warnings)
            for index, item in enumerate(value)
            if item is not None
        ]
    if type(value) is int and not _TOML_INT_MIN <= value <= _TOML_INT_MAX:
        warnings.add("integer outside TOML's 64-bit range written as a string", where)
        return str(value)
    return value


def write_toml(value: Any, opts: Options, out: BinarySink, warnings: Warnings) -> None:
    if not isinstance(value, dict):
        raise DataError("TOML needs an object (table) at the top level")
    data = _for_toml(_sorted(value) if opts.sort_keys else value, "", warnings)
    tomli_w.dump(data, out, indent=opts.indent or 4)


# XML 1.0 (fifth edition) NameStartChar and NameChar, without ":" (namespaces are not written).
_XML_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_XML_CHAR = _XML_START + "\\-.0-9\u00b7\u0300-\u036f\u203f\u2040"
_XML_NAME = re.compile(f"[{_XML_START}][{_XML_CHAR}]*")
_XML_NOT_NAME_CHAR = re.compile(f"[^{_XML_CHAR}]")
_XML_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# A carriage return is written as a reference: XML parsers turn a literal one into a line feed.
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_XML_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\t": "&#9;",
        "\r": "&#13;",
    }
)


class _XmlWriter:
    def __init__(self, opts: Options, out: Sink, warnings: Warnings) -> None:
        self.opts = opts
        self.out = out
        self.warnings = warnings

    def name(self, key: str, where: str) -> str:
        if _XML_NAME.fullmatch(key):
            return key
        self.warnings.add("invalid XML name replaced", where)
        name = _XML_NOT_NAME_CHAR.sub("_", key)
        return name if _XML_NAME.fullmatch(name) else "_" + name

    def text(self, value: Any, where: str) -> str:
        if value is None:
            self.warnings.add("null written as an empty element", where)
            return ""
        if isinstance(value, bool):
            self.warnings.add("XML has no types: booleans and numbers written as text", where)
            return "true" if value else "false"
        if isinstance(value, int | float):
            self.warnings.add("XML has no types: booleans and numbers written as text", where)
            return json.dumps(value)
        text = str(value)
        if _XML_BAD_CHARS.search(text):
            self.warnings.add("characters XML cannot hold were removed", where)
            text = _XML_BAD_CHARS.sub("", text)
        return text

    def element(self, tag: str, value: Any, where: str, level: int) -> None:
        pad = "\n" + " " * (self.opts.indent * level) if self.opts.indent else ""
        if level == 0:
            pad = ""
        if isinstance(value, list):
            if not value:  # an empty element would read back as null, not as an empty array
                self.warnings.add("empty array left out: XML has no empty list", where)
            for index, item in enumerate(value):
                if isinstance(item, list):
                    self.warnings.add(
                        "nested array written as repeated <item> elements", f"{where}/{index}"
                    )
                    if not item:
                        self.out.write(f"{pad}<{tag}/>")
                        continue
                    self.out.write(f"{pad}<{tag}>")
                    for inner, sub in enumerate(item):
                        self.element("item", sub, f"{where}/{index}/{inner}", level + 1)
                    self.out.write(f"{pad}</{tag}>")
                else:
                    self.element(tag, item, f"{where}/{index}", level)
            return
        if not isinstance(value, dict):
            text = self.text(value, where).translate(_XML_ESCAPES)
            self.out.write(f"{pad}<{tag}>{text}</{tag}>" if text else f"{pad}<{tag}/>")
            return
        prefix = self.opts.attribute_prefix
        attrs = []
        attr_names: set[str] = set()
        children = []
        body = None
        for key, item in value.items():
            path = f"{where}/{escape_pointer(key)}"
            if prefix and key.startswith(prefix) and len(key) > len(prefix):
                if isinstance(item, dict | list):
                    self.warnings.add("structured attribute value written as JSON text", path)
                    item = compact(item)
                name = self.name(key[len(prefix) :], path)
                if name in attr_names:  # two keys that became one name: XML allows one
                    raise DataError(f"two attributes would both be named {name!r} at {path}")
                attr_names.add(name)
                attrs.append(f' {name}="{self.text(item, path).translate(_XML_ATTR_ESCAPES)}"')
            elif key == TEXT_KEY:
                body = self.text(item if not isinstance(item, dict | list) else compact(item), path)
            else:
                children.append((self.name(key, path), item, path))
        self.out.write(f"{pad}<{tag}{''.join(attrs)}")
        if not children and not body:
            self.out.write("/>")
            return
        self.out.write(">")
        if body:
            if children:
                self.warnings.add("text mixed with child elements", where)
            self.out.write(body.translate(_XML_ESCAPES))
        for name, item, path in children:
            self.element(name, item, path, level + 1)
        close_pad = pad if children and self.opts.indent else ""
        if children and level == 0 and self.opts.indent:
            close_pad = "\n"
        self.out.write(f"{close_pad}</{tag}>")

    def items(self, tag: str, value: list[Any]) -> None:
        """A top-level array as <item> children of ``tag``: the items are at /0, /1, ..."""
        self.warnings.add("top-level array written as repeated <item> elements", "/")
        self.out.write(f"<{tag}>")
        self.element("item", value, "", 1)
        self.out.write(f"\n</{tag}>" if self.opts.indent else f"</{tag}>")


def write_xml(value: Any, opts: Options, out: Sink, warnings: Warnings) -> None:
    writer = _XmlWriter(opts, out, warnings)
    # ``where`` is the body's JSON pointer in the input, which the warnings name.
    if opts.xml_root:
        root, body, where = writer.name(opts.xml_root, "/"), value, ""
    elif (
        isinstance(value, dict)
        and len(value) == 1
        and not isinstance(next(iter(value.values())), list)
    ):
        ((key, body),) = value.items()
        where = "/" + escape_pointer(key)
        root = writer.name(key, where)
    else:
        root, body, where = "root", value, ""
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    if isinstance(body, list):
        writer.items(root, body)
    else:
        writer.element(root, body, where, 0)
    out.write("\n")


def _cell(value: Any, where: str, warnings: Warnings) -> str:
    if value is None:
        warnings.add("null written as an empty cell", where)
        return ""
    if isinstance(value, dict | list):
        warnings.add("nested value written as JSON text in one cell", where)
        return compact(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)


class _Rows:
    """Rows for a Sink, ended with a line feed, every cell with a line break in it quoted.

    The stdlib writer quotes only the characters of its line terminator, so with "\n" a cell
    holding a carriage return went out bare and read back as two rows (RFC 4180 quotes both).
    It writes each row with "\r\n" into a buffer here; the row goes out with "\n".
    """

    def __init__(self, out: Sink, delimiter: str) -> None:
        self._out = out
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator="\r\n")

    def writerow(self, cells: list[str]) -> None:
        self._writer.writerow(cells)
        row = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        self._out.write(row.removesuffix("\r\n") + "\n")


def write_delimited(value: Any, opts: Options, out: Sink, warnings: Warnings, fmt: str) -> None:
    delimiter = opts.delimiter or ("\t" if fmt == "tsv" else ",")
    writer = _Rows(out, delimiter)
    rows = value if isinstance(value, list) else [value]
    # A row's JSON pointer in the input: a single value written as one row is the whole input.
    places = [f"/{index}" for index in range(len(rows))] if isinstance(value, list) else [""]
    if not isinstance(value, list):
        warnings.add("a single object written as one row", "/")
    if rows and all(isinstance(row, dict) for row in rows):
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        names = sorted(columns) if opts.sort_keys else list(columns)
        if opts.header:
            writer.writerow(names)
        else:
            warnings.add("header left out: column names lost", "/")
        for place, row in zip(places, rows, strict=True):
            if len(row) != len(names):
                warnings.add("missing column written as an empty cell", place)
            writer.writerow(
                [
                    _cell(row[name], f"{place}/{escape_pointer(name)}", warnings)
                    if name in row
                    else ""
                    for name in names
                ]
            )
        return
    for place, row in zip(places, rows, strict=True):
        if isinstance(row, list):
            cells = [_cell(item, f"{place}/{col}", warnings) for col, item in enumerate(row)]
        elif isinstance(row, dict):
            warnings.add("object among array rows written as JSON text", place)
            cells = [compact(row)]
        else:
            cells = [_cell(row, place, warnings)]
        writer.writerow(cells)


def write_querystring(value: Any, opts: Options, out: Sink, warnings: Warnings) -> None:
    if not isinstance(value, dict):
        raise DataError("a query string needs an object at the top level")
    pairs = []
    for key in sorted(value) if opts.sort_keys else value:
        item = value[key]
        where = "/" + escape_pointer(key)
        items = item if isinstance(item, list) else [item]
        if isinstance(item, list) and not item:
            warnings.add("empty array left out", where)
        for element in items:
            pairs.append((key, _cell(element, where, warnings)))
    for position, (key, cell) in enumerate(pairs):
        out.write(("&" if position else "") + urllib.parse.quote(key, safe=""))
        out.write("=" + urllib.parse.quote(cell, safe=""))


def write(value: Any, fmt: Format, opts: Options, charge: Any, warnings: Warnings) -> str:
    if fmt == "toml":
        binary = BinarySink(charge)
        try:
            write_toml(value, opts, binary, warnings)
        except (TypeError, ValueError) as exc:
            raise DataError(f"cannot write TOML: {exc}") from None
        return binary.getvalue().decode("utf-8")
    out = Sink(charge)
    if fmt == "json":
        write_json(value, opts, out)
    elif fmt == "yaml":
        write_yaml(value, opts, out)
    elif fmt == "xml":
        write_xml(value, opts, out, warnings)
    elif fmt == "querystring":
        write_querystring(value, opts, out, warnings)
    else:
        write_delimited(value, opts, out, warnings, fmt)
    return out.getvalue()
