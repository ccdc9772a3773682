"""Causal IIR (bandpass, highpass, lowpass, notch) and linear-phase FIR filters with explicit state.

IIR filters are designed with scipy as second-order sections and run with ``scipy.signal.sosfilt``,
carrying ``zi`` across chunks, so the streamed output equals ``sosfilt(sos, x, zi=zi0)`` on the whole
signal (``zi0`` zeros, or ``sosfilt_zi(sos) * x[..., 0]`` with ``init: steady``). Declared latency 0:
the output is causal and stamped with its input time; the filter's group delay (frequency dependent)
is not compensated.

The FIR filter is ``scipy.signal.firwin`` (linear phase, odd length) run with ``lfilter`` and carried
``zi``; it equals ``lfilter(b, 1, x)`` on the whole signal and declares its (numtaps - 1) / 2 delay.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec

from ..nanpolicy import MaskDelay, NAN_POLICY_HELP, NanPolicy, chunk_data, check_nyquist, float_dtype, sanitize, signal_input

Design = Literal["butter", "cheby1", "cheby2", "ellip", "bessel"]


class IIRParams(NodeParams):
    order: int = Field(4, ge=1, le=20, description="filter order (a bandpass/notch has twice the poles)")
    design: Design = "butter"
    rp: float = Field(1.0, gt=0, description="passband ripple in dB (cheby1, ellip)")
    rs: float = Field(40.0, gt=0, description="stopband attenuation in dB (cheby2, ellip)")
    init: Literal["zero", "steady"] = Field("zero", description="initial state: zero, or steady state for the first sample (no onset transient)")
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class BandpassParams(IIRParams):
    l_freq: float
    h_freq: float


class CutoffParams(IIRParams):
    freq: float


class NotchParams(NodeParams):
    freq: float
    quality: float = Field(30.0, gt=0, description="Q = freq / -3 dB bandwidth")
    harmonics: int = Field(1, ge=1, description="also notch 2*freq ... harmonics*freq")
    init: Literal["zero", "steady"] = Field("zero", description="initial state: zero, or steady state for the first sample (no onset transient)")
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class SosRunner:
    """``sosfilt`` over (n_signals, n) blocks with carried ``zi``.

    Calls scipy's compiled kernel (``scipy.signal._sosfilt._sosfilt``, what ``sosfilt`` itself calls after
    validating and reshaping; on a 64 x 10 chunk that validation is ~85 % of the cost) with the state kept
    in the kernel's layout (n_signals, n_sections, 2). Falls back to the public ``sosfilt`` if the private
    kernel moves in a later scipy. Results are identical either way (same kernel).
    """

    def __init__(self, sos: np.ndarray, nsig: int, dtype, steady: bool):
        from scipy.signal import sosfilt_zi

        try:
            from scipy.signal._sosfilt import _sosfilt as kernel
        except ImportError:  # pragma: no cover - depends on the scipy version
            kernel = None
        self.kernel = kernel
        self.dtype = np.dtype(dtype)
        self.sos = np.ascontiguousarray(sos, dtype=self.dtype)
        self.nsig = nsig
        self.steady = steady
        self.zi_unit = sosfilt_zi(self.sos).astype(self.dtype)  # (n_sections, 2), unit-step steady state
        self.zi = None  # (nsig, n_sections, 2), created on the first block

    def run(self, x2: np.ndarray) -> np.ndarray:
        if self.zi is None:
            self.zi = np.zeros((self.nsig, self.sos.shape[0], 2), dtype=self.dtype)
            if self.steady:
                self.zi[:] = self.zi_unit[None] * x2[:, :1, None]
        if self.kernel is not None:
            y = np.array(x2, dtype=self.dtype, order="C")  # the kernel filters in place
            self.kernel(self.sos, y, self.zi)
            return y
        from scipy.signal import sosfilt

        y, zi = sosfilt(self.sos, x2, axis=-1, zi=self.zi.transpose(1, 0, 2))
        self.zi = np.ascontiguousarray(zi.transpose(1, 0, 2))
        return y

    def state(self) -> np.ndarray | None:
        """Public layout (n_sections, n_signals, 2), as scipy's sosfilt takes it for a 2-D signal."""
        return None if self.zi is None else self.zi.transpose(1, 0, 2).copy()

    def load(self, zi) -> None:
        self.zi = None if zi is None else np.ascontiguousarray(np.asarray(zi, dtype=self.dtype).reshape(
            self.sos.shape[0], self.nsig, 2).transpose(1, 0, 2))


class SosFilter(Node):
    """Base of the IIR nodes: subclasses implement `design(rate) -> sos`."""

    Params = IIRParams

    def design(self, rate: float) -> np.ndarray:
        raise NotImplementedError

    def configure(self, in_specs: dict[str, StreamSpec]) -> dict[str, StreamSpec]:
        spec = signal_input(self, in_specs)
        self.in_specs = dict(in_specs)
        self._dtype = float_dtype(spec)
        self.sos = np.asarray(self.design(spec.rate), dtype=self._dtype)
        self._lead = tuple(spec.shape)
        self._nsig = int(np.prod(self._lead)) if self._lead else 1
        self._ndim = len(spec.shape) + 1
        self._runner = SosRunner(self.sos, self._nsig, self._dtype, self.params.init == "steady")
        self._policy = self.params.nan_policy
        self.latency_samples = 0
        self.out_specs = {"out": spec.evolve(dtype=self._dtype.name)}
        return self.out_specs

    def reset(self) -> None:
        self._runner.zi = None

    def process(self, inputs: dict[str, Chunk]) -> dict[str, Chunk]:
        c = inputs["in"]
        x = chunk_data(c, self._lead, self._dtype)
        if x is None:
            return {}
        x, mask = sanitize(self, x, self._policy)
        if self._ndim == 2:  # (channels, samples): the kernel's layout already
            y = self._runner.run(x)
        else:
            n = x.shape[-1]
            y = self._runner.run(x.reshape(self._nsig, n)).reshape(*self._lead, n)
        if mask is not None:
            y[mask] = np.nan
        return {"out": Chunk(y, c.t0, c.seq, c.gap, c.eos, c.origin_ns)}

    def state_dict(self) -> dict:
        """zi in scipy's layout for this signal: (n_sections, *shape, 2); None before the first chunk."""
        zi = self._runner.state()
        return {"zi": None if zi is None else zi.reshape(self.sos.shape[0], *self._lead, 2)}

    def load_state_dict(self, state: dict) -> None:
        self._runner.load(state["zi"])


def _iir(p: IIRParams, wn, btype: str, rate: float) -> np.ndarray:
    from scipy.signal import iirfilter

    kw = {}
    if p.design in ("cheby1", "ellip"):
        kw["rp"] = p.rp
    if p.design in ("cheby2", "ellip"):
        kw["rs"] = p.rs
    return iirfilter(p.order, wn, btype=btype, ftype=p.design, output="sos", fs=rate, **kw)


class Bandpass(SosFilter):
    """IIR band-pass between l_freq and h_freq (Hz)."""

    Params = BandpassParams

    def design(self, rate):
        p = self.params
        check_nyquist("l_freq", p.l_freq, rate)
        check_nyquist("h_freq", p.h_freq, rate)
        if p.l_freq >= p.h_freq:
            raise SpecError(f"bandpass l_freq {p.l_freq:g} Hz must be below h_freq {p.h_freq:g} Hz",
                            "swap them, or use a notch for a band-stop")
        return _iir(p, [p.l_freq, p.h_freq], "bandpass", rate)


class Highpass(SosFilter):
    """IIR high-pass above `freq` (Hz)."""

    Params = CutoffParams

    def design(self, rate):
        check_nyquist("highpass freq", self.params.freq, rate)
        return _iir(self.params, self.params.freq, "highpass", rate)


class Lowpass(SosFilter):
    """IIR low-pass below `freq` (Hz)."""

    Params = CutoffParams

    def design(self, rate):
        check_nyquist("lowpass freq", self.params.freq, rate)
        return _iir(self.params, self.params.freq, "lowpass", rate)


class Notch(SosFilter):
    """Second-order IIR notch (scipy.signal.iirnotch) at freq and optionally its harmonics, cascaded."""

    Params = NotchParams

    def design(self, rate):
        from scipy.signal import iirnotch, tf2sos

        p = self.params
        sections = []
        for k in range(1, p.harmonics + 1):
            check_nyquist(f"notch frequency (harmonic {k})", k * p.freq, rate)
            b, a = iirnotch(k * p.freq, p.quality, fs=rate)
            sections.append(tf2sos(b, a))
        return np.concatenate(sections, axis=0)


class FIRParams(NodeParams):
    l_freq: float | None = Field(None, description="high-pass edge (Hz); None: no high-pass part")
    h_freq: float | None = Field(None, description="low-pass edge (Hz); None: no low-pass part")
    numtaps: int = Field(101, ge=3, description="filter length, odd (delay (numtaps-1)/2 samples)")
    window: str = "hamming"
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class FIR(Node):
    """Linear-phase FIR (scipy.signal.firwin): low-pass (h_freq), high-pass (l_freq), band-pass
    (l_freq < h_freq) or band-stop (l_freq > h_freq, as in MNE)."""

    Params = FIRParams

    def configure(self, in_specs):
        from scipy.signal import firwin

        spec = signal_input(self, in_specs)
        p = self.params
        self.in_specs = dict(in_specs)
        if p.numtaps % 2 == 0:
            raise SpecError(f"fir numtaps {p.numtaps} is even",
                            f"use an odd numtaps (e.g. {p.numtaps + 1}) so the delay is a whole number of samples")
        for name in ("l_freq", "h_freq"):
            if getattr(p, name) is not None:
                check_nyquist(f"fir {name}", getattr(p, name), spec.rate)
        if p.l_freq is None and p.h_freq is None:
            raise SpecError("fir needs l_freq and/or h_freq", "set h_freq for a low-pass, l_freq for a high-pass")
        if p.l_freq is None:
            cutoff, pass_zero = p.h_freq, True
        elif p.h_freq is None:
            cutoff, pass_zero = p.l_freq, False
        elif p.l_freq < p.h_freq:
            cutoff, pass_zero = [p.l_freq, p.h_freq], False
        else:
            cutoff, pass_zero = [p.h_freq, p.l_freq], True
        self._dtype = float_dtype(spec)
        try:
            b = firwin(p.numtaps, cutoff, pass_zero=pass_zero, window=p.window, fs=spec.rate)
        except ValueError as e:
            raise SpecError(f"fir design failed: {e}", "check window (e.g. hamming, hann, blackman) and the edges") from e
        self.b = b.astype(self._dtype)
        self._a = np.ones(1, dtype=self._dtype)
        self._lead = tuple(spec.shape)
        self._policy = p.nan_policy
        self.latency_samples = (p.numtaps - 1) // 2
        self.reset()
        self.out_specs = {"out": spec.evolve(dtype=self._dtype.name)}
        return self.out_specs

    def reset(self):
        self._zi = np.zeros((*self._lead, self.b.size - 1), dtype=self._dtype)
        self._mask = MaskDelay(self.latency_samples)

    def process(self, inputs):
        from scipy.signal import lfilter

        c = inputs["in"]
        x = chunk_data(c, self._lead, self._dtype)
        if x is None:
            return {}
        x, mask = sanitize(self, x, self._policy)
        y, self._zi = lfilter(self.b, self._a, x, axis=-1, zi=self._zi)
        mask = self._mask.push(mask, x.shape)
        if mask is not None:
            y[mask] = np.nan
        return {"out": Chunk(y, c.t0, c.seq, c.gap, c.eos, c.origin_ns)}

    def state_dict(self):
        return {"zi": self._zi.copy(), "nan_mask": self._mask.state()}

    def load_state_dict(self, state):
        self._zi = np.array(state["zi"], dtype=self._dtype)
        self._mask.load(state["nan_mask"])
