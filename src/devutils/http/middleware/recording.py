"""The request recorders (metrics, access log), told each outcome in batches.

The request context calls :class:`BatchedRecorders` once per request; it keeps the outcome (the
scope, the request state, status, duration, end time: no bodies) and applies the inner recorders a
batch at a time (see :mod:`devutils.observability.batching` for when batches are applied).
"""

from __future__ import annotations

from collections.abc import Sequence

from devutils.http.asgi import Recorder, RequestState, Scope
from devutils.observability.batching import Batch

Outcome = tuple[Scope, RequestState, int, float, float]


class BatchedRecorders:
    def __init__(self, recorders: Sequence[Recorder]) -> None:
        self.recorders = tuple(recorders)
        self.min_status = min((recorder.min_status for recorder in recorders), default=1000)
        self.batch = Batch(self._apply)

    def record(
        self, scope: Scope, state: RequestState, status: int, elapsed: float, at: float
    ) -> None:
        if status >= self.min_status:
            self.batch.add((scope, state, status, elapsed, at))

    def _apply(self, outcome: Outcome) -> None:
        status = outcome[2]
        for recorder in self.recorders:
            if status >= recorder.min_status:
                recorder.record(*outcome)
