"""dev-utilities: developer utilities for agents and programs (REST, MCP, CLI)."""


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata costs ~80 ms to import, and every command
    # (and `python -m devutils`) imports this package before it can answer Ctrl-C quietly.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("dev-utilities")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
