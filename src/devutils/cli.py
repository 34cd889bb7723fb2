"""Command line: ``devutils serve | healthcheck | tools | mcp | <family> <op> [<sub>] --field value``.

Tool commands are generated from the registry: each input field becomes ``--kebab-name`` (the
camelCase spelling works too); ``--json '{...}'`` (or ``--json -`` for stdin) passes the arguments
as one object.  Results print as JSON on stdout; errors print the error envelope on stderr and exit
non-zero with the error's exit code.
"""

from __future__ import annotations

import argparse
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
from devutils.errors import NotFoundError, ToolError, ValidationError
from devutils.registry import Registry, ToolContext, ToolSpec, catalogue, dump_output
from devutils.settings import Settings, SettingsError, load_settings

_RESERVED = {"serve", "healthcheck", "tools", "mcp"}


def _json_object(text: str) -> dict[str, Any]:
    value = orjson.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _argument_kwargs(annotation: Any) -> dict[str, Any]:
    """argparse options for a model field's type (Optional[...] unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(inner) == 1:
            return _argument_kwargs(inner[0])
    if origin is typing.Annotated:
        return _argument_kwargs(typing.get_args(annotation)[0])
    if origin is Literal:
        # No argparse choices: a bad value goes through the registry and gets the same
        # VALIDATION_ERROR envelope as REST and MCP.
        choices = typing.get_args(annotation)
        return {"type": type(choices[0]), "metavar": "{" + ",".join(map(str, choices)) + "}"}
    if annotation is bool:
        return {"type": _bool, "nargs": "?", "const": True, "metavar": "BOOL"}
    if annotation is int:
        return {"type": int}
    if annotation is float:
        return {"type": float}
    if origin is dict or annotation is dict:
        return {"type": _json_object, "metavar": "JSON"}
    if origin is list:
        return {"type": _json_list, "metavar": "JSON"}
    return {"type": str}


def _json_list(text: str) -> list[Any]:
    value = orjson.loads(text)
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError("expected a JSON array")
    return value


def _add_tool_parser(parent: Any, spec: ToolSpec, words: Sequence[str]) -> Any:
    parser = parent.add_parser(words[-1], help=spec.title, description=spec.description)
    parser.set_defaults(tool=spec.name)
    parser.add_argument(
        "--json",
        dest="_json",
        metavar="OBJECT",
        help="all arguments as a JSON object ('-' reads stdin)",
    )
    for name, field in spec.input_model.model_fields.items():
        flags = [f"--{name.replace('_', '-')}"]
        camel = to_camel(name)
        if camel != name:
            flags.append(f"--{camel}")
        kwargs = {"metavar": name.upper(), **_argument_kwargs(field.annotation)}
        parser.add_argument(
            *flags, dest=f"field:{name}", default=None, help=field.description, **kwargs
        )
    return parser


def build_parser(specs: Sequence[ToolSpec]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devutils", description="Developer utilities: server, MCP and tools."
    )
    parser.add_argument("--version", action="version", version=f"dev-utilities {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the HTTP server (REST + MCP at /mcp)")
    serve.add_argument("--host", default=None, help="bind address (default SERVER_HOST or 0.0.0.0)")
    serve.add_argument(
        "--port", type=int, default=None, help="port (default SERVER_PORT or 8080; 0: any free)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default SERVER_WORKERS / WEB_CONCURRENCY, else the usable CPUs)",
    )
    check = commands.add_parser("healthcheck", help="exit 0 when /health/live answers 200")
    check.add_argument(
        "--url", default=None, help="default http://127.0.0.1:$SERVER_PORT/health/live"
    )
    check.add_argument("--timeout", type=float, default=3.0)
    commands.add_parser("tools", help="list the tools")
    commands.add_parser("mcp", help="serve MCP over stdio")

    # Nested parsers: family → op → [sub]; a word may be both a command and a group.
    # A tool sorts before the tools under it (crypto hash, then crypto hash verify): its own
    # parser then takes the sub-commands.
    groups: dict[tuple[str, ...], Any] = {(): commands}
    tools: dict[tuple[str, ...], Any] = {}
    for spec in sorted(specs, key=lambda s: s.words):
        words = spec.words
        for depth in range(1, len(words)):
            prefix = words[:depth]
            if prefix not in groups:
                group_parser = tools.get(prefix) or groups[prefix[:-1]].add_parser(
                    prefix[-1], help=f"{' '.join(prefix)} tools"
                )
                groups[prefix] = group_parser.add_subparsers(metavar="TOOL")
        tools[words] = _add_tool_parser(groups[words[:-1]], spec, words)
    return parser


def _tool_args(namespace: argparse.Namespace) -> dict[str, Any]:
    args: dict[str, Any] = {}
    raw = getattr(namespace, "_json", None)
    if raw is not None:
        text = sys.stdin.read() if raw == "-" else raw
        try:
            loaded = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValidationError("Invalid request", f"--json: malformed JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValidationError("Invalid request", "--json must be a JSON object")
        args.update(loaded)
    for key, value in vars(namespace).items():
        if key.startswith("field:") and value is not None:
            args[to_camel(key.removeprefix("field:"))] = value
    return args


def _print_error(error: ToolError) -> int:
    sys.stderr.write(orjson.dumps(error.envelope(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return error.exit_code


def healthcheck(settings: Settings | None, url: str | None, timeout: float) -> int:
    if url is None:
        port = settings.server_port if settings else 8080
        url = f"http://127.0.0.1:{port}/health/live"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local probe
            ok = response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        ok = False
    print(
        "Health check passed" if ok else "Health check failed",
        file=sys.stdout if ok else sys.stderr,
    )
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    specs = catalogue()
    parser = build_parser(specs)
    namespace = parser.parse_args(argv)
    if namespace.command is None:
        parser.print_help()
        return 64
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"devutils: {exc}", file=sys.stderr)
        return 78  # EX_CONFIG
    if namespace.command == "serve":
        from devutils.server import serve

        try:
            return serve(settings, namespace.host, namespace.port, namespace.workers)
        except SettingsError as exc:  # found while building the app (auth keys, tracing, MCP)
            print(f"devutils: {exc}", file=sys.stderr)
            return 78
    if namespace.command == "healthcheck":
        return healthcheck(settings, namespace.url, namespace.timeout)
    if namespace.command == "mcp":
        from devutils.frontends.mcp import run_stdio

        try:
            return run_stdio(settings)
        except SettingsError as exc:
            print(f"devutils: {exc}", file=sys.stderr)
            return 78
    try:
        registry = Registry(specs, ToolContext(settings))
    except SettingsError as exc:
        print(f"devutils: {exc}", file=sys.stderr)
        return 78
    if namespace.command == "tools":
        for spec in registry:
            print(f"{' '.join(spec.words):<28} {spec.title}")
        return 0
    tool_name = getattr(namespace, "tool", None)
    if tool_name is None:  # a family word without a tool
        parser.parse_args([*(argv or sys.argv[1:]), "--help"])
        return 64
    tool_spec = registry.get(tool_name)
    if tool_spec is None:
        # The parser knows every tool (it is built before settings are read); this one is off.
        return _print_error(
            NotFoundError("Tool disabled", f"{tool_name} is turned off by DISABLED_TOOLS")
        )
    try:
        result = registry.invoke_sync(tool_spec, _tool_args(namespace))
    except ToolError as exc:
        return _print_error(exc)
    finally:
        registry.close()
    sys.stdout.write(orjson.dumps(dump_output(result), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
