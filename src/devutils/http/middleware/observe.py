"""One layer that watches every request and hands its outcome to the recorders.

Metrics and the access log both need the same facts (status, error code, duration); one layer
collects them once and calls each recorder, instead of two layers each wrapping the request (every
layer costs a closure and extra awaits per request).  Each recorder lives in its own module.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from devutils.errors import ToolError
from devutils.http.asgi import ASGIApp, Receive, Scope, Send, response_status


class Recorder(Protocol):
    def record(self, scope: Scope, status: int, code: str | None, elapsed: float) -> None: ...


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, recorders: Sequence[Recorder]) -> None:
        self.app = app
        self.recorders = tuple(recorders)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        code: str | None = None
        try:
            await self.app(scope, receive, send)
            # The request-context layer outside records the status as the response starts.
            status = response_status(scope)
        except ToolError as exc:
            # Rendered by the request-context layer further out: record what it will send.
            status = response_status(scope) or exc.status
            code = exc.code
            raise
        except Exception:
            status = response_status(scope) or 500
            code = "INTERNAL_ERROR"
            raise
        finally:
            elapsed = time.perf_counter() - started
            for recorder in self.recorders:
                recorder.record(scope, status, code, elapsed)
