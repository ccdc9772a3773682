"""Filter bank: N IIR band-passes applied to every channel, stacked on a new leading band axis.

Input (channels, samples) -> output (bands, channels, samples), time last; the output spec has shape
(n_bands, n_channels) and keeps the channel names. Band k is ``sosfilt(butter/... bandpass(bands[k]))``
with its own carried ``zi``, exactly as the `bandpass` node (same design options, init and NaN policy).
Latency 0. For SSVEP filter-bank CCA, e.g. ``bands: [[6, 90], [14, 90], [22, 90]]``.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node
from wavegraph.pipeline.spec import SpecError

from .filters import IIRParams, SosRunner, _iir
from ..nanpolicy import chunk_data, check_nyquist, float_dtype, sanitize, signal_input


class FilterbankParams(IIRParams):
    bands: list[tuple[float, float]] = Field(..., min_length=1, description="[l_freq, h_freq] per band, Hz")


class Filterbank(Node):
    """Band-pass bank; see the module docstring."""

    Params = FilterbankParams

    def configure(self, in_specs):
        spec = signal_input(self, in_specs)
        p = self.params
        self.in_specs = dict(in_specs)
        if len(spec.shape) != 1:
            raise SpecError(f"filterbank needs a (channels, samples) signal, got shape {spec.shape}",
                            "apply the filter bank before any other band split")
        self._dtype = float_dtype(spec)
        self.sos = []
        for k, (lo, hi) in enumerate(p.bands):
            check_nyquist(f"filterbank band {k} l_freq", lo, spec.rate)
            check_nyquist(f"filterbank band {k} h_freq", hi, spec.rate)
            if lo >= hi:
                raise SpecError(f"filterbank band {k}: l_freq {lo:g} >= h_freq {hi:g}", "write each band as [low, high]")
            self.sos.append(np.asarray(_iir(p, [lo, hi], "bandpass", spec.rate), dtype=self._dtype))
        self._nb = len(self.sos)
        self._nch = spec.shape[0]
        self._policy = p.nan_policy
        self._steady = p.init == "steady"
        self.latency_samples = 0
        self.reset()
        self.out_specs = {"out": spec.evolve(shape=(self._nb, self._nch), dtype=self._dtype.name)}
        return self.out_specs

    def reset(self):
        self._runners = [SosRunner(sos, self._nch, self._dtype, self._steady) for sos in self.sos]

    def process(self, inputs):
        c = inputs["in"]
        x = chunk_data(c, (self._nch,), self._dtype)
        if x is None:
            return {}
        x, mask = sanitize(self, x, self._policy)
        y = np.empty((self._nb, *x.shape), dtype=self._dtype)
        for k, runner in enumerate(self._runners):
            y[k] = runner.run(x)
        if mask is not None:
            y[:, mask] = np.nan
        return {"out": Chunk(y, c.t0, c.seq, c.gap, c.eos, c.origin_ns)}

    def state_dict(self):
        """zi per band in scipy's layout: (bands, n_sections, channels, 2); None before the first chunk."""
        zi = [r.state() for r in self._runners]
        return {"zi": None if zi[0] is None else np.stack(zi)}

    def load_state_dict(self, state):
        zi = state["zi"]
        for k, r in enumerate(self._runners):
            r.load(None if zi is None else zi[k])
