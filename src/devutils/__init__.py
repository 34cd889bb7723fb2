"""dev-utilities: developer utilities for agents and programs (REST, MCP, CLI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dev-utilities")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"
