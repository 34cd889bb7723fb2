"""Batched recording: order kept, nothing lost across threads, drained on every path out."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from devutils.observability.batching import Batch, drain_all


def test_applied_in_order_when_full_and_on_drain_all() -> None:
    seen: list[int] = []
    batches: list[list[int]] = []

    def apply(items: list[int]) -> None:
        batches.append(items)
        seen.extend(items)

    batch = Batch(apply, size=3)
    batch.add(1)
    batch.add(2)
    assert seen == []  # below the size: waiting
    batch.add(3)
    assert seen == [1, 2, 3]
    batch.add(4)
    drain_all()
    assert seen == [1, 2, 3, 4]
    assert batches == [[1, 2, 3], [4]]  # one call per batch
    assert len(batch) == 0
    batch.drain()
    assert batches == [[1, 2, 3], [4]]  # nothing pending: no call


def test_an_applier_that_raises_loses_only_its_batch(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    def apply(items: list[int]) -> None:
        if 2 in items:
            raise ValueError("bug")
        seen.extend(items)

    batch = Batch(apply, size=2)
    with caplog.at_level(logging.ERROR, logger="devutils.observability"):
        for item in (1, 2, 3, 4):
            batch.add(item)  # the request that fills the failing batch is not hurt
    assert seen == [3, 4]
    assert len(batch) == 0
    assert "recording failed" in caplog.text


def test_drains_on_another_thread_lose_nothing() -> None:
    seen: list[int] = []
    batch = Batch(seen.extend, size=1_000_000)
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
    batch = Batch(seen.extend, size=1000)
    async with batch.running(interval=0.01):
        batch.add("early")
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen == ["early"]
        batch.add("last")
    assert seen == ["early", "last"]
