"""Causal IIR (bandpass, highpass, lowpass, notch) and linear-phase FIR filters with explicit state.

IIR filters are designed with scipy as second-order sections and run with ``scipy.signal.sosfilt``,
carrying ``zi`` across chunks, so the streamed output equals ``sosfilt(sos, x, zi=zi0)`` on the whole
signal (``zi0`` zeros, or ``sosfilt_zi(sos) * x[..., 0]`` with ``init: steady``). Declared latency 0:
the output is causal and stamped with its input time; the filter's group delay (frequency dependent)
is not compensated.

The FIR filter is ``scipy.signal.firwin`` (linear phase, odd length) run as a direct convolution over the chunk
after the last numtaps - 1 input samples (carried; zeros before the stream), so every output sample is one sum of the
same numtaps products in the same order whatever the chunking: streamed == whole bit for bit. (scipy's ``lfilter``
with carried ``zi`` split each sum at the chunk's start, the previous chunk's share added after: an int16-scale sine
through a 31-tap low-pass gave chunked and whole 1.8e-11 apart in float64, over the 1e-12 stated, and 7.8e-3 in
float32.) It equals ``lfilter(b, 1, x)`` on the whole signal (to rounding: 4e-16 of the signal's scale in float64)
followed by (numtaps - 1) / 2 zeros (``finish()`` flushes that tail, as resample does) and declares its
(numtaps - 1) / 2 delay, as latency and on its output (``StreamSpec.delay``, which ``align`` removes).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.param_problems import MAX_RATE
from wavegraph.pipeline.spec import SpecError

from ..channel_kinds import trigger_channels
from ..nanpolicy import MAX_STATE_BYTES, NAN_POLICY_HELP, NanPolicy, check_nyquist, delay_mask
from ..segment_tail import tail_before
from ..signal import SignalNode
from .window_names import FIRWIN_COSINE, LIST_FORM, Window, check_window, window_text

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
        zi: np.ndarray  # (signals, sections, 2), SosKernel's layout; signals = the channel axes flattened
        started: bool = False  # False until the first sample (init: steady sets zi from it)

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
        return self.State(self._kernel.zeros(self._nsig))

    def transform(self, x):
        s = self.state
        x2 = x if self._flat else x.reshape(self._nsig, x.shape[-1])
        if not s.started:
            if self.params.init == "steady":
                self._kernel.set_steady(s.zi, x2)
            s.started = True
        y = self._kernel.run(x2, s.zi)
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
        check_nyquist("l_freq", p.l_freq, rate)
        check_nyquist("h_freq", p.h_freq, rate)
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
        check_nyquist("highpass freq", self.params.freq, rate)
        return _iir(self.params, self.params.freq, "highpass", rate)

    def edges(self):
        return self.params.freq, None


class Lowpass(SosFilter):
    """IIR low-pass below `freq` (Hz)."""

    Params = CutoffParams

    def design(self, rate):
        check_nyquist("lowpass freq", self.params.freq, rate)
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
                )
            check_nyquist(f"notch frequency (harmonic {k})", k * p.freq, rate)
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


_LENGTH_FACTOR = {"hann": 3.1, "hamming": 3.3, "blackman": 5.0}  # MNE's: numtaps = factor * rate / transition width
_log = logging.getLogger("wavegraph.fir")


def _length_factor(p: FIRParams) -> float:
    """MNE's factor for the window (hamming's 3.3 for the others, a [name, parameter...] window too)."""
    return _LENGTH_FACTOR.get(p.window, 3.3) if isinstance(p.window, str) else 3.3


def _say_if_too_short(b: np.ndarray, p: FIRParams, rate: float, longest: int) -> None:
    """Say (once per configure) when numtaps is too short for the edges: the transition band (~3.3 x rate / numtaps,
    hamming) is then wider than MNE's default for them (a quarter of the edge, 2 Hz at least, up to DC or Nyquist),
    and the filter keeps a quarter or more where it should stop (a 1 Hz high-pass of 101 taps at 1 kHz keeps 89 %
    of DC). MNE refuses such a length ('too short for the requested transition band'); the node says it and runs.
    An edge that no length reaches is refused (l_freq 1e-300 asked for a numtaps of 300 digits; 5e-324, an infinite
    one, was an OverflowError); one beyond `longest` (the 1 GiB bound, by channel count) is said so, the user's own
    shorter numtaps running (256 channels at 2048 Hz with l_freq 0.01 and numtaps 1001)."""
    n = np.arange(b.size)

    def gain(f: float) -> float:
        return float(abs(np.sum(b * np.exp(-2j * np.pi * f / rate * n))))

    lo, hi, nyq, said = p.l_freq, p.h_freq, rate / 2, []  # (where it should stop, the transition MNE would give)
    if lo is not None and (hi is None or lo < hi):
        trans = min(max(0.25 * lo, 2.0), lo)
        said.append((lo - trans, trans))
    if hi is not None and (lo is None or lo < hi):
        trans = min(max(0.25 * hi, 2.0), nyq - hi)
        said.append((hi + trans, trans))
    if lo is not None and hi is not None and hi < lo:  # a band-stop: its middle
        said.append(((lo + hi) / 2, (lo - hi) / 2))
    said = [(f, t, gain(f)) for f, t in said if gain(f) >= 0.25]  # -12 dB: 0.2-0.5 % at MNE's length
    if not said:
        return
    factor = _length_factor(p)
    narrowest = min(t for _, t, _ in said)
    if not factor * rate / narrowest < 2**31:  # (no length at all: 1e-300 Hz; the user's own numtaps may fit)
        _refuse_unreachable(p, rate, longest, factor, narrowest)
    need = int(np.ceil(factor * rate / narrowest))
    need += 1 - need % 2
    fits = "" if need <= longest else f"; at most {longest} fit the 1 GiB bound here, so a wider band or an IIR node"
    edges = ", ".join(f"{k} {v:g} Hz" for k, v in (("l_freq", lo), ("h_freq", hi)) if v is not None)
    where = "; ".join(f"keeps {g * 100:.0f} % at {f:g} Hz" + (" (DC)" if f == 0 else "") for f, _, g in said)
    _log.warning(
        "fir (%s) with numtaps %d at %g Hz %s, where it should stop: its transition band is about %.3g Hz wide "
        "(%g x rate / numtaps, %s); fix: numtaps: %d or more (MNE's length for these edges; a delay of %.3g s%s), or "
        "an IIR node (highpass, lowpass, bandpass, notch: no delay, no length to choose)",
        edges, p.numtaps, rate, where, factor * rate / p.numtaps, factor, window_text(p.window), need, (need - 1) / 2 / rate, fits,
    )  # fmt: skip


def _refuse_unreachable(p: FIRParams, rate: float, longest: int, factor: float, trans: float) -> None:
    """The SpecError for edges whose transition band (`trans` Hz, MNE's) no numtaps up to `longest` gives."""
    least = factor * rate / longest  # the narrowest transition band of the longest filter
    edges = ", ".join(f"{k} {v:g} Hz" for k, v in (("l_freq", p.l_freq), ("h_freq", p.h_freq)) if v is not None)
    raise SpecError(
        f"fir ({edges}) at {rate:g} Hz needs a transition band about {trans:.3g} Hz wide, which needs numtaps of "
        f"{factor:g} x rate / width = {factor * rate / trans:.3g}{' (past any number)' * (factor * rate / trans == np.inf)} ({window_text(p.window)}); at most {longest} taps fit the 1 GiB "
        f"bound on taps and state here, whose narrowest transition band is about {least:.3g} Hz",
        f"give edges at least {least:.3g} Hz from DC, from Nyquist ({rate / 2:g} Hz) and from each other (a "
        f"high-pass below 2 Hz: l_freq: {least:.3g} or more, with numtaps: {longest} at most), or use an IIR node "
        "(highpass, lowpass, bandpass, notch: no length to choose)",
    )


class FIRParams(NodeParams):
    l_freq: float | None = Field(None, description="high-pass edge (Hz); None: no high-pass part")
    h_freq: float | None = Field(None, description="low-pass edge (Hz); None: no low-pass part")
    numtaps: int = Field(101, ge=3, description="filter length, odd (delay (numtaps-1)/2 samples)")
    window: Window = Field(
        "hamming",
        description="firwin window: any scipy.signal.get_window name, or [name, parameter...], e.g. [kaiser, 8]",
    )
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


def fir_window_problem(p: FIRParams, numtaps: int) -> tuple[str, str] | None:
    """(what, fix) for a window firwin cannot make `numtaps` long (the symmetric get_window), whatever the stream: an
    unknown name, or a list's parameters scipy refuses. None when it makes it."""
    import inspect

    from scipy.signal import get_window

    # as firwin calls it: with the array namespace where get_window takes one (scipy >= 1.15; general_cosine refuses
    # it), without on older scipy (an unknown `xp` there was a TypeError for every window)
    xp = {"xp": np} if "xp" in inspect.signature(get_window).parameters else {}
    try:
        check_window(p.window, "fir", numtaps)
        with np.errstate(all="ignore"):
            w = get_window(p.window, numtaps, fftbins=False, **xp)
    except SpecError as e:
        return e.message, e.hint
    except (ValueError, TypeError) as e:  # (TypeError: a list's parameters, [kaiser, x], [kaiser, 8, 9, 10])
        if "does not accept the parameters xp" in str(e):  # general_cosine
            return f"fir: window {window_text(p.window)}: scipy's firwin does not make it ({e})", FIRWIN_COSINE
        said = "" if isinstance(p.window, str) else f"window {window_text(p.window)}: "
        return f"fir design failed: {said}{e}", f"check window (e.g. hamming, hann, blackman, or {LIST_FORM})"
    if not np.isfinite(w).all():  # [kaiser, .nan]
        return f"fir window {window_text(p.window)} has values that are not finite", f"use {LIST_FORM}"
    return None


def fir_numtaps_problem(p: FIRParams) -> tuple[str, str] | None:
    """(what, fix) for an even numtaps, whatever the stream: its delay (numtaps - 1) / 2 is not whole, and firwin makes
    no high-pass or band-stop of even length (its gain at Nyquist is 0). None when it is odd."""
    if p.numtaps % 2:
        return None
    lo, hi = p.l_freq, p.h_freq
    kind = "" if lo is None else "high-pass" if hi is None else "band-stop" if lo > hi else ""
    why = f"; firwin makes no {kind} of even length (its gain at Nyquist is 0)" if kind else ""
    return (
        f"fir numtaps {p.numtaps} is even: its delay (numtaps - 1) / 2 would not be a whole number of samples{why}",
        f"numtaps: {p.numtaps + 1} (odd)",
    )


NO_EDGES = (
    "fir needs l_freq and/or h_freq (neither is given: no band to filter)",
    "h_freq: 40.0 for a low-pass, l_freq: 1.0 for a high-pass, both for a band-pass (l_freq below h_freq) or a "
    "band-stop (l_freq above h_freq)",
)


class FIR(SignalNode[FIRParams]):
    """Linear-phase FIR (scipy.signal.firwin): low-pass (h_freq), high-pass (l_freq), band-pass
    (l_freq < h_freq) or band-stop (l_freq > h_freq, as in MNE)."""

    Params = FIRParams

    def check_params(self) -> list[tuple[str, str, str]]:
        """A window firwin cannot make, at window's line (behind a device `run` said it at the edge's, once the stream
        came; offline too), an even numtaps at its line and no edge at all at the node's (both were said by configure
        only, at the edge's line). (A numtaps past the 1 GiB bound is checked with 65537 taps: said then by
        configure.)"""
        p, out = self.params, []
        if said := fir_numtaps_problem(p):
            out.append(("numtaps", *said))
        if p.l_freq is None and p.h_freq is None:
            out.append(("", *NO_EDGES))  # (no parameter's line: the node's)
        if said := fir_window_problem(p, min(p.numtaps, 65537)):
            out.append(("window", *said))
        return out

    @dataclass
    class State:
        hist: np.ndarray  # the last numtaps - 1 input samples, (*shape, numtaps - 1); zeros before the stream
        nan_mask: np.ndarray  # NaN positions not output yet, (*shape, <= latency): nan_policy propagate
        n_in: int = 0  # samples taken (finish() flushes the tail after the first)
        t_next: float = float("nan")  # the time of the sample after the last one taken (the tail's t0)

    def setup(self, spec):
        from scipy.signal import firwin

        p = self.params
        if said := fir_numtaps_problem(p):  # (as check_params says it, at numtaps' line)
            raise SpecError(*said)
        for name in ("l_freq", "h_freq"):
            if getattr(p, name) is not None:
                check_nyquist(f"fir {name}", getattr(p, name), spec.rate)
        if p.l_freq is None and p.h_freq is None:
            raise SpecError(*NO_EDGES)
        per_tap = (int(np.prod(self.lead)) if self.lead else 1) * self.dtype.itemsize + 8  # state per signal, taps
        longest = (MAX_STATE_BYTES // per_tap - 1) // 2 * 2 + 1
        if p.numtaps * per_tap > MAX_STATE_BYTES:  # before firwin: numtaps 1e8 was a MemoryError (or the machine's)
            raise SpecError(
                f"fir numtaps {p.numtaps} ({p.numtaps / spec.rate:g} s at {spec.rate:g} Hz) x {int(np.prod(self.lead))} "
                f"channels needs {p.numtaps * per_tap / 2**30:.3g} GiB of taps and filter state; at most 1 GiB",
                f"use numtaps of at most {longest} (its delay is (numtaps - 1) / 2 samples: "
                f"{(longest - 1) / 2 / spec.rate:g} s here)",
            )
        if p.l_freq is None:
            cutoff, pass_zero = p.h_freq, True
        elif p.h_freq is None:
            cutoff, pass_zero = p.l_freq, False
        elif p.l_freq < p.h_freq:
            cutoff, pass_zero = [p.l_freq, p.h_freq], False
        else:
            cutoff, pass_zero = [p.h_freq, p.l_freq], True
        if said := fir_window_problem(p, p.numtaps):  # (as check_params says it, at window's line)
            raise SpecError(*said)
        for edge in (e for e in (p.l_freq, p.h_freq) if e is not None and not e / (spec.rate / 2) > 0):
            # a denormal edge (5e-324) is 0 over Nyquist: scipy's 'Invalid cutoff frequency', said as a design failure
            _refuse_unreachable(p, spec.rate, longest, _length_factor(p), edge)
        try:
            b = firwin(p.numtaps, cutoff, pass_zero=pass_zero, window=p.window, fs=spec.rate)
        except ValueError as e:
            raise SpecError(
                f"fir design failed: {e}", "check window (e.g. hamming, hann, blackman) and the edges"
            ) from e
        _say_if_too_short(np.asarray(b, dtype=np.float64), p, spec.rate, longest)
        self.b = np.asarray(b).astype(self.dtype)
        self.latency_samples = (p.numtaps - 1) // 2
        # a trigger's codes are delayed as the others are, not filtered (they rang into fractions), as MNE's filters
        self._stim = trigger_channels(
            self, spec, "delays", f"by {self.latency_samples} samples, unfiltered (their codes kept)"
        )
        self._rate = spec.rate
        # the content lags its time stamps by that much (linear phase): declared, as resample's, so `align` removes it
        out = spec.evolve(dtype=self.dtype.name, delay=spec.delay + self.latency_samples / spec.rate)
        return out if isinstance(cutoff, list) and pass_zero else out.filtered(p.l_freq, p.h_freq)  # (band-stop: none)

    def new_state(self):
        return self.State(
            np.zeros((*self.lead, self.b.size - 1), dtype=self.dtype), np.zeros((*self.lead, 0), dtype=bool)
        )

    def transform(self, x):
        s, n, m = self.state, x.shape[-1], self.b.size - 1
        if n == 0:
            return x.copy()
        held = np.concatenate([s.hist, x], axis=-1)  # (*shape, m + n): output j is b . held[..., j : j + m + 1][::-1]
        y = np.empty(x.shape, self.dtype)
        for row, out in zip(held.reshape(-1, m + n), y.reshape(-1, n)):  # (one dot of numtaps per output sample)
            out[:] = np.convolve(row, self.b, mode="valid")
        if self._stim.size:  # a trigger is delayed, not filtered: its codes, latency samples later (in every band)
            y.reshape(-1, n)[self._stim] = held.reshape(-1, m + n)[self._stim, m - self.latency_samples :][:, :n]
        s.hist = held[..., n:].copy()
        return y

    def output_mask(self, mask, n):  # NaN at input sample i -> output sample i + latency
        out, self.state.nan_mask = delay_mask(self.state.nan_mask, mask, n, self.latency_samples)
        return out

    def load_state_dict(self, state):
        """As saved; a state saved before the tail flush (no `n_in`, `t_next`) resumes: its tail comes out at finish
        once a chunk has come (its stamp gives the tail's). A state saved while fir ran scipy's lfilter (its 'zi', the
        partial sums of outputs still to come; 'hist' since 1e5f59e) is refused saying so and what to do: the input
        samples this fir carries cannot be recovered from those sums (with a window that ends in 0, hann or blackman,
        nothing recovers the oldest), where the bare key mismatch named neither."""
        if isinstance(state, dict) and "zi" in state and "hist" not in state:
            raise ValueError(
                "this fir state was saved by an earlier wavegraph, whose fir ran scipy's lfilter: it holds 'zi', the "
                "filter's partial sums, where this fir carries the last numtaps - 1 input samples ('hist'), which "
                "'zi' does not give back. Fix: start the stream fresh instead of loading it (a new node, or "
                "node.reset(): the first numtaps - 1 outputs then filter from zeros, as at a stream's start), or "
                "resume it with the wavegraph that saved it"
            )
        super().load_state_dict({"n_in": 0, "t_next": float("nan")} | dict(state))

    def process(self, inputs):
        out = super().process(inputs)
        if out:
            c, s = out["out"], self.state
            n = c.data.shape[-1]
            s.n_in += n
            s.t_next = c.t0 + n / self._rate if math.isfinite(c.t0) else s.t_next + n / self._rate
        return out

    def end_segment(self, t_next=None):
        """Before a gap: the segment's last (numtaps - 1) / 2 samples, as finish() gives them (the segment filtered as
        if alone, as MNE's raw.filter), only those stamped before `t_next` (nodes/segment_tail.py); the next chunk
        starts a fresh filter, whose delay `align` drops again."""
        out = self.finish()
        self.reset()  # (finish() keeps a state that took no samples as it is)
        return tail_before(self, out, t_next, self._rate)

    def finish(self):
        """The last (numtaps - 1) / 2 samples, zeros through the filter (as resample flushes its tail): the output
        has the input's length after the delay, so `fir -> align` ends where the input does (it ended that short),
        and the whole equals lfilter(b, 1, x padded with that many zeros)."""
        s, n = self.state, self.latency_samples
        if s.n_in == 0 or n == 0:
            return {}
        y = self.transform(np.zeros((*self.lead, n), dtype=self.dtype))
        mask = self.output_mask(None, n)
        if mask is not None:  # a NaN within the last samples (propagate) comes out in the tail
            y[mask] = np.nan
        self.reset()  # the stream is over: a node given the next file starts it fresh (it filtered on from the zeros)
        return {"out": Chunk(y, s.t_next)}
