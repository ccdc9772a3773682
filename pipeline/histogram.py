"""A bounded latency histogram: constant memory however many values it records.

Values (non-negative numbers, e.g. nanoseconds) fall into logarithmic buckets, in the manner of
HdrHistogram and DDSketch: bucket i holds (gamma^(i-1), gamma^i] with gamma = (1 + a) / (1 - a), and a
percentile is reported as the bucket's centre 2 gamma^i / (gamma + 1). A reported percentile is then
within a relative error `a` (1 % by default) of the value numpy gives with
`np.percentile(values, q, method="lower")`, the order statistic of rank floor(q/100 * (n - 1)).
Values below 1 (and 0) share one bucket that reports 0; values above the top bucket (gamma^MAX_BUCKETS,
about 1e17 at 1 %) are clamped into it. Memory: one fixed list of MAX_BUCKETS counts.
"""

from __future__ import annotations

import math

MAX_BUCKETS = 2048


class Histogram:
    __slots__ = ("rel_error", "_log_gamma", "_gamma", "counts", "n", "max")

    def __init__(self, rel_error: float = 0.01):
        if not 0 < rel_error < 0.5:
            raise ValueError(f"rel_error must be in (0, 0.5), got {rel_error}")
        self.rel_error = rel_error
        self._gamma = (1 + rel_error) / (1 - rel_error)
        self._log_gamma = math.log(self._gamma)
        self.counts = [0] * MAX_BUCKETS
        self.n = 0
        self.max = 0.0

    def __len__(self) -> int:
        return self.n

    def record(self, value: float) -> None:
        if value >= 1:
            i = min(math.ceil(math.log(value) / self._log_gamma), MAX_BUCKETS - 1)
            self.counts[max(i, 1)] += 1
        else:
            self.counts[0] += 1
        self.n += 1
        if value > self.max:
            self.max = float(value)

    append = record  # a drop-in for the list it replaces

    def merge(self, other: Histogram) -> None:
        if other.rel_error != self.rel_error:
            raise ValueError("histograms of different precision")
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.n += other.n
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100), within rel_error of np.percentile(values, q, method='lower')."""
        if not self.n:
            raise ValueError("percentile of an empty histogram")
        rank = math.floor(q / 100 * (self.n - 1))  # 0-based rank of the order statistic
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen > rank:
                return 0.0 if i == 0 else 2 * self._gamma**i / (self._gamma + 1)
        return self.max  # not reached

    def percentiles(self, *qs: float) -> list[float]:
        return [self.percentile(q) for q in qs] if self.n else []
