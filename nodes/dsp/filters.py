"""Causal IIR (bandpass, highpass, lowpass, notch) and linear-phase FIR filters with explicit state.

IIR filters are designed with scipy as second-order sections and run with ``scipy.signal.sosfilt``,
carrying ``zi`` across chunks, so the streamed output equals ``sosfilt(sos, x, zi=zi0)`` on the whole
signal (``zi0`` zeros, or ``sosfilt_zi(sos) * x[..., 0]`` with ``init: steady``, from each signal's first finite
sample: NaN before it gives 0, or NaN under propagate). Declared latency 0:
the output is causal and stamped with its input time; the filter's group delay (frequency dependent)
is not compensated.
The linear-phase FIR filter is in fir.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.param_problems import MAX_RATE
from wavegraph.pipeline.spec import SpecError
from wavegraph.pipeline.state import finite

from ..channel_kinds import trigger_channels
from ..nanpolicy import NAN_POLICY_HELP, NanPolicy, check_nyquist
from ..signal import SignalNode

Design = Literal["butter", "cheby1", "cheby2", "ellip", "bessel"]


class IIRParams(NodeParams):
    order: int = Field(
        4, ge=1, le=20, description="filter order (a band-pass, bandpass or a filterbank band, has twice the poles)"
    )
    design: Design = Field("butter", description="IIR design (scipy.signal.iirfilter ftype)")
    rp: float = Field(1.0, gt=0, description="passband ripple in dB (cheby1, ellip)")
    rs: float = Field(40.0, gt=0, description="stopband attenuation in dB (cheby2, ellip)")
    init: Literal["zero", "steady"] = Field(
        "zero", description="initial state: zero, or steady state for the first sample (no onset transient)"
    )
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class BandpassParams(IIRParams):
    l_freq: float = Field(description="lower edge (Hz), in (0, Nyquist), below h_freq")
    h_freq: float = Field(description="upper edge (Hz), in (0, Nyquist), above l_freq")


class CutoffParams(IIRParams):
    freq: float = Field(description="cutoff frequency (Hz), in (0, Nyquist)")


class NotchParams(NodeParams):
    freq: float = Field(description="frequency to remove (Hz), e.g. 50 or 60 (mains); below Nyquist")
    quality: float = Field(30.0, gt=0, description="Q = freq / -3 dB bandwidth")
    harmonics: int = Field(1, ge=1, description="also notch 2*freq ... harmonics*freq")
    init: Literal["zero", "steady"] = Field(
        "zero", description="initial state: zero, or steady state for the first sample (no onset transient)"
    )
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


TOO_NARROW = (  # (an edge a hair under Nyquist, lowpass 124.999999999 Hz at 250 Hz, was told to resample only)
    "the filter's edges are too small a fraction of the stream's rate, or too close to its Nyquist frequency, for an "
    "IIR filter to be designed (its poles are 1 within float precision)",
    "resample the stream to a rate nearer the band (a resample node before this one), or move an edge off Nyquist",
)


class SosKernel:
    """``sosfilt`` over (n_signals, n) blocks with a carried ``zi`` in the kernel's layout (n_signals, n_sections, 2).

    Calls scipy's compiled kernel (``scipy.signal._sosfilt._sosfilt``, what ``sosfilt`` itself calls after
    validating and reshaping; on a 64 x 10 chunk that validation is ~85 % of the cost). Falls back to the
    public ``sosfilt`` if the private kernel moves in a later scipy. Results are identical either way (same
    kernel). ``zi.transpose(1, 0, 2)`` is the state in the layout ``sosfilt`` takes for a 2-D signal.

    It computes in double precision whatever the stream's dtype (`dtype`: float32 output is the float64 result
    rounded once). An IIR band of a few Hz at EEG rates has poles within 1 % of the unit circle, which amplify
    rounding: in float32 a 1-40 Hz bandpass at 1 kHz on 10 uV of EEG over a 20 mV electrode offset was off by
    10 % of its output (2.8 uV), in float64 by 6e-4 uV.
    """

    def __init__(self, sos: np.ndarray, dtype):
        from scipy.signal import sosfilt_zi

        try:
            from scipy.signal._sosfilt import _sosfilt as kernel
        except ImportError:  # pragma: no cover - depends on the scipy version
            kernel = None
        self.kernel = kernel
        self.dtype = np.dtype(dtype)  # the output's; coefficients, state and sums are float64 (real signals only)
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        check_stable(self.sos)
        try:
            self.zi_unit = sosfilt_zi(self.sos)  # (n_sections, 2), unit-step steady state
        except np.linalg.LinAlgError:  # poles within float precision of 1: a band of ~1e-8 of the rate
            raise SpecError(*TOO_NARROW) from None

    def zeros(self, *lead: int) -> np.ndarray:
        """A zero state for (*lead) blocks of signals, e.g. zeros(n_signals)."""
        return np.zeros((*lead, self.sos.shape[0], 2), dtype=np.float64)

    def set_steady(self, zi: np.ndarray, x2: np.ndarray) -> None:
        """The steady state for a block whose first samples are x2[:, 0] (no onset transient)."""
        zi[:] = self.zi_unit[None] * x2[:, :1, None]

    def run(self, x2: np.ndarray, zi: np.ndarray) -> np.ndarray:
        """Filter x2 (n_signals, n); zi (n_signals, n_sections, 2) is updated in place."""
        if self.kernel is not None:
            y = np.array(x2, dtype=np.float64, order="C")  # the kernel filters in place
            self.kernel(self.sos, y, zi)
        else:
            from scipy.signal import sosfilt

            y, zf = sosfilt(self.sos, x2.astype(np.float64, copy=False), axis=-1, zi=zi.transpose(1, 0, 2))
            zi[:] = zf.transpose(1, 0, 2)
        if y.dtype == self.dtype:
            return y
        with np.errstate(over="ignore"):  # past float32's range: inf, which the node counts as `overflow`
            return y.astype(self.dtype)


# --- init: steady from each signal's first *finite* sample (the filters here and filterbank.py) ---------------------
# The steady state was set from the chunk's first sample once NaN had been zeroed (nan_policy): a recording whose first
# sample is NaN (a dropped first packet) on a 20 mV electrode offset rang from 0 to the offset for seconds, the onset
# transient `steady` is there to avoid. A signal now waits (its state zero, its output 0, NaN under propagate) until its
# first finite sample and starts from that sample's steady state, wherever the chunks split.
def first_finite(inputs, lead: tuple[int, ...], waiting: np.ndarray) -> np.ndarray | None:
    """Per signal (the lead axes flattened), the index of the first finite sample of the chunk about to be processed
    (its length where it has none); None when no signal waits, or the chunk is no array of the configured shape
    (SignalNode.process says what is wrong with it)."""
    if not waiting.any():
        return None
    x = getattr(inputs.get("in") if isinstance(inputs, dict) else None, "data", None)
    if not isinstance(x, np.ndarray) or x.ndim == 0 or x.shape[:-1] != lead or x.dtype.kind not in "fiub":
        return None
    n = x.shape[-1]
    if n == 0 or x.dtype.kind != "f":
        return np.zeros(waiting.size, np.intp)
    ok = np.isfinite(x.reshape(waiting.size, n))
    return np.where(ok.any(axis=-1), ok.argmax(axis=-1), n)


def steady_start(kernel, zi: np.ndarray, waiting: np.ndarray, x2: np.ndarray, first: np.ndarray | None) -> list:
    """Set the steady state (zi, in place) of the waiting signals whose first finite sample is x2's first; return
    (signal, k) for those whose first finite sample is k > 0 in this chunk (run_late starts them there). A waiting
    signal's state is zero and its input before k is 0 (zeroed NaN): its output there is 0. `still_waiting` then
    updates `waiting`."""
    if not waiting.any():
        return []
    n = x2.shape[-1]
    k = np.zeros(waiting.size, np.intp) if first is None else first
    now = np.flatnonzero(waiting & (k == 0))
    if now.size:
        part = zi[now]
        kernel.set_steady(part, x2[now])
        zi[now] = part
    return [(int(i), int(k[i])) for i in np.flatnonzero(waiting & (k > 0) & (k < n))]


def still_waiting(waiting: np.ndarray, first: np.ndarray | None, n: int) -> None:
    """After a chunk of n samples: only the signals with no finite sample in it wait on (in place)."""
    if waiting.any():
        waiting &= first is not None and first >= n


def run_late(kernel, zi: np.ndarray, x2: np.ndarray, y: np.ndarray, late: list) -> None:
    """Filter each (signal, k) of steady_start from its steady state at its first finite sample k: y[i, k:] and zi[i]
    replaced (y[i, :k] is 0 already: a zero state filtering zeros)."""
    for i, k in late:
        z = kernel.zeros(1)
        kernel.set_steady(z, x2[i : i + 1, k:])
        y[i, k:] = kernel.run(x2[i : i + 1, k:], z)[0]
        zi[i] = z[0]


def check_stable(sos: np.ndarray) -> None:
    """SpecError when a section has a pole on or outside the unit circle (or a coefficient that is not a number): run
    anyway, its output grows until it overflows, and the node resets and zeroes it again and again."""
    a = sos[:, 3:]
    if not np.isfinite(sos).all() or (a[:, 0] == 0).any():
        raise SpecError(
            "the filter's design failed (coefficients that are not numbers)",
            "move its edges further from 0 and from Nyquist, or lower its order",
        )
    a1, a2 = a[:, 1] / a[:, 0], a[:, 2] / a[:, 0]
    margin = float(np.minimum(1.0 - np.abs(a2), 1.0 + a2 - np.abs(a1)).min())  # Jury: both poles inside iff > 0
    if margin <= -1e-9:
        pole = float(np.abs(np.concatenate([np.roots(row) for row in a])).max())
        raise SpecError(
            f"the filter is unstable: a pole at |z| = {pole:.6g}, outside the unit circle",
            "lower its order, or move its edges further from 0 and from Nyquist",
        )
    if margin <= 0.0:  # a stable design rounded onto the unit circle (sosfilt_zi's matrix is singular)
        raise SpecError(*TOO_NARROW)


class SosFilter(SignalNode):
    """Base of the IIR nodes: subclasses implement `design(rate) -> sos`."""

    Params = IIRParams

    @dataclass
    class State:
        # (signals, sections, 2), SosKernel's layout; signals = the channel axes flattened
        zi: np.ndarray = field(metadata=finite())
        started: bool = False  # False until the first sample
        # (signals,) init steady: the signal's first finite sample has not come (zi is set from it, not from a NaN)
        waiting: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def design(self, rate: float) -> np.ndarray:
        raise NotImplementedError

    def check_params(self) -> list[tuple[str, str, str]]:
        """Offline, its input from a device (not configured): an edge no stream's rate takes (at or below 0 Hz, or past
        the Nyquist of the fastest rate a stream has), a bandpass's l_freq not below h_freq. configure() says them."""
        p, out = self.params, []
        for name in ("l_freq", "h_freq", "freq"):
            value = getattr(p, name, None)
            if isinstance(value, (int, float)) and not 0 < value < MAX_RATE / 2:
                what = (
                    "not above 0 Hz"
                    if value <= 0
                    else f"at or above the Nyquist frequency of any stream ({MAX_RATE / 2:g} Hz)"
                )
                fix = "freq: 50 (the mains; 60 in the Americas)" if isinstance(p, NotchParams) else f"{name}: 40.0"
                fix = "l_freq: 1.0" if name == "l_freq" else fix
                out.append((name, f"{name} {value:g} Hz is {what}", f"give one in (0, Nyquist = rate / 2), e.g. {fix}"))
        if not out and isinstance(p, BandpassParams) and p.l_freq >= p.h_freq:
            said = f"bandpass l_freq {p.l_freq:g} Hz must be below h_freq {p.h_freq:g} Hz"
            out.append(("l_freq", said, "swap them, or use a notch for a band-stop"))
        return out

    def edges(self) -> tuple[float | None, float | None]:
        """(l_freq, h_freq) the filter passes (None: that side open; a notch: both), for the output spec's
        highpass / lowpass (a BIDS recorder's channels.tsv low_cutoff / high_cutoff)."""
        return None, None

    def setup(self, spec):
        self.sos = np.asarray(self.design(spec.rate), dtype=np.float64)  # float32 coefficients would move the poles
        self._nsig = int(np.prod(self.lead)) if self.lead else 1
        self._kernel = SosKernel(self.sos, self.dtype)
        self._flat = len(self.lead) == 1  # (channels, samples): the kernel's layout already
        how = "unfiltered (their codes kept), as MNE's filters leave stim channels"
        self._stim = trigger_channels(self, spec, "passes", how)
        return spec.evolve(dtype=self.dtype.name).filtered(*self.edges())

    def new_state(self):
        return self.State(self._kernel.zeros(self._nsig), waiting=np.full(self._nsig, self.params.init == "steady"))

    def load_state_dict(self, state):
        """As saved; a state saved before `waiting` (init steady set from the first sample, NaN or not) resumes with
        the signals waiting while it had not started."""
        if isinstance(state, dict) and "waiting" not in state and "started" in state:
            steady = self.params.init == "steady" and not state["started"]
            state = {**state, "waiting": np.full(self._nsig, steady)}
        super().load_state_dict(state)

    def process(self, inputs):
        s = self.state  # (None before configure: SignalNode.process says so)
        self._first = None if s is None else first_finite(inputs, self.lead, s.waiting)
        return super().process(inputs)

    def transform(self, x):
        s = self.state
        x2 = x if self._flat else x.reshape(self._nsig, x.shape[-1])
        s.started = True
        late = steady_start(self._kernel, s.zi, s.waiting, x2, self._first)
        y = self._kernel.run(x2, s.zi)
        run_late(self._kernel, s.zi, x2, y, late)
        still_waiting(s.waiting, self._first, x2.shape[-1])
        if self._stim.size:  # a trigger channel keeps its codes (filtered, they rang into values no event has)
            y[self._stim] = x2[self._stim]
        return y if x2 is x else y.reshape(x.shape)


def _iir(p: IIRParams, wn, btype: str, rate: float) -> np.ndarray:
    from scipy.signal import iirfilter

    kw = {}
    if p.design in ("cheby1", "ellip"):
        kw["rp"] = p.rp
    if p.design in ("cheby2", "ellip"):
        kw["rs"] = p.rs
    if p.design == "ellip" and p.rs <= p.rp:  # scipy's ellipap fails ('argmin of an empty sequence') or is singular
        raise SpecError(
            f"an ellip filter's stopband attenuation rs {p.rs:g} dB must be above its passband ripple rp {p.rp:g} dB",
            "e.g. rp: 1, rs: 40 (the defaults)",
        )
    try:
        return np.asarray(iirfilter(p.order, wn, btype=btype, ftype=p.design, output="sos", fs=rate, **kw))
    except (ValueError, ZeroDivisionError, FloatingPointError) as e:  # scipy's own, from inside the design
        raise SpecError(
            f"the {p.design} design of order {p.order} failed ({type(e).__name__}: {e})",
            "try the defaults (design: butter, order: 4), or another design",
        ) from None


class Bandpass(SosFilter):
    """IIR band-pass between l_freq and h_freq (Hz)."""

    Params = BandpassParams

    def design(self, rate):
        p = self.params
        check_nyquist("l_freq", p.l_freq, rate, "l_freq")
        check_nyquist("h_freq", p.h_freq, rate, "h_freq")
        if p.l_freq >= p.h_freq:
            raise SpecError(
                f"bandpass l_freq {p.l_freq:g} Hz must be below h_freq {p.h_freq:g} Hz",
                "swap them, or use a notch for a band-stop",
            )
        return _iir(p, [p.l_freq, p.h_freq], "bandpass", rate)

    def edges(self):
        return self.params.l_freq, self.params.h_freq


class Highpass(SosFilter):
    """IIR high-pass above `freq` (Hz)."""

    Params = CutoffParams

    def design(self, rate):
        check_nyquist("highpass freq", self.params.freq, rate, "freq")
        return _iir(self.params, self.params.freq, "highpass", rate)

    def edges(self):
        return self.params.freq, None


class Lowpass(SosFilter):
    """IIR low-pass below `freq` (Hz)."""

    Params = CutoffParams

    def design(self, rate):
        check_nyquist("lowpass freq", self.params.freq, rate, "freq")
        return _iir(self.params, self.params.freq, "lowpass", rate)

    def edges(self):
        return None, self.params.freq


NARROWEST_NOTCH = 1e-3  # Hz, -3 dB: a steady 50 Hz line still 84 % through after 60 s (quality 5e4; 1e9: 99.999 %)
USUAL_QUALITY = 30.0  # the default, and the fix said: never refused (0.02 Hz at 30 is 0.00067 Hz wide, as any Q 30)


def notch_quality_problem(p: NotchParams) -> tuple[str, str] | None:
    """(message, fix) for a quality no stream's rate takes: a notch wider than the Nyquist of the fastest stream
    (unstable at any rate), or one so narrow it notches nothing (quality 1e9 at 50 Hz ran without a word, passing
    99.999 % of the mains after a minute; from 1e17 scipy's design is exactly 1: no filter at all)."""
    width = p.freq / p.quality
    if p.freq > 0 and width >= MAX_RATE / 2:
        return (
            f"notch quality {p.quality:g} makes it {width:g} Hz wide (-3 dB bandwidth = freq / quality), at or above "
            f"the Nyquist frequency of any stream ({MAX_RATE / 2:g} Hz): the filter would be unstable",
            "set quality: 30 (usual for mains; quality = freq / bandwidth)",
        )
    if p.freq > 0 and width < NARROWEST_NOTCH and p.quality > USUAL_QUALITY:
        most = max(USUAL_QUALITY, p.freq / NARROWEST_NOTCH)
        return (
            f"notch quality {p.quality:g} makes it {width:.3g} Hz wide (-3 dB bandwidth = freq / quality), narrower "
            f"than {NARROWEST_NOTCH:g} Hz: it takes about {1 / (math.pi * width):.3g} s to settle (1 / (pi x "
            "bandwidth)) and passes the mains, which drifts by more than that, nearly untouched",
            f"set quality: 30 (usual for mains; at most {most:g} for {p.freq:g} Hz)",
        )
    return None


class Notch(SosFilter):
    """Second-order IIR notch (scipy.signal.iirnotch) at freq and optionally its harmonics, cascaded."""

    Params = NotchParams

    def check_params(self) -> list[tuple[str, str, str]]:
        """SosFilter's, and a quality no stream's rate takes (notch_quality_problem), at quality's line."""
        out = super().check_params()
        if not out and (said := notch_quality_problem(self.params)):
            out.append(("quality", *said))
        return out

    def design(self, rate):
        from scipy.signal import iirnotch, tf2sos

        p = self.params
        if 0 < p.freq < rate / 2 and p.freq / p.quality < NARROWEST_NOTCH and (said := notch_quality_problem(p)):
            raise SpecError(*said)  # whatever the rate: as check_params
        sections = []
        for k in range(1, p.harmonics + 1):
            if k > 1 and k * p.freq >= rate / 2:  # the fix is fewer harmonics, not another frequency
                raise SpecError(
                    f"notch harmonic {k} of {p.freq:g} Hz ({k * p.freq:g} Hz) is at or above Nyquist ({rate / 2:g} Hz) "
                    f"of a {rate:g} Hz stream",
                    f"set harmonics: {k - 1} (on the command line: --set NODE.harmonics={k - 1}), "
                    "or resample the stream to a higher rate first",
                    param="harmonics",
                )
            check_nyquist(f"notch frequency (harmonic {k})", k * p.freq, rate, "freq")
            if k * p.freq / p.quality >= rate / 2:  # iirnotch's poles reach the unit circle: unstable
                need = k * p.freq / (rate / 2)
                raise SpecError(
                    f"notch harmonic {k} ({k * p.freq:g} Hz) with quality {p.quality:g} is {k * p.freq / p.quality:g} Hz "
                    f"wide (-3 dB bandwidth = freq / quality), at or above Nyquist ({rate / 2:g} Hz) of a {rate:g} Hz "
                    "stream: the filter would be unstable",
                    f"set quality above {need:g} (30 is usual for mains; on the command line: --set NODE.quality=30)"
                    + (", or fewer harmonics" if k > 1 else ""),
                )
            b, a = iirnotch(k * p.freq, p.quality, fs=rate)
            sections.append(tf2sos(b, a))
        return np.concatenate(sections, axis=0)
