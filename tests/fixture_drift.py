"""A test source whose chunk times drift and jump as a live LSL inlet's do (loaded by dotted path:
`type: fixture_drift:DriftingAmplifier`)."""

from __future__ import annotations

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import StreamSpec, signal_spec


class DriftingAmplifierParams(NodeParams):
    rate: float = 250.0
    n_samples: int = 30000
    chunk_size: int = 25
    drift: float = 500e-6  # the real sample period is (1 + drift) / rate
    t_start: float = 1000.0
    gap_at: int = -1  # this sample and the later ones come `gap_s` late (the chunk flagged gap); -1: none
    gap_s: float = 1.0
    markers: list[int] = []  # a marker at each of these samples' times (code i + 1, label "s<sample>")
    gap_markers: list[float] = []  # markers this many seconds after the last sample before the gap (in it)


def sample_time(k, p: DriftingAmplifierParams):
    """The true time of sample k: drifting, and `gap_s` later from `gap_at` on."""
    k = np.asarray(k, dtype=np.float64)
    return p.t_start + k * (1.0 + p.drift) / p.rate + p.gap_s * ((k >= p.gap_at) & (p.gap_at >= 0))


class DriftingAmplifier(Source[DriftingAmplifierParams]):
    """Signal `out` (one channel: the sample index) whose chunk t0 is its first sample's true time, and
    the `events` that mark given samples at their true times (sent with the chunk that holds them)."""

    Params = DriftingAmplifierParams
    outputs = ("out", "events")

    def configure(self, in_specs):
        p = self.params
        self.pos = 0
        labels = [(i + 1, f"s{m}") for i, m in enumerate(p.markers)]
        labels += [(100 + i, f"in gap {s}") for i, s in enumerate(p.gap_markers)]
        return {
            "out": signal_spec(p.rate, ["Cz"], "eeg"),
            "events": StreamSpec("events", 0.0, (3,), labels=tuple(labels)),
        }

    def read(self):
        p = self.params
        if self.pos >= p.n_samples:
            return None
        n = min(p.chunk_size, p.n_samples - self.pos, *([p.gap_at - self.pos] if self.pos < p.gap_at else []))
        k = np.arange(self.pos, self.pos + n)
        out = {
            "out": Chunk(k[None, :].astype(np.float64), t0=float(sample_time(self.pos, p)), gap=self.pos == p.gap_at)
        }
        rows = [[float(sample_time(m, p)), 0.0, i + 1.0] for i, m in enumerate(p.markers) if self.pos <= m < k[-1] + 1]
        if self.pos == p.gap_at:
            rows += [[float(sample_time(p.gap_at - 1, p)) + s, 0.0, 100.0 + i] for i, s in enumerate(p.gap_markers)]
        if rows:
            out["events"] = Chunk(np.array(rows), t0=rows[0][0])
        self.pos += n
        return out
