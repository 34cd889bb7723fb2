"""Command line: ``devutils serve | healthcheck | tools | mcp | completion | <family> <op> [<sub>]``.

Tool commands are generated from the registry: each input field becomes ``--kebab-name`` (the
camelCase spelling works too); ``--json '{...}'`` (``-`` for stdin, ``@file``) passes the
arguments as one object.  A text field's value may be ``-`` (stdin), ``@path`` (a file) or
``@@...`` (a literal leading ``@``); the tool's subject field reads piped stdin when not given;
secret fields also take ``--FIELD-env VAR`` (:mod:`devutils.frontends.cli_input`).  Results print
as JSON on stdout, or with ``--raw`` the main field alone; errors print one JSON error object on
stderr (``--raw``: one line) and exit with the error's exit code.  docs/cli.md has the details.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import itertools
import logging
import os
import re
import select
import sys
import types
import typing
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, Literal

import orjson
from pydantic.alias_generators import to_camel

from devutils import __version__
from devutils.errors import InternalError, NotFoundError, ToolError, ValidationError
from devutils.frontends.cli_completion import SHELLS, Node, script
from devutils.frontends.cli_input import (
    Sources,
    decode,
    encoding_field,
    field_kind,
    flag,
    literal,
    secret_fields,
    stdin_is_piped,
    subject_field,
    trim,
    trim_bytes,
    undecoded_bytes,
    utf8_text,
)
from devutils.frontends.cli_output import example_command, render_error, render_json, render_raw
from devutils.registry import Registry, ToolContext, ToolSpec, catalogue, dump_output
from devutils.settings import Settings, SettingsError, load_settings

_RESERVED = {"serve", "healthcheck", "tools", "mcp", "completion"}
EX_USAGE = 64
EX_CONFIG = 78  # a configuration that cannot work: restarting would only repeat it
EX_IOERR = 74
EXIT_SIGPIPE = 141  # what a shell reports for a filter killed by SIGPIPE (128 + 13)
EXIT_SIGINT = 130  # 128 + SIGINT, what a shell reports after Ctrl-C


class UsageError(ValidationError):
    """A command line argparse refuses (unknown option, bad number): exit 64, EX_USAGE."""

    exit_code = EX_USAGE


class _TextSink(typing.Protocol):
    def write(self, text: str, /) -> object: ...


class _Parser(argparse.ArgumentParser):
    """Shows fields the tool requires as required in usage and help, without argparse enforcing
    them (they may come from ``--json`` or stdin), and reports errors as :class:`UsageError`."""

    shown_required: list[argparse.Action]
    # A tool's option strings (None elsewhere): an option it does not know is reported as such,
    # before argparse reads that option's value as a sub-tool name (crypto hash --bogus x).
    known_options: list[str] | None
    given: list[str]
    # Whether a long option may be abbreviated (--algo for --algorithm).  The parser resolves
    # abbreviations itself (argparse's own allow_abbrev is off): see spell_out.
    abbreviates: bool
    # Every option string of this parser, with its action; the names of its sub-commands.
    options: dict[str, argparse.Action]
    commands: dict[str, Any]

    def __init__(self, **kwargs: Any) -> None:
        self.options = {}
        self.commands = {}
        self.abbreviates = kwargs.get("allow_abbrev", True)
        add_help = kwargs.get("add_help", True)
        super().__init__(**{**kwargs, "allow_abbrev": False, "add_help": False})
        if add_help:  # argparse's own help option, added here so that its action is known
            self.add_argument("-h", "--help", action="help", help="show this help message and exit")
        self.shown_required = []
        self.known_options = None
        self.given = []

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        return self.remember(super().add_argument(*args, **kwargs))

    def remember(self, action: argparse.Action) -> argparse.Action:
        """Notes an action added to this parser (or to one of its argument groups)."""
        self.options.update(dict.fromkeys(action.option_strings, action))
        return action

    def add_subparsers(self, **kwargs: Any) -> Any:
        action = super().add_subparsers(**kwargs)
        self.commands = action.choices  # filled in by add_parser
        return action

    def parse_known_args(  # type: ignore[override]  # typeshed overloads; one shape used here
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self.spell_out(self.given), namespace)

    def spell_out(self, words: Sequence[str]) -> list[str]:
        """``words`` with this parser's abbreviated options written in full.

        argparse calls a prefix ambiguous when it starts two option strings, even two spellings
        of one option (``--case`` for ``--case-type`` and ``--caseType``).  Here a prefix is
        ambiguous only when it starts options of two different actions.  This parser's words
        end at ``--`` or at a sub-command's name: the sub-command's parser spells out the rest.
        """
        spelled: list[str] = []
        rest = list(words)
        while rest:
            word = rest.pop(0)
            if word == "--" or word in self.commands:
                return [*spelled, word, *rest]
            name, equals, value = word.partition("=")  # an option string has no "="
            found = self._option(name)
            if found is None:
                spelled.append(word)
                continue
            full, action = found
            spelled.append(full + equals + value)
            # the option's own values are not options or sub-command names (--algorithm verify)
            count = 0 if equals else _values_taken(action)
            while rest and count and not _looks_like_option(rest[0]):
                spelled.append(rest.pop(0))
                count -= 1
        return spelled

    def _option(self, name: str) -> tuple[str, argparse.Action] | None:
        """The option ``name`` names, in full: itself, or the one option it abbreviates."""
        if name in self.options:
            return name, self.options[name]
        if not (self.abbreviates and name.startswith("--") and " " not in name):
            return None
        matches = [option for option in self.options if option.startswith(name)]
        if len({id(self.options[option]) for option in matches}) > 1:
            self.error(f"ambiguous option: {name} could match {', '.join(matches)}")
        return (matches[0], self.options[matches[0]]) if matches else None

    def _as_required(self, render: typing.Callable[[], str]) -> str:
        for action in self.shown_required:
            action.required = True
        try:
            return render()
        finally:
            for action in self.shown_required:
                action.required = False

    def format_usage(self) -> str:
        return self._as_required(super().format_usage)

    def format_help(self) -> str:
        return self._as_required(super().format_help)

    def print_help(self, file: _TextSink | None = None) -> None:
        if file is not None:
            super().print_help(file)
            return
        # argparse drops a failed write to stdout; a reader that left (--help | head -1) or a
        # full disk is reported like any other output
        _write(self.format_help().encode())

    def error(self, message: str) -> typing.NoReturn:
        unknown = self.unknown_options()
        if unknown and not message.startswith("unrecognized arguments"):
            message = f"unrecognized arguments: {' '.join(unknown)}"
        raise UsageError(
            "Invalid command line", f"{self.prog}: {_without_values(message, self.given)}"
        )

    def unknown_options(self) -> list[str]:
        if self.known_options is None:
            return []
        unknown = []
        for word in self.given:
            if word == "--":
                break
            name = word.split("=", 1)[0]
            # an unambiguous prefix of an option is that option (--algo for --algorithm: see
            # spell_out), except on a tool with sub-tools
            if name.startswith("--") and not any(
                o == name or (self.abbreviates and o.startswith(name)) for o in self.known_options
            ):
                unknown.append(name)
        return unknown


_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse's: a value, not an option


def _looks_like_option(word: str) -> bool:
    """Whether argparse takes ``word`` for an option rather than a value: not ``-``, a negative
    number (no option of the CLI looks like one) or words with a space (``--text '-a b'``)."""
    return (
        word.startswith("-")
        and word != "-"
        and not _NEGATIVE_NUMBER.match(word)
        and " " not in word
    )


def _values_taken(action: argparse.Action) -> int:
    """How many of the words after an option argparse may take as its values."""
    nargs = action.nargs
    if nargs is None or nargs == argparse.OPTIONAL:
        return 1
    return nargs if isinstance(nargs, int) else sys.maxsize  # "*", "+"


def _without_values(message: str, words: Sequence[str]) -> str:
    """``message`` without the values typed on the command line.  Some of argparse's messages
    quote them (an ambiguous ``--passw=VALUE``, an invalid choice or number, ``--flag=VALUE``),
    and a value may be a secret: a ``--name=VALUE`` word is cut to its name, a quoted value is
    replaced."""
    for word in words:
        name, equals, value = word.partition("=")
        if word.startswith("-") and equals:
            message = message.replace(word, name)
            typed = value
        elif word.startswith("-"):
            continue
        else:
            typed = word
        if typed:
            message = message.replace(repr(typed), "(value not shown)")
    return message


def _options_end(words: Sequence[str]) -> int:
    """The index of ``--``, which ends the options (POSIX guideline 10): the words after it are
    operands, even those that start with ``-``; ``len(words)`` when there is none."""
    return words.index("--") if "--" in words else len(words)


def _without_trailing_end(words: list[str]) -> list[str]:
    """``words`` without a ``--`` that has nothing after it, which marks the end of no options.
    (argparse keeps a ``--`` that no operand follows, and reports it as an unknown argument.)"""
    return words[:-1] if _options_end(words) == len(words) - 1 else words


def _unrecognized(words: Sequence[str]) -> str:
    """What argparse could not place, without the words themselves: the value typed after a
    mistyped option may be a secret (``--pasword hunter2``).  Long options are named
    (``--name=VALUE`` by its name alone); when there is none, the other words are counted.
    Words after ``--`` are operands, never option names, and ``--`` itself is not counted."""
    end = _options_end(words)
    names = [word.split("=", 1)[0] for word in words[:end] if word.startswith("--")]
    if names:
        return f"unrecognized arguments: {' '.join(names)}"
    count = len(words) - (end < len(words))
    return f"unrecognized arguments: {count} value{'s' if count > 1 else ''} (not shown)"


class _Version(argparse.Action):
    """argparse's own version action drops a failed write (and prints to stderr when stdout is
    closed): the version is output like any other."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: str | None = None) -> None:
        _write(f"dev-utilities {__version__}\n".encode())
        parser.exit()


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _choices(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _choices(inner[0]) if len(inner) == 1 else ()
    if origin is typing.Annotated:
        return _choices(typing.get_args(annotation)[0])
    return typing.get_args(annotation) if origin is Literal else ()


def _argument_kwargs(annotation: Any) -> dict[str, Any]:
    """argparse options for a model field's type (Optional[...] unwrapped).

    Text and JSON fields stay strings here: ``-``, ``@file`` and JSON are resolved after parsing.
    """
    choices = _choices(annotation)
    if choices:
        # No argparse choices: a bad value goes through the registry and gets the same
        # VALIDATION_ERROR envelope as REST and MCP.
        return {"type": type(choices[0]), "metavar": "{" + ",".join(map(str, choices)) + "}"}
    kind = field_kind(annotation)
    if kind == "json":
        return {"type": str, "metavar": "JSON"}
    if kind == "text":
        return {"type": str}
    members = [annotation, *typing.get_args(annotation)]
    if bool in members:
        return {"type": _bool, "nargs": "?", "const": True, "metavar": "BOOL"}
    if int in members:
        return {"type": int}
    if float in members:
        return {"type": float}
    return {"type": str}


def _epilog(spec: ToolSpec) -> str:
    lines = ["examples:"]
    for example in spec.examples:
        lines.append(f"  {example_command(spec, example.args)}")
    subject = subject_field(spec.input_model)
    if subject is not None:
        lines.append(
            f"  echo ... | devutils {' '.join(spec.words)} ...   ({flag(subject)} from stdin)"
        )
    lines.append("")
    lines.append("Text values: - reads stdin, @PATH a file, @@TEXT is a literal @TEXT.")
    lines.append("--raw prints the main result alone. Exit codes and details: docs/cli.md.")
    return "\n".join(lines)


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {port}")
    return port


def _workers(text: str) -> int:
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 worker, got {count}")
    return count


def _add_tool_parser(parent: Any, spec: ToolSpec, words: Sequence[str], node: Node) -> _Parser:
    parser: _Parser = parent.add_parser(
        words[-1],
        help=spec.title,
        description=spec.description,
        epilog=_epilog(spec),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(tool=spec.name)
    parser.add_argument(
        "--json",
        dest="_json",
        metavar="OBJECT",
        help="all arguments as a JSON object (- reads stdin, @PATH a file)",
    )
    parser.add_argument("--raw", action="store_true", help="print the main result field alone")
    parser.add_argument(
        "--verbose", action="store_true", help="log to stderr (LOG_LEVEL) while running"
    )
    node.options.extend(["--json", "--raw", "--verbose", "--help"])
    parser.known_options = node.options  # filled in below
    subject = subject_field(spec.input_model)
    required = parser.add_argument_group(
        "required (as options or in --json"
        + (f"; {flag(subject)} also from piped stdin)" if subject else ")")
    )
    optional = parser.add_argument_group("optional")
    taken = {"--json", "--raw", "--verbose", "--help"}
    secrets = set(secret_fields(spec.input_model))
    for name, field in spec.input_model.model_fields.items():
        camel = _wire(spec.input_model, name)
        # A field named like one of the CLI's own options (or its -env twin) is still reachable
        # through --json; dropping its flag keeps every other command working.
        flags = [f for f in dict.fromkeys([flag(name), f"--{camel}"]) if f not in taken]
        if not flags:
            continue
        taken.update(flags)
        taken.add(f"{flag(name)}-env")
        kwargs = {"metavar": name.upper(), **_argument_kwargs(field.annotation)}
        secret = name in secrets
        help_text = field.description or ""
        if secret:
            help_text += f" Secret: prefer - (stdin), @PATH or {flag(name)}-env VAR."
        group = required if field.is_required() else optional
        action = parser.remember(
            group.add_argument(*flags, dest=f"field:{name}", default=None, help=help_text, **kwargs)
        )
        if field.is_required():
            parser.shown_required.append(action)
        node.options.extend(flags)
        choices = _choices(field.annotation)
        if choices:
            for option in flags:
                node.values[option] = [str(choice) for choice in choices]
        if secret:
            parser.remember(
                group.add_argument(
                    f"{flag(name)}-env",
                    dest=f"env:{name}",
                    metavar="VAR",
                    default=None,
                    help=f"read {flag(name)} from the environment variable VAR",
                )
            )
            node.options.append(f"{flag(name)}-env")
    return parser


def build_parser(specs: Sequence[ToolSpec]) -> argparse.ArgumentParser:
    return _build(specs)[0]


Parsers = dict[tuple[str, ...], argparse.ArgumentParser]


def _build(specs: Sequence[ToolSpec]) -> tuple[argparse.ArgumentParser, dict[str, Node], Parsers]:
    """The parser, the completion tree and every command's parser by its words."""
    tree: dict[str, Node] = {"": Node(options=["--help", "--version"])}
    parser = _Parser(prog="devutils", description="Developer utilities: server, MCP and tools.")
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the HTTP server (REST + MCP at /mcp)")
    serve.add_argument("--host", default=None, help="bind address (default SERVER_HOST or 0.0.0.0)")
    serve.add_argument(
        "--port", type=_port, default=None, help="port (default SERVER_PORT or 8080; 0: any free)"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="worker processes (default SERVER_WORKERS / WEB_CONCURRENCY, else the usable CPUs)",
    )
    check = commands.add_parser("healthcheck", help="exit 0 when /health/live answers 200")
    check.add_argument(
        "--url", default=None, help="default http://127.0.0.1:$SERVER_PORT/health/live"
    )
    check.add_argument("--timeout", type=float, default=3.0)
    tools_parser = commands.add_parser("tools", help="list the tools")
    mcp_parser = commands.add_parser("mcp", help="serve MCP over stdio")
    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description='bash: eval "$(devutils completion bash)"; zsh: the same with zsh; '
        "fish: devutils completion fish | source",
    )
    completion.add_argument("shell", choices=SHELLS)
    parsers: Parsers = {(): parser, ("serve",): serve, ("healthcheck",): check}
    parsers.update({("tools",): tools_parser, ("mcp",): mcp_parser, ("completion",): completion})
    tree[""].words.extend(["serve", "healthcheck", "tools", "mcp", "completion"])
    tree["serve"] = Node(options=["--host", "--port", "--workers", "--help"])
    tree["healthcheck"] = Node(options=["--url", "--timeout", "--help"])
    tree["tools"] = Node(options=["--help"])
    tree["mcp"] = Node(options=["--help"])
    tree["completion"] = Node(words=list(SHELLS), options=["--help"])

    # Nested parsers: family → op → [sub]; a word may be both a command and a group.
    # A tool sorts before the tools under it (crypto hash, then crypto hash verify): its own
    # parser then takes the sub-commands.
    groups: dict[tuple[str, ...], Any] = {(): commands}
    tools: dict[tuple[str, ...], Any] = {}
    for spec in sorted(specs, key=lambda s: s.words):
        words = spec.words
        for depth in range(1, len(words)):
            prefix = words[:depth]
            if prefix in groups:
                continue
            if prefix in tools:  # a tool with tools under it: its node keeps its options
                # It takes its options whole: a prefix (--digest of crypto hash verify) would be
                # matched against its own options (--digest-size) before the sub-tool sees it.
                tools[prefix].abbreviates = False
                # Out of its usage line, which would show the sub-tool as required (TOOL ...);
                # its epilog lists them.
                groups[prefix] = tools[prefix].add_subparsers(
                    metavar="SUB-TOOL", help=argparse.SUPPRESS
                )
                tools[prefix].epilog = f"{tools[prefix].epilog}\n\nsub-tools (each has --help):"
                continue
            group_parser = groups[prefix[:-1]].add_parser(
                prefix[-1], help=f"{' '.join(prefix)} tools"
            )
            parsers[prefix] = group_parser
            groups[prefix] = group_parser.add_subparsers(metavar="TOOL")
            tree[" ".join(prefix[:-1])].words.append(prefix[-1])
            tree[" ".join(prefix)] = Node(options=["--help"])
        tree[" ".join(words[:-1])].words.append(words[-1])
        node = tree.setdefault(" ".join(words), Node())
        tools[words] = parsers[words] = _add_tool_parser(groups[words[:-1]], spec, words, node)
        if words[:-1] in tools:
            tools[words[:-1]].epilog += f"\n  devutils {' '.join(words):<26} {spec.title}"
    return parser, tree, parsers


def _stdin() -> Any:
    stdin = sys.stdin
    return getattr(stdin, "buffer", stdin) if stdin is not None else None


def _wire(model: type[Any], name: str) -> str:
    """A field's name on the wire: its explicit alias (``from``, a Python keyword) or camelCase."""
    return model.model_fields[name].serialization_alias or to_camel(name)


def _given(args: dict[str, Any], model: type[Any], name: str) -> bool:
    return args.get(_wire(model, name)) is not None or args.get(name) is not None


def _tool_args(namespace: argparse.Namespace, spec: ToolSpec, sources: Sources) -> dict[str, Any]:
    args: dict[str, Any] = {}
    model = spec.input_model
    raw = getattr(namespace, "_json", None)
    if raw is not None:
        data = sources.value_bytes(raw, "--json")
        if data is None:
            text = utf8_text(literal(raw), "--json")
        else:
            text = decode(data, "--json", can_base64=False).text
        try:
            loaded = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValidationError("Invalid request", f"--json: malformed JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValidationError("Invalid request", "--json must be a JSON object")
        args.update(loaded)
    for name, field in model.model_fields.items():
        origin = flag(name)
        value = getattr(namespace, f"field:{name}", None)
        variable = getattr(namespace, f"env:{name}", None)
        if (value is not None or variable is not None) and name != _wire(model, name):
            args.pop(name, None)  # the option wins over --json, under either spelling
        if variable is not None:
            if value is not None:
                raise ValidationError("Invalid request", f"give {origin} or {origin}-env, not both")
            text = sources.env_text(variable, f"{origin}-env")
            args[_wire(model, name)] = trim(
                name, _typed_text(spec, args, name, text, f"{origin}-env")
            )
            continue
        if value is None:
            continue
        kind = field_kind(field.annotation)
        if kind == "other":
            args[_wire(model, name)] = utf8_text(value, origin) if isinstance(value, str) else value
            continue
        args[_wire(model, name)] = _resolve(namespace, spec, sources, args, name, value)
        if kind == "json":
            try:
                args[_wire(model, name)] = orjson.loads(args[_wire(model, name)])
            except orjson.JSONDecodeError as exc:
                raise ValidationError(
                    "Invalid request", f"{origin}: malformed JSON: {exc}"
                ) from None
    subject = subject_field(model)
    if (
        subject is not None
        and not _given(args, model, subject)
        and sources.stdin_taken_by is None
        and stdin_is_piped(sys.stdin)
    ):
        args[_wire(model, subject)] = _resolve(namespace, spec, sources, args, subject, "-")
    return args


def _resolve(
    namespace: argparse.Namespace,
    spec: ToolSpec,
    sources: Sources,
    args: dict[str, Any],
    name: str,
    value: str,
) -> str:
    """A text field's value: literal, or read from stdin or a file (see cli_input)."""
    origin = flag(name)
    data = sources.value_bytes(value, origin)
    if data is None:
        return _typed_text(spec, args, name, literal(value), origin)
    return _loaded_text(spec, args, name, data, "stdin" if value == "-" else origin)


def _typed_text(spec: ToolSpec, args: dict[str, Any], name: str, text: str, origin: str) -> str:
    """Text from the command line or a variable; bytes in it that are not UTF-8 (carried as
    lone surrogates) follow the rules of bytes read from a file."""
    data = undecoded_bytes(text)
    return text if data is None else _loaded_text(spec, args, name, data, origin)


def _loaded_text(spec: ToolSpec, args: dict[str, Any], name: str, data: bytes, origin: str) -> str:
    encoding = encoding_field(spec.input_model, name)
    loaded = decode(
        trim_bytes(name, data),
        origin,
        can_base64=encoding is not None and not _given(args, spec.input_model, encoding),
    )
    if loaded.base64 and encoding is not None:
        args[_wire(spec.input_model, encoding)] = "base64"
    return loaded.text


class _OutputFailed(Exception):
    """Standard output refused a write: the reader left (EPIPE) or the disk is full."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _write(data: bytes) -> None:
    """Writes all of ``data`` and flushes, so that a failed write surfaces here as
    :class:`_OutputFailed`.  Nothing to write issues no write: ``write(1, "", 0)`` fails on
    /dev/full, and a command that printed nothing keeps its own exit code."""
    stdout = sys.stdout
    try:
        if stdout is None:  # started with stdout closed (devutils tools >&-)
            if data:
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
            return
        _until_written(stdout.flush, stdout)
        buffer = getattr(stdout, "buffer", None)
        if buffer is None:
            stdout.write(data.decode(errors="replace"))
            stdout.flush()
            return
        view = memoryview(data)
        while view:
            # With PYTHONUNBUFFERED the buffer is the raw file, whose write() may take only part
            # of the data (a pipe takes 64 KiB), or none of it (None) on a non-blocking pipe.
            try:
                written = buffer.write(view)
            except BlockingIOError as exc:  # a buffered file: part of it taken, the pipe full
                written = exc.characters_written
                _wait_writable(buffer)
            if written is None:
                _wait_writable(buffer)
            view = view[written or 0 :]
        _until_written(buffer.flush, buffer)
    except OSError as exc:
        raise _OutputFailed(exc) from exc


def _until_written(flush: typing.Callable[[], object], file: Any) -> None:
    """Flushes, waiting while stdout is a non-blocking pipe its reader has not emptied yet."""
    while True:
        try:
            flush()
            return
        except BlockingIOError:
            _wait_writable(file)


def _wait_writable(file: Any) -> None:
    """A non-blocking stdout (O_NONBLOCK set by the reader's side of the pipe) is waited on like
    a blocking one: a slow reader gets every byte, as it would from any filter."""
    select.select([], [file], [])


def _output_failed(error: OSError) -> int:
    """Like any filter: silent 141 when the reader left (``devutils tools | head -1``), else one
    line and 74, EX_IOERR (``> /dev/full``).

    stdout then points at /dev/null, so that the interpreter's last flush of what is still
    buffered does not fail again (a traceback and exit 120).
    """
    if sys.stdout is not None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):  # no stdout file descriptor at all
            os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    if isinstance(error, BrokenPipeError):
        return EXIT_SIGPIPE
    reason = os.strerror(error.errno) if error.errno else str(error)
    print(f"devutils: write error: {reason}", file=sys.stderr)
    return EX_IOERR


def _print_error(error: ToolError, raw: bool = False) -> int:
    sys.stderr.write(render_error(error, raw))
    sys.stderr.flush()
    return error.exit_code


def _quiet_logging(settings: Settings, verbose: bool) -> None:
    """Tool commands print results and errors only; log records go to stderr with --verbose."""
    root = logging.getLogger()
    if verbose:
        from devutils.observability.logging import configure_logging

        configure_logging(settings, stream=sys.stderr)
    elif not root.handlers:  # otherwise logging's last-resort handler prints bare warnings
        root.addHandler(logging.NullHandler())


def healthcheck(settings: Settings | None, url: str | None, timeout: float) -> int:
    if url is None:
        port = settings.server_port if settings else 8080
        url = f"http://127.0.0.1:{port}/health/live"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local probe
            ok = response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        ok = False
    if ok:
        _write(b"Health check passed\n")
        return 0
    print("Health check failed", file=sys.stderr)
    return 1


def _refuse_configuration(exc: SettingsError, command: str) -> int:
    """Exit 78 (EX_CONFIG) with the reason: the server's as a JSON log line, like its other
    lines; the tool commands' as plain text for the person at the terminal."""
    if command == "serve":
        from devutils.observability.logging import config_error_line

        print(config_error_line(exc, EX_CONFIG), file=sys.stderr)
    else:
        print(f"devutils: {exc}", file=sys.stderr)
    return EX_CONFIG


def _reserve_standard_descriptors() -> None:
    """Points each of fds 0, 1 and 2 the process was started without (``<&-``, ``>&-``,
    ``2>&-``) at the null device.  Otherwise the next file opened takes that number: uvloop's
    own descriptors then did, and it aborts the process when it closes one below 3 (``devutils
    mcp <&-``).  ``sys.stdin`` and ``sys.stdout`` stay None (no input; a write fails, exit 74);
    ``sys.stderr`` becomes the null device, so an error still exits with its own code (``print``
    to a None file writes to stdout, a None ``sys.stderr`` raised AttributeError: exit 1)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the process's own


def main(argv: Sequence[str] | None = None) -> int:
    """The command line, with a Unix tool's exits: 141 when the reader of stdout left, 74 when
    stdout cannot be written, 130 after Ctrl-C; no traceback for any of them."""
    _reserve_standard_descriptors()
    try:
        try:
            status = _main(list(sys.argv[1:] if argv is None else argv))
        except SystemExit:  # argparse after --help or --version: what it printed is buffered
            _write(b"")
            raise
        _write(b"")  # argparse's usage text may still be buffered: a failed write shows here
    except _OutputFailed as failed:
        return _output_failed(failed.error)
    except KeyboardInterrupt:
        return EXIT_SIGINT
    return status


def _command_parser(parsers: Parsers, arguments: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of the command named by the leading words of the command line."""
    words = tuple(itertools.takewhile(lambda word: not word.startswith("-"), arguments))
    while words not in parsers:
        words = words[:-1]
    return parsers[words]


# The modules a command imports besides the tools (the server's supervisor uses no tool).
_COMMAND_MODULES = {
    "serve": ("devutils.server", "devutils.observability.logging"),
    "mcp": (
        "devutils.frontends.mcp",
        "devutils.frontends.mcp_stdio",
        "devutils.observability.logging",
    ),
}


def load_modules(arguments: Sequence[str]) -> tuple[ToolSpec, ...]:
    """Import every module the command named by ``arguments`` runs, and return its tools.

    The server (and its supervisor, which only watches workers) and the container's health
    check use no tool: importing every tool module would cost each ~0.5 s of CPU and ~35 MiB.
    """
    command = arguments[0] if arguments else ""
    for module in _COMMAND_MODULES.get(command, ()):
        importlib.import_module(module)
    return () if command in ("serve", "healthcheck") else catalogue()


def _main(arguments: list[str]) -> int:
    arguments = _without_trailing_end(arguments)
    raw = "--raw" in arguments[: _options_end(arguments)]
    specs = load_modules(arguments)
    parser, tree, parsers = _build(specs)
    try:
        namespace, extra = parser.parse_known_args(arguments)
        if extra:  # reported by the command's own parser, so the message names the command
            _command_parser(parsers, arguments).error(_unrecognized(extra))
    except UsageError as exc:
        return _print_error(exc, raw)
    # As parsed: argparse also takes an abbreviation (--ra); the test above is for errors only.
    raw = bool(getattr(namespace, "raw", raw))
    if namespace.command is None:
        parser.print_help()
        return EX_USAGE
    if namespace.command == "completion":
        _write(script(namespace.shell, tree).encode())
        return 0
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _refuse_configuration(exc, namespace.command)
    if namespace.command == "serve":
        from devutils.server import serve

        try:
            return serve(settings, namespace.host, namespace.port, namespace.workers)
        except SettingsError as exc:  # found while building the app (auth keys, tracing, MCP)
            return _refuse_configuration(exc, namespace.command)
    if namespace.command == "healthcheck":
        return healthcheck(settings, namespace.url, namespace.timeout)
    if namespace.command == "mcp":
        from devutils.frontends.mcp import run_stdio

        if sys.stdout is None:  # started with stdout closed: no answer could be written
            return _output_failed(OSError(errno.EBADF, os.strerror(errno.EBADF)))

        try:
            return run_stdio(settings)
        except SettingsError as exc:
            print(f"devutils: {exc}", file=sys.stderr)
            return 78
    _quiet_logging(settings, getattr(namespace, "verbose", False))
    try:
        registry = Registry(specs, ToolContext(settings))
    except SettingsError as exc:
        print(f"devutils: {exc}", file=sys.stderr)
        return 78
    if namespace.command == "tools":
        _write("".join(f"{' '.join(spec.words):<28} {spec.title}\n" for spec in registry).encode())
        return 0
    tool_name = getattr(namespace, "tool", None)
    if tool_name is None:  # a family word without a tool: its help, on stderr
        with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
            parser.parse_args([*arguments, "--help"])
        return EX_USAGE
    tool_spec = registry.get(tool_name)
    if tool_spec is None:
        # The parser knows every tool (it is built before settings are read); this one is off.
        return _print_error(
            NotFoundError("Tool disabled", f"{tool_name} is turned off by DISABLED_TOOLS"), raw
        )
    try:
        sources = Sources(_stdin(), settings.max_body_bytes, os.environ)
        result = registry.invoke_sync(tool_spec, _tool_args(namespace, tool_spec, sources))
    except ToolError as exc:
        return _print_error(exc, raw)
    except Exception:  # a bug in a tool: answered as REST answers it (500), never a traceback
        logging.getLogger(__name__).exception("unhandled error", extra={"tool": tool_name})
        return _print_error(InternalError(), raw)
    finally:
        registry.close()
    dumped = dump_output(result)
    _write(render_raw(tool_spec, dumped) if raw else render_json(dumped))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
