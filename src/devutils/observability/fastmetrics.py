"""Counters and histograms for the per-request path, exported through prometheus_client.

A prometheus_client metric child takes a lock and goes through three method layers per update;
with five updates per REST request (request counter, latency histogram, tool counter, tool
histogram, family counter) that was the largest single cost of the default stack under load
(docs/performance.md).  These families keep each series as plain numbers in a dict keyed by the
label-value tuple and hand Prometheus complete families at scrape time through the library's
custom-collector interface, so the registry, the exposition format and
``REGISTRY.get_sample_value`` stay prometheus_client's.

Each family is updated by one writer at a time (the request recorders and the tool-metrics
observer apply their batches under the batch's lock; see :mod:`devutils.observability.batching`),
so a read-modify-write needs no lock of its own.  A scrape iterates a copy of each dict made by
``dict.copy()``, one C-level call that runs no Python code (unlike building a list of item tuples,
which can trigger a garbage collection and its callbacks), so a scrape from another thread never
sees a dict change size under it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from devutils.observability.batching import drain_all

Labels = tuple[str, ...]


def _go_float(value: float) -> str:
    """A bucket bound written as prometheus_client writes ``le`` ("0.005", "1.0", "+Inf"): Python's
    shortest repr, which is Go's format for the bounds we use (below 1e6; Go switches to exponent
    notation sooner).  Ours because the library's formatter is not part of its documented API."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value >= 1e6:
        raise ValueError(f"bucket bound {value} needs Go's exponent notation")
    return repr(float(value))


class FastCounter(Collector):
    """A counter family: ``inc(("GET", "/health", "200"))``, label values in declaration order."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        self.name = name.removesuffix("_total")
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.values: dict[Labels, float] = {}
        if registry is not None:
            registry.register(self)

    def inc(self, labels: Labels, amount: float = 1) -> None:
        values = self.values
        values[labels] = values.get(labels, 0) + amount

    def touch(self, labels: Labels) -> None:
        """Make the series exist at 0, so ``rate()`` over it works before the first event."""
        self.values.setdefault(labels, 0)

    def value(self, labels: Labels) -> float:
        return self.values.get(labels, 0)

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        drain_all()  # requests recorded in a pending batch count in this read
        return [self.family(self.values.copy())]

    def family(self, values: dict[Labels, float]) -> CounterMetricFamily:
        """This family with the given series (this process's, or the sum over workers)."""
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in values.items():
            family.add_metric(labels, value)
        return family


class FastHistogram(Collector):
    """A histogram family with fixed buckets (``le`` upper bounds; +Inf is implied)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        bounds = tuple(float(bound) for bound in buckets if bound != math.inf)
        if list(bounds) != sorted(set(bounds)):
            raise ValueError("histogram buckets must be strictly increasing")
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = bounds
        self._le = [_go_float(bound) for bound in bounds] + ["+Inf"]
        # Per series: one count per bucket (not cumulative), the +Inf bucket, then the sum.
        self.series: dict[Labels, list[float]] = {}
        if registry is not None:
            registry.register(self)

    def observe(self, labels: Labels, value: float) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = [0.0] * (len(self.bounds) + 2)
        series[bisect_left(self.bounds, value)] += 1  # first bound >= value: "le" semantics
        series[-1] += value

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        drain_all()
        return [self.family(self.series.copy())]

    def family(self, series_by_labels: dict[Labels, list[float]]) -> HistogramMetricFamily:
        """This family with the given series, each laid out as :attr:`series` holds them."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, series in series_by_labels.items():
            counts = list(series)  # one copy, so the buckets, count and sum agree
            cumulative = 0.0
            buckets: list[tuple[str, float]] = []
            for le, count in zip(self._le, counts, strict=False):
                cumulative += count
                buckets.append((le, cumulative))
            family.add_metric(labels, buckets, sum_value=counts[-1])
        return family
