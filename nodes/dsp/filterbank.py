"""Filter bank: N IIR band-passes applied to every channel, stacked on a new leading band axis.

Input (channels, samples) -> output (bands, channels, samples), time last; the output spec has shape
(n_bands, n_channels) and keeps the channel names. Band k is ``sosfilt(butter/... bandpass(bands[k]))``
with its own carried ``zi``, exactly as the `bandpass` node (same design options, init and NaN policy).
Latency 0. A channel typed stim (a trigger) passes every band unfiltered, as it passes `bandpass`. For SSVEP filter-bank CCA, e.g. ``bands: [[6, 90], [14, 90], [22, 90]]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import Field
from wavegraph.pipeline.spec import SpecError
from wavegraph.pipeline.state import finite

from ..channel_kinds import trigger_channels
from ..nanpolicy import check_nyquist
from ..signal import SignalNode
from .filters import IIRParams, SosKernel, _iir, first_finite, run_late, steady_start, still_waiting


class FilterbankParams(IIRParams):
    bands: list[tuple[float, float]] = Field(..., min_length=1, description="[l_freq, h_freq] per band, Hz")


class Filterbank(SignalNode[FilterbankParams]):
    """Band-pass bank; see the module docstring."""

    Params = FilterbankParams

    @dataclass
    class State:
        zi: np.ndarray = field(metadata=finite())  # (bands, channels, sections, 2): SosKernel's layout per band
        started: bool = False  # False until the first sample
        # (channels,) init steady: the channel's first finite sample has not come (filters.py: steady_start)
        waiting: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def setup(self, spec):
        if len(spec.shape) != 1:
            raise SpecError(
                f"filterbank needs a (channels, samples) signal, got shape {spec.shape}",
                "apply the filter bank before any other band split",
            )
        self._kernels = []
        for k, (lo, hi) in enumerate(self.params.bands):
            check_nyquist(f"filterbank band {k} l_freq", lo, spec.rate, "bands")
            check_nyquist(f"filterbank band {k} h_freq", hi, spec.rate, "bands")
            if lo >= hi:
                raise SpecError(
                    f"filterbank band {k}: l_freq {lo:g} >= h_freq {hi:g}", "write each band as [low, high]"
                )
            self._kernels.append(SosKernel(_iir(self.params, [lo, hi], "bandpass", spec.rate), self.dtype))
        self._nb, self._nch = len(self._kernels), spec.shape[0]
        how = "unfiltered in every band (their codes kept), as the bandpass node and MNE's raw.filter"
        self._stim = trigger_channels(self, spec, "passes", how)
        return spec.evolve(shape=(self._nb, self._nch), dtype=self.dtype.name)

    def new_state(self):  # every band has `order` sections: the bands share one design
        zi = np.stack([k.zeros(self._nch) for k in self._kernels])
        return self.State(zi, waiting=np.full(self._nch, self.params.init == "steady"))

    def load_state_dict(self, state):  # (a state saved before `waiting`: as the bandpass node's)
        if isinstance(state, dict) and "waiting" not in state and "started" in state:
            state = {**state, "waiting": np.full(self._nch, self.params.init == "steady" and not state["started"])}
        super().load_state_dict(state)

    def process(self, inputs):
        s = self.state  # (None before configure: SignalNode.process says so)
        self._first = None if s is None else first_finite(inputs, self.lead, s.waiting)
        return super().process(inputs)

    def transform(self, x):
        s = self.state
        s.started = True
        y = np.empty((self._nb, *x.shape), dtype=self.dtype)
        for k, kernel in enumerate(self._kernels):  # (each band from the same first finite samples)
            late = steady_start(kernel, s.zi[k], s.waiting, x, self._first)
            y[k] = kernel.run(x, s.zi[k])
            run_late(kernel, s.zi[k], x, y[k], late)
        still_waiting(s.waiting, self._first, x.shape[-1])
        if self._stim.size:  # a trigger keeps its codes in every band (filtered, they rang into values no event has)
            y[:, self._stim] = x[self._stim]
        return y

    def output_mask(self, mask, n):
        return None if mask is None else np.broadcast_to(mask, (self._nb, *mask.shape))
