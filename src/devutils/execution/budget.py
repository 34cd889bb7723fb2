"""The output cap (``MAX_OUTPUT_BYTES``): one object tools use while they produce output.

A tool that can amplify its input (JSON indentation, regex groups, decompression, base64) asks the
context for a budget and charges every piece it produces; the registry checks the finished result
against the same limit, so a tool that forgets is still capped, only later.
"""

from __future__ import annotations

from devutils.errors import RequestTooLargeError

MIB = 1024 * 1024
KIB = 1024


def describe_size(size: int) -> str:
    """``16 MiB``, ``64 KiB`` or ``1000 bytes``: limits read as people configure them."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} bytes"


def output_too_large(limit: int, message: str = "Output too large") -> RequestTooLargeError:
    return RequestTooLargeError(
        message, f"output would exceed {describe_size(limit)} (MAX_OUTPUT_BYTES)"
    )


class OutputBudget:
    """A running byte count against the output cap; :meth:`charge` raises 413 past it."""

    __slots__ = ("limit", "message", "used")

    def __init__(self, limit: int, message: str = "Output too large") -> None:
        self.limit = limit
        self.message = message
        self.used = 0

    def charge(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise output_too_large(self.limit, self.message)

    def check(self, size: int) -> None:
        """Refuse an output of ``size`` bytes before producing it (nothing is charged)."""
        if self.used + size > self.limit:
            raise output_too_large(self.limit, self.message)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)
