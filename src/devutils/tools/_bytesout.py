"""Output for tools whose result is bytes (decoders, decompression), per API-DELTAS D7.

``result`` stays the reference's string (invalid UTF-8 replaced by U+FFFD, as Go's JSON encoder
does), so existing clients keep working; when the bytes are not UTF-8 ``isBinary`` says so and
``resultBase64`` carries them intact.
"""

from __future__ import annotations

import binascii

from pydantic import Field

from devutils.execution.budget import OutputBudget
from devutils.models import ToolOutput


class BytesOutput(ToolOutput):
    result: str = Field(description="The result as text (invalid UTF-8 shown as U+FFFD).")
    is_binary: bool = Field(
        False, description="True when the result bytes are not valid UTF-8 text."
    )
    result_base64: str | None = Field(
        None, description="Standard padded base64 of the exact result bytes, when isBinary."
    )


def text_output(text: str) -> BytesOutput:
    return BytesOutput(result=text)


def bytes_output(data: bytes) -> BytesOutput:
    try:
        return BytesOutput(result=data.decode("utf-8"))
    except UnicodeDecodeError:
        return BytesOutput(
            result=data.decode("utf-8", "replace"),
            is_binary=True,
            result_base64=binascii.b2a_base64(data, newline=False).decode("ascii"),
        )


def check_output_size(size: int, limit: int, message: str) -> None:
    """Refuse an output larger than the configured limit (413), before producing it."""
    OutputBudget(limit, message).check(size)
