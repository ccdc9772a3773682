"""Band power per channel over a sliding window (Welch's method inside each window).

Every `hop` seconds, the last `window` seconds of each channel go through ``scipy.signal.welch`` (Hann
segments of `segment` seconds, 50 % overlap, mean detrend, density scaling); the power of each band is
the PSD summed over the bins with ``lo <= f < hi`` times the bin width (units of the input squared, or
log10 of it with ``log: true``). Output: features (frames, channels*bands), channel-major
(``row[c*n_bands + b]``, named ``"{channel}:{band}"``), at rate/hop frames per second, frame k stamped at
its window's start (``t_first + k*hop``), like `sliding_window`; latency_samples = window - 1 samples of
lookahead. Channels typed stim (a trigger) are left out, said once at INFO: a trigger's codes have no band power (MNE's
compute_psd picks the data channels).
Offline equivalent: the same welch call on ``x[:, k*hop : k*hop + window]`` for every k.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field, field_validator
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..nanpolicy import NAN_POLICY_HELP, NanPolicy, check_window_size, signal_input
from .windows import _Framed, column_names

DEFAULT_BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0)}


class BandpowerParams(NodeParams):
    bands: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_BANDS), min_length=1, description="name -> [lo, hi] Hz (bins lo <= f < hi)"
    )
    window: float = Field(1.0, gt=0, allow_inf_nan=False, description="seconds per estimate")
    hop: float = Field(0.25, gt=0, allow_inf_nan=False, description="seconds between estimates")
    segment: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Welch segment length in seconds (default: window)"
    )
    log: bool = Field(False, description="log10 of the band power")
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)

    @field_validator("bands")
    @classmethod
    def _ordered(cls, bands: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """Said where the bands are written (a reversed band was said at the edge, 'not within [0, Nyquist]')."""
        for name, (lo, hi) in bands.items():
            if not name.strip() or name != name.strip():
                raise ValueError(f"band name {name!r} is empty or has spaces around it; fix: name it, e.g. alpha")
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
                raise ValueError(
                    f"band {name!r} [{lo:g}, {hi:g}] Hz: give 0 <= low < high; fix: {name}: [{max(0.0, min(lo, hi)):g}, {max(lo, hi):g}]"
                )
        return bands


class Bandpower(_Framed):
    """Welch band power per channel and band; see the module docstring."""

    Params = BandpowerParams

    def configure(self, in_specs):
        spec = signal_input(self, in_specs)
        p = self.params
        size = int(round(p.window * spec.rate))
        hop = int(round(p.hop * spec.rate))
        seg = size if p.segment is None else int(round(p.segment * spec.rate))
        if hop < 1 or size < 2:
            raise SpecError(
                f"bandpower window {p.window:g} s / hop {p.hop:g} s too short at {spec.rate:g} Hz",
                "use a window of several samples and a hop of at least one sample",
            )
        if not 2 <= seg <= size:
            raise SpecError(
                f"bandpower segment {seg} samples must be within [2, window={size}]",
                "use a segment no longer than the window",
            )
        check_window_size("bandpower window", size, int(np.prod(spec.shape)), 8, spec.rate)  # before rfftfreq(seg)
        nyq = spec.rate / 2
        freqs = np.fft.rfftfreq(seg, 1.0 / spec.rate)
        self._masks = []
        for name, (lo, hi) in p.bands.items():
            if not 0 <= lo < hi <= nyq:
                raise SpecError(
                    f"bandpower band {name!r} [{lo:g}, {hi:g}] Hz is not within [0, Nyquist={nyq:g}]",
                    f"use 0 <= low < high <= {nyq:g}",
                    param="bands",
                )
            m = (freqs >= lo) & (freqs < hi)
            if not m.any():
                raise SpecError(
                    f"bandpower band {name!r} holds no frequency bin (resolution {freqs[1]:g} Hz)",
                    "widen the band or lengthen `segment`",
                )
            self._masks.append(m)
        self._sel = np.stack(self._masks).T.astype(np.float64) * (freqs[1] - freqs[0])  # (bins, bands)
        self._seg, self._fs, self._log = seg, spec.rate, p.log
        spec = self._setup(spec, size, hop, 0, p.nan_policy, drop="band power")
        self.latency_samples = size - 1
        nb = len(self._masks)
        names, types = column_names(spec, self._nch, p.bands)  # "C3:alpha", ...
        self.out_specs = {
            "out": StreamSpec(
                "features",
                spec.rate / hop,
                (self._nch * nb,),
                self._dtype.name,
                names,
                types,
                "" if not spec.units else f"log10({spec.units}^2)" if p.log else f"{spec.units}^2",  # "": unknown
                delay=spec.delay,  # frames of a delayed signal lag their stamps as it does (as stft's)
                meas_date=spec.meas_date,
                first_time=spec.first_time,
            )
        }
        return self.out_specs

    def transform(self, frames):
        from scipy.signal import welch

        _, psd = welch(frames, fs=self._fs, window="hann", nperseg=self._seg, axis=-1)  # (F, C, bins)
        power = psd @ self._sel  # (F, C, bands)
        if self._log:
            power = np.log10(np.maximum(power, np.finfo(np.float64).tiny))
        return power.reshape(frames.shape[0], -1).astype(self._dtype, copy=False)
