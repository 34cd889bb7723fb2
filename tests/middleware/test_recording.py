"""Recorders told a batch at a time: each gets the outcomes it wants, and one bad outcome costs
only itself."""

from __future__ import annotations

import logging
import os
from typing import Any

import orjson
import pytest

from devutils.http.asgi import RequestState
from devutils.http.middleware.access_log import AccessLog
from devutils.http.middleware.metrics import HttpMetrics
from devutils.http.middleware.recording import BatchedRecorders, Outcome
from devutils.observability.logging import LineWriter
from devutils.observability.metrics import HTTP_REQUESTS

ROUTE = "/api/v1/test/recording"  # a label no other test uses, so counts start at zero


def outcome(status: int, request_id: str, scope: dict[str, Any] | None = None) -> Outcome:
    state = RequestState(request_id=request_id, route=ROUTE)
    return (scope if scope is not None else {"method": "GET"}, state, status, 0.001, 1767323045.0)


def read_lines(read_fd: int, write_fd: int, writer: LineWriter) -> list[dict[str, Any]]:
    writer.flush()
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        return [orjson.loads(line) for line in pipe.read().splitlines()]


def test_each_recorder_gets_the_statuses_it_wants_in_one_batch() -> None:
    read_fd, write_fd = os.pipe()
    writer = LineWriter(fd=write_fd)
    metrics = HttpMetrics()
    batched = BatchedRecorders([metrics, AccessLog(writer, logging.WARNING)])
    assert batched.min_status == 0  # metrics count everything
    before = {code: HTTP_REQUESTS.value(("GET", ROUTE, code)) for code in ("200", "404", "500")}
    for index, status in enumerate((200, 404, 200, 500)):
        batched.record(*outcome(status, f"r{index}"))
    batched.batch.drain()
    counted = {code: HTTP_REQUESTS.value(("GET", ROUTE, code)) - before[code] for code in before}
    assert counted == {"200": 2, "404": 1, "500": 1}
    lines = read_lines(read_fd, write_fd, writer)
    assert [(line["request_id"], line["status"]) for line in lines] == [("r1", 404), ("r3", 500)]


def test_one_bad_outcome_costs_only_itself(caplog: pytest.LogCaptureFixture) -> None:
    read_fd, write_fd = os.pipe()
    writer = LineWriter(fd=write_fd)
    metrics = HttpMetrics()
    batched = BatchedRecorders([metrics, AccessLog(writer)])
    before = HTTP_REQUESTS.value(("GET", ROUTE, "201"))
    broken: dict[str, Any] = {}  # no "method": both recorders fail on it
    with caplog.at_level(logging.ERROR, logger="devutils.observability"):
        for index, scope in enumerate(({"method": "GET"}, broken, {"method": "GET"})):
            batched.record(*outcome(201, f"r{index}", scope))
        batched.batch.drain()
    assert HTTP_REQUESTS.value(("GET", ROUTE, "201")) - before == 2
    lines = read_lines(read_fd, write_fd, writer)
    assert [line["request_id"] for line in lines] == ["r0", "r2"]
    assert caplog.text.count("recording failed") == 2
