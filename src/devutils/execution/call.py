"""Running a tool's function: the one place where what it raises becomes a client's error.

The server runs inline tools itself and isolated ones in a pool process (``worker``); both call
:func:`run_tool`, so a tool answers the same whichever process ran it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from devutils.errors import ValidationError


def run_tool(
    func: Callable[[Any, Any], Any],
    parsed: Any,
    context: Any,
    output_model: type[Any],
    bind_message: str,
) -> Any:
    """``func(parsed, context)``, checked to be an ``output_model``; known failures are 400s."""
    try:
        result = func(parsed, context)
    except UnicodeEncodeError:
        # Only reachable through text that UTF-8 cannot hold (lone surrogates): JSON's
        # "\ud800" where a decoder lets it through, or undecodable bytes in a CLI argument.
        raise surrogate_error(bind_message) from None
    except pydantic.ValidationError as exc:
        if nests_too_deeply(exc):
            raise too_deep_error() from None
        raise
    if not isinstance(result, output_model):
        raise TypeError(f"{getattr(func, '__name__', func)!s} returned {type(result).__name__}")
    return result


def nests_too_deeply(exc: Exception) -> bool:
    """A result model pydantic could not build for its depth: a document queried, patched or
    diffed just inside the input's nesting limit, wrapped in the result's own levels."""
    return isinstance(exc, pydantic.ValidationError) and any(
        error["type"] == "recursion_depth_exceeded" for error in exc.errors()
    )


def too_deep_error() -> ValidationError:
    return ValidationError(
        "Invalid request", "the result nests too deeply to return: reduce the input's nesting"
    )


def surrogate_error(message: str) -> ValidationError:
    return ValidationError(message, "text contains unpaired surrogate code points")
