"""Per-node statistics of a run (the executor keeps one NodeStats per node; the multi-process runner sends them as
plain JSON over its control channel and the summary reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .histogram import Histogram


@dataclass
class NodeStats:
    """Per-node counts and timings. compute_ns and latency_ns are bounded histograms (pipeline/histogram.py,
    1 % relative error), so a node's statistics take the same memory after a minute or after 8 hours."""

    chunks_in: int = 0
    chunks_out: int = 0
    drops: int = 0
    gaps: int = 0
    restarts: int = 0
    compute_ns: Histogram | list = field(default_factory=Histogram)
    latency_ns: Histogram | list = field(default_factory=Histogram)  # end-to-end, measured where the node is a sink
    counters: dict = field(default_factory=dict)
    summarised: bool = False  # compute_ns/latency_ns hold [p50, p99] (from_dict), not histograms

    def to_dict(self) -> dict:
        """Plain-JSON form (percentiles, not samples) for the multi-process runner's control channel."""
        d = {k: getattr(self, k) for k in _COUNTS}
        d["counters"] = dict(self.counters)
        for name in ("compute_ns", "latency_ns"):
            values = getattr(self, name)
            d[name] = [float(v) for v in values] if self.summarised else values.percentiles(50, 99)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NodeStats:
        """The inverse of to_dict (percentiles stay percentiles); ValueError on anything malformed."""
        try:
            counts = {k: int(d[k]) for k in _COUNTS}
            pairs = {k: [float(v) for v in d[k]] for k in ("compute_ns", "latency_ns")}
            counters = {str(k): int(v) for k, v in d["counters"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"not NodeStats: {e!r}") from None
        if any(len(v) not in (0, 2) for v in pairs.values()):
            raise ValueError("not NodeStats: compute_ns and latency_ns are [p50, p99] or []")
        return cls(
            **counts,
            compute_ns=pairs["compute_ns"],
            latency_ns=pairs["latency_ns"],
            counters=counters,
            summarised=True,
        )


_COUNTS = ("chunks_in", "chunks_out", "drops", "gaps", "restarts")


def _hist(h: Histogram | list) -> Histogram:
    """A running executor's timings are histograms (lists only in a summarised copy)."""
    assert isinstance(h, Histogram)
    return h
