"""The request recorders (metrics, access log), told each outcome in batches.

The request context calls :class:`BatchedRecorders` once per request; it keeps the outcome (the
scope, the request state, status, duration, end time: no bodies) and hands the inner recorders a
batch at a time (see :mod:`devutils.observability.batching` for when batches are applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from devutils.http.asgi import RequestState, Scope
from devutils.observability.batching import Batch

# What a recorder is told about one request (see devutils.http.asgi.Recorder).
Outcome = tuple[Scope, RequestState, int, float, float]


class BatchRecorder(Protocol):
    """A recorder told outcomes a batch at a time, each with ``status >= min_status``.  It keeps
    one bad outcome from costing the rest of the batch (logs it and goes on)."""

    min_status: int

    def record_many(self, outcomes: list[Outcome]) -> None: ...


class BatchedRecorders:
    def __init__(self, recorders: Sequence[BatchRecorder]) -> None:
        self.recorders = tuple(recorders)
        self.min_status = min((recorder.min_status for recorder in recorders), default=1000)
        self.batch = Batch(self._apply)

    def record(
        self, scope: Scope, state: RequestState, status: int, elapsed: float, at: float
    ) -> None:
        if status >= self.min_status:
            self.batch.add((scope, state, status, elapsed, at))

    def _apply(self, outcomes: list[Outcome]) -> None:
        for recorder in self.recorders:
            wanted = recorder.min_status
            if wanted > self.min_status:
                recorder.record_many([outcome for outcome in outcomes if outcome[2] >= wanted])
            else:
                recorder.record_many(outcomes)
