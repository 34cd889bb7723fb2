"""Log plumbing: the buffered line writer, timestamps, levels and the JSON formatter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import orjson
import pytest

from devutils.observability.logging import (
    REDACTED,
    Clock,
    JsonFormatter,
    LineWriter,
    flush_all,
    level_for_status,
)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        with contextlib.suppress(OSError):
            os.close(fd)


def pending(read_fd: int) -> bytes:
    try:
        return os.read(read_fd, 1 << 20)
    except BlockingIOError:
        return b""


def test_lines_wait_in_the_buffer_until_flushed(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    writer = LineWriter(write_fd, buffer_bytes=1024)
    writer.write(b'{"a":1}\n')
    writer.write(b'{"b":2}\n')
    assert pending(read_fd) == b""
    flush_all()
    assert pending(read_fd) == b'{"a":1}\n{"b":2}\n'


def test_a_full_buffer_is_written_at_once(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    writer = LineWriter(write_fd, buffer_bytes=16)
    writer.write(b"0123456789\n")
    assert pending(read_fd) == b""
    writer.write(b"abcdefghij\n")
    assert pending(read_fd) == b"0123456789\nabcdefghij\n"


async def test_running_flushes_periodically_and_at_exit(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    writer = LineWriter(write_fd, interval=0.01)
    async with writer.running():
        writer.write(b"first\n")
        for _ in range(200):
            await asyncio.sleep(0.01)
            if data := pending(read_fd):
                break
        assert data == b"first\n"
        writer.write(b"last\n")
    assert pending(read_fd) == b"last\n"


def test_a_closed_stream_drops_lines_instead_of_failing(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    writer = LineWriter(write_fd)
    os.close(read_fd)  # the reader is gone: EPIPE
    with pytest.raises(BrokenPipeError):
        os.write(write_fd, b"x")
    writer.write(b"lost\n")
    writer.flush()
    assert writer.buffered == 0  # dropped, not piling up in memory
    writer.write(b"also lost\n")
    assert writer.buffered == len(b"also lost\n")
    writer.flush()
    assert writer.buffered == 0


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (1703518245.0, "2023-12-25T15:30:45.000Z"),
        (1703518245.1234, "2023-12-25T15:30:45.123Z"),
        (1703518246.999, "2023-12-25T15:30:46.999Z"),
    ],
    ids=["whole-second", "milliseconds", "next-second"],
)
def test_clock(epoch: float, expected: str) -> None:
    clock = Clock()
    clock.now(epoch - 7200)  # a cached earlier second must not leak into the next one
    assert clock.now(epoch) == expected


def test_clock_reuses_a_stamp_only_within_its_millisecond() -> None:
    clock = Clock()
    base = 1703518245.0
    stamps = [
        clock.now(base + offset)
        for offset in (0.1231, 0.1234, 0.1239, 0.124, 1.124, 0.124, 7200.124)
    ]
    assert stamps == [
        "2023-12-25T15:30:45.123Z",
        "2023-12-25T15:30:45.123Z",
        "2023-12-25T15:30:45.123Z",
        "2023-12-25T15:30:45.124Z",
        "2023-12-25T15:30:46.124Z",  # same millisecond digits, next second
        "2023-12-25T15:30:45.124Z",  # and back
        "2023-12-25T17:30:45.124Z",
    ]


@pytest.mark.parametrize(
    ("status", "level"),
    [
        (200, "INFO"),
        (301, "INFO"),
        (401, "WARNING"),
        (499, "WARNING"),
        (500, "ERROR"),
        (0, "ERROR"),
    ],
    ids=["ok", "redirect", "unauthorised", "client-max", "server", "never-sent"],
)
def test_level_for_status(status: int, level: str) -> None:
    assert level_for_status(status)[0] == level


def _format(**extra: object) -> dict[str, object]:
    record = logging.LogRecord(
        "devutils.test", logging.WARNING, __file__, 1, "hello\nworld", None, None
    )
    record.__dict__.update(extra)
    line = JsonFormatter().format(record)
    assert "\n" not in line  # control characters are escaped: one record, one line
    return dict(orjson.loads(line))


def test_formatter_redacts_sensitive_keys_and_cuts_long_values() -> None:
    entry = _format(api_key="CANARY", auth_token="CANARY", request_id="r1", detail="x" * 5000)
    assert entry["api_key"] == entry["auth_token"] == REDACTED
    assert entry["request_id"] == "r1"
    assert entry["msg"] == "hello\nworld"
    assert isinstance(entry["detail"], str)
    assert len(entry["detail"]) == 1025
    assert entry["level"] == "WARNING"


def test_formatter_keeps_only_the_exception_type() -> None:
    try:
        raise ValueError("CANARY-in-exception")
    except ValueError:
        record = logging.LogRecord(
            "devutils.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert orjson.loads(line)["error"] == "ValueError"
    assert "CANARY" not in line
