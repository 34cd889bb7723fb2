"""Structured JSON logs on stdout: one object per line.

Two paths share the stream:

- Application records (start-up, shutdown, warnings) go through stdlib ``logging`` with
  :class:`JsonFormatter`.  Records carry only what the call site passes in ``extra``; values under
  sensitive-looking keys are redacted anyway, and long values are cut.
- The access log (one line per request) bypasses ``logging``: an orjson line appended to a
  :class:`LineWriter` buffer costs about 2 µs against about 12 µs through a handler
  (docs/performance.md).  The buffer is flushed when it fills, every half second, and at shutdown;
  a crash loses at most that half second of access lines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import weakref
from datetime import UTC, datetime
from typing import Any

import orjson

from devutils.observability.batching import drain_all, periodically
from devutils.settings import Settings

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# The reference's redaction list: a value logged under such a key is replaced, whatever it is.
_SENSITIVE = re.compile(
    r"password|secret|key|token|auth|jwt|bearer|credential|private|hash|hmac|cert|signature|salt",
    re.IGNORECASE,
)
REDACTED = "[REDACTED]"
MAX_VALUE_CHARS = 1024


def _safe(key: str, value: Any) -> Any:
    if _SENSITIVE.search(key):
        return REDACTED
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": _safe("msg", record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _safe(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type only: tracebacks can carry request data.
            entry["error"] = record.exc_info[0].__name__
        # orjson escapes control characters, so a value cannot forge a second line.
        return orjson.dumps(entry, default=str).decode()


def config_error_line(error: Exception, exit_code: int) -> str:
    """A fatal start-up configuration error as one JSON log line, in the shape of every other
    line of the server's log, so log pipelines (``kubectl logs | jq``) read it too.  Written
    before logging is configured: the settings that configure it are what failed."""
    record = logging.makeLogRecord(
        {
            "name": "devutils.server",
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": "invalid configuration, not starting",
            "error": str(error),
            "exit_code": exit_code,
        }
    )
    return JsonFormatter().format(record)


def configure_logging(settings: Settings, stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.python_log_level)
    for noisy in ("mcp", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


_WRITERS: weakref.WeakSet[LineWriter] = weakref.WeakSet()


class LineWriter:
    """Whole lines, buffered in memory and written to a file descriptor in large chunks.

    Lines arrive in batches (see :mod:`devutils.observability.batching`), normally on the event
    loop thread; a lock keeps a drain triggered elsewhere (a metrics read on another thread) from
    interleaving with a flush.  A write error (closed or broken stdout) drops the buffered lines
    rather than failing requests.
    """

    def __init__(self, fd: int = 1, buffer_bytes: int = 64 * 1024, interval: float = 0.5) -> None:
        self.fd = fd
        self.buffer_bytes = buffer_bytes
        self.interval = interval
        self._buffer = bytearray()
        self._lock = threading.RLock()  # write() may flush while holding it
        _WRITERS.add(self)

    @property
    def buffered(self) -> int:
        """Bytes waiting to be written."""
        return len(self._buffer)

    def write(self, line: bytes) -> None:
        with self._lock:
            self._buffer += line
            if len(self._buffer) >= self.buffer_bytes:
                self.flush()

    def flush(self) -> None:
        with self._lock:  # held while writing, so chunks reach the descriptor in order
            if not self._buffer:
                return
            data = memoryview(bytes(self._buffer))
            self._buffer.clear()
            try:
                while data:
                    written = os.write(self.fd, data)
                    data = data[written:]
            except OSError:
                pass

    def running(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Lifespan hook: flush every ``interval`` seconds while serving, and once at the end."""
        return periodically(self.flush, self.interval)


def flush_all() -> None:
    """Apply pending batches (access lines) and flush every live writer now (tests, and anyone
    about to read stdout)."""
    drain_all()
    for writer in list(_WRITERS):
        writer.flush()


_LEVELS = (("ERROR", logging.ERROR), ("WARNING", logging.WARNING), ("INFO", logging.INFO))


def level_for_status(status: int) -> tuple[str, int]:
    """INFO below 400, WARNING for 4xx, ERROR for 5xx (and for a response never sent)."""
    if status >= 500 or status == 0:
        return _LEVELS[0]
    if status >= 400:
        return _LEVELS[1]
    return _LEVELS[2]


class Clock:
    """ISO-8601 UTC timestamps with milliseconds; the seconds part is formatted once per second,
    and a whole stamp is reused while the millisecond stays the same (under load, dozens of
    access lines share one)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""
        self._millis = -1
        self._stamp = ""

    def now(self, epoch: float) -> str:
        # Whole microseconds first, as datetime does: (x.678 - x) * 1000 is 677.99... in floats.
        millis = round(epoch * 1_000_000) // 1000
        if millis == self._millis:
            return self._stamp
        second = millis // 1000
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self._millis = millis
        self._stamp = stamp = f"{self._prefix}.{millis % 1000:03d}Z"
        return stamp
