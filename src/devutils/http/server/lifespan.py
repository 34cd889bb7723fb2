"""The ASGI lifespan protocol: start-up before the first connection, shutdown after the last."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from devutils.http.asgi import ASGIApp, Message

log = logging.getLogger("devutils.server")


class Lifespan:
    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.started: asyncio.Future[bool] | None = None
        self.stopped: asyncio.Future[bool] | None = None

    async def startup(self) -> bool:
        """True when the application completed its start-up."""
        loop = asyncio.get_running_loop()
        self.started = loop.create_future()
        self.stopped = loop.create_future()
        self.task = loop.create_task(self._run())
        await self.inbox.put({"type": "lifespan.startup"})
        return await self.started

    async def shutdown(self, limit: float) -> bool:
        if self.task is None or self.stopped is None or self.task.done():
            return True
        await self.inbox.put({"type": "lifespan.shutdown"})
        try:
            return await asyncio.wait_for(asyncio.shield(self.stopped), limit)
        except TimeoutError:
            log.error("lifespan shutdown timed out", extra={"timeout_s": limit})
            self.task.cancel()
            return False

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self.inbox.get, self._send)
        except Exception as exc:
            log.error("lifespan failed", extra={"error": type(exc).__name__})
        finally:
            _settle(self.started, False)
            _settle(self.stopped, False)

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            _settle(self.started, True)
        elif kind == "lifespan.startup.failed":
            log.error("start-up failed", extra={"reason": message.get("message", "")})
            _settle(self.started, False)
        elif kind == "lifespan.shutdown.complete":
            _settle(self.stopped, True)
        elif kind == "lifespan.shutdown.failed":
            log.error("shutdown failed", extra={"reason": message.get("message", "")})
            _settle(self.stopped, False)


def _settle(future: asyncio.Future[bool] | None, value: bool) -> None:
    if future is not None and not future.done():
        future.set_result(value)
