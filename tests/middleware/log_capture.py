"""Reading access-log lines from captured stdout."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from devutils.observability.logging import flush_all


def start_capture(capfd: pytest.CaptureFixture[str]) -> None:
    """Drop whatever earlier tests' applications still had buffered."""
    flush_all()
    capfd.readouterr()


def access_lines(capfd: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    flush_all()
    out, err = capfd.readouterr()
    lines = []
    for line in out.splitlines():
        if line.startswith("{") and '"msg":"request"' in line:
            lines.append(orjson.loads(line))
    return lines, out + err
