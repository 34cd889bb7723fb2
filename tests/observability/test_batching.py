"""Batched recording: order kept, nothing lost across threads, drained on every path out."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from devutils.observability.batching import Batch, drain_all


def test_applied_in_order_when_full_and_on_drain_all() -> None:
    seen: list[int] = []
    batch = Batch(seen.append, size=3)
    batch.add(1)
    batch.add(2)
    assert seen == []  # below the size: waiting
    batch.add(3)
    assert seen == [1, 2, 3]
    batch.add(4)
    drain_all()
    assert seen == [1, 2, 3, 4]
    assert len(batch) == 0


def test_a_failing_item_is_logged_and_the_rest_applied(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def apply(item: int) -> None:
        if item == 2:
            raise ValueError("bug")
        seen.append(item)

    batch = Batch(apply, size=10)
    for item in (1, 2, 3):
        batch.add(item)
    with caplog.at_level(logging.ERROR, logger="devutils.observability"):
        batch.drain()  # does not raise into whichever request drained
    assert seen == [1, 3]
    assert "recording failed" in caplog.text


def test_drains_on_another_thread_lose_nothing() -> None:
    seen: list[int] = []
    batch = Batch(seen.append, size=1_000_000)
    stop = threading.Event()

    def drain_repeatedly() -> None:
        while not stop.is_set():
            batch.drain()

    thread = threading.Thread(target=drain_repeatedly)
    thread.start()
    try:
        for item in range(50_000):
            batch.add(item)
    finally:
        stop.set()
        thread.join()
    batch.drain()
    assert seen == list(range(50_000))


async def test_running_drains_periodically_and_at_exit() -> None:
    seen: list[str] = []
    batch = Batch(seen.append, size=1000)
    async with batch.running(interval=0.01):
        batch.add("early")
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen == ["early"]
        batch.add("last")
    assert seen == ["early", "last"]
