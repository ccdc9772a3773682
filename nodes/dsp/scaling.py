"""Running z-score over a causal sliding window.

``y[c, t] = (x[c, t] - mean) / std`` where mean and std (ddof 0) are taken over the last `window` seconds
of channel c *including* sample t (fewer samples at the start of the stream: an expanding window);
``y = 0`` where std <= eps (e.g. a flat channel). Latency 0.

Computed per chunk with cumulative sums over [kept history, chunk], offset by the stream's first sample
per channel (kept in the state) to limit cancellation; streaming equals offline to ~1e-10 relative while
the signal's offset from its first sample stays below ~1e3 standard deviations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.spec import SpecError

from ..nanpolicy import NAN_POLICY_HELP, NanPolicy
from ..signal import SignalNode


class ZScoreParams(NodeParams):
    window: float = Field(..., gt=0, description="window length in seconds")
    eps: float = Field(1e-12, ge=0, description="std at or below this gives 0")
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class RunningZScore(SignalNode[ZScoreParams]):
    """Causal running z-score per channel over the last `window` seconds."""

    Params = ZScoreParams

    @dataclass
    class State:
        hist: np.ndarray  # (signals, <= window - 1) the last input samples, float64
        ref: np.ndarray  # (signals, 1) the stream's first sample, the offset of the sums; (signals, 0) before it

    def setup(self, spec):
        self.W = int(round(self.params.window * spec.rate))
        if self.W < 2:
            raise SpecError(
                f"running_zscore window {self.params.window:g} s is under 2 samples at {spec.rate:g} Hz",
                f"use a window of at least {2 / spec.rate:g} s",
            )
        self._nch = int(np.prod(self.lead)) if self.lead else 1
        return spec.evolve(dtype=self.dtype.name, units="a.u.")

    def new_state(self):
        return self.State(np.zeros((self._nch, 0)), np.zeros((self._nch, 0)))

    def transform(self, x):
        s = self.state
        n = x.shape[-1]
        x2 = x.reshape(self._nch, n).astype(np.float64, copy=False)
        if s.ref.shape[1] == 0:
            s.ref = x2[:, :1].copy()
        h = s.hist.shape[1]
        ext = np.concatenate([s.hist, x2], axis=1) - s.ref
        zero = np.zeros((self._nch, 1))
        s1 = np.concatenate([zero, np.cumsum(ext, axis=1)], axis=1)
        s2 = np.concatenate([zero, np.cumsum(ext * ext, axis=1)], axis=1)
        t = np.arange(h, h + n)  # ext index of each output sample
        lo = np.maximum(0, t - self.W + 1)
        cnt = (t + 1 - lo).astype(np.float64)
        mean = (s1[:, t + 1] - s1[:, lo]) / cnt
        var = np.maximum((s2[:, t + 1] - s2[:, lo]) / cnt - mean * mean, 0.0)
        std = np.sqrt(var)
        dev = ext[:, h:] - mean
        ok = std > self.params.eps
        y = np.where(ok, dev / np.where(ok, std, 1.0), 0.0).astype(self.dtype, copy=False)
        keep = min(self.W - 1, ext.shape[1])
        s.hist = (ext[:, ext.shape[1] - keep :] + s.ref).copy()
        return y.reshape(*self.lead, n)
