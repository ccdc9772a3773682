"""Linear-phase FIR filter with explicit state.

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
from dataclasses import dataclass, field

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.spec import SpecError
from wavegraph.pipeline.state import finite

from ..channel_kinds import trigger_channels
from ..nanpolicy import MAX_STATE_BYTES, NAN_POLICY_HELP, NanPolicy, check_nyquist, delay_mask
from ..segment_tail import tail_before
from ..signal import SignalNode
from .window_names import FIRWIN_COSINE, LIST_FORM, Window, check_window, window_text

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
        # the last numtaps - 1 input samples, (*shape, numtaps - 1); zeros before the stream
        hist: np.ndarray = field(metadata=finite())
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
                check_nyquist(f"fir {name}", getattr(p, name), spec.rate, name)
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
        before = self.state
        super().load_state_dict({"n_in": 0, "t_next": float("nan")} | dict(state))
        # NaN positions pending: none, or the `latency` samples after the last taken (nanpolicy.delay_mask), and none
        # under nan_policy zero; another length put NaN on the wrong samples, one under zero put NaN where none may be
        m, k = self.state.nan_mask, self.latency_samples
        if m.shape[-1] not in (0, k) or (self._policy == "zero" and m.any()):
            self.state = before
            raise ValueError(
                f"{self.node_id or 'fir'} state 'nan_mask' holds {m.shape[-1]} samples"
                + (" with NaN, under nan_policy zero" if m.shape[-1] in (0, k) else f", where it holds 0 or {k}")
                + " (the NaN positions of the delayed outputs still to come): load the state as state_dict() saved it"
            )

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
