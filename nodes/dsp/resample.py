"""Stateful rational polyphase resampling (up/down), e.g. 1000 -> 250 Hz or 48 kHz -> 16 kHz.

The anti-aliasing filter is scipy.signal.resample_poly's default: ``h = firwin(2*half+1, 1/max(up, down),
window=("kaiser", 5.0)) * up`` with ``half = 10*max(up, down)``. It is delayed by ``p`` zero taps so that
its total delay ``D = half + p`` is a multiple of ``up*down``; then the delay is a whole number of
samples at both rates: the content lags the stamps by ``D/down`` output samples (``StreamSpec.delay``). The
zero taps need no input, so an output comes out ``p/up`` input samples before the input at its stamp (its stamps run
ahead of its input's): an input sample's response peaks ``half/up`` input samples after it arrives, and
``latency_samples = ceil(half/up)`` (= ``D/up`` when p = 0: 1000 -> 250, 48k <-> 16k; 28, not 441, at 44.1k -> 16k).
At the same rate (up = down = 1) ``h = [1]``: the identity, latency 0, as ``resample_poly(x, 1, 1)``.

Streamed output (including what finish() flushes) equals ``upfirdn(concat(zeros(p), h), x, up, down)``
on the whole signal, and ``out[D/down : D/down + ceil(n*up/down)] == resample_poly(x, up, down)``.
The output spec declares that delay (``StreamSpec.delay`` += ``D/down / out_rate``), so ``align`` removes it.
Output sample j is stamped ``t_first + j/out_rate`` (t_first: start time of the first input chunk; a chunk
flagged ``gap`` by hand moves t_first so that its own first sample keeps its t0, as the samples lost in the gap are
not counted in j; so does a chunk whose t0 is more than 1 us off the grid: a live stream's clock drift). In a graph
the runtime calls end_segment() before a chunk flagged gap: the segment's tail is flushed as by finish() (only what
is stamped before the next segment) and the next segment is resampled afresh, each as if alone (MNE's raw.resample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import RATE_RTOL, SpecError
from wavegraph.pipeline.state import count, finite

from ..channel_kinds import stim_codes, trigger_channels
from ..nanpolicy import (
    MAX_STATE_BYTES,
    NAN_POLICY_HELP,
    NanPolicy,
    chunk_data,
    float_dtype,
    sanitize,
    signal_input,
    stream_start,
)
from ..segment_tail import tail_before


class ResampleParams(NodeParams):
    rate: float | None = Field(None, description="output rate in Hz (or give up and down)")
    up: int | None = Field(
        None, ge=1, description="upsampling factor, with down (instead of rate): output rate = input rate * up / down"
    )
    down: int | None = Field(None, ge=1, description="downsampling factor, with up (instead of rate)")
    max_factor: int = Field(1000, ge=1, description="largest up or down accepted")
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


_SIMPLEST = 10**7  # the largest up or down a rate off by float rounding is taken for (a filter's 1 GiB bound is below)


def rational_ratio(in_rate: float, out_rate: float, max_factor: int, audio: bool = False) -> tuple[int, int]:
    """(up, down) in lowest terms with out_rate/in_rate == up/down exactly (decimal rates), or within float rounding
    (RATE_RTOL) when that gives factors up to max_factor. `audio`: the input is audio (the fix names sox, else MNE)."""
    if not math.isfinite(out_rate) or out_rate <= 0:
        said = f"resample rate {out_rate} is not a positive, finite rate"  # (at `rate:`'s line: no stream takes it)
        raise SpecError(said, "give a positive output rate in Hz", param="rate")
    ratio = Fraction(repr(float(out_rate))) / Fraction(repr(float(in_rate)))
    # a rate off by float rounding (1 / median(diff(t)) = 249.99999999999977): its simple ratio
    near = ratio.limit_denominator(max_factor)
    if abs(near - ratio) <= RATE_RTOL * ratio and near.numerator <= max_factor:
        ratio = near
    elif abs((wide := ratio.limit_denominator(_SIMPLEST)) - ratio) <= RATE_RTOL * ratio:
        # a simple ratio just past max_factor (44100/1.001 -> 44100 Hz is 1001/1000): said as it is, so that the
        # error names the max_factor that takes it (it said 2.20e+15/2.20e+15, a filter of 9.9e8 GiB, no max_factor)
        ratio = wide
    up, down = ratio.numerator, ratio.denominator
    how = (  # (an EEG stream was told to use sox)
        f"an audio file: sox in.wav -r {out_rate:.12g} out.wav"
        if audio
        else f"a recording: mne.io.read_raw('in.edf').resample({out_rate:.12g}).save('out_raw.fif'), and play that"
    )
    bring = f"bring the input to a rate in a simple ratio to {out_rate:.12g} Hz first ({how})"
    if up > max_factor or down > max_factor:
        ratio = f"{_short(up)}/{_short(down)}"
        raise SpecError(
            f"resampling {in_rate:.12g} -> {out_rate:.12g} Hz needs up/down = {ratio}, above max_factor {max_factor}",
            f"set max_factor: {max(up, down)} (the filter then delays the stream by "
            f"{filter_delay(up, down)[1] / up / in_rate:.3g} s), or {bring}"
            if filter_bytes(up, down) <= MAX_STATE_BYTES
            else bring + f" (a filter for {ratio} would need {_gib(filter_bytes(up, down))} GiB; at most 1 GiB)",
        )
    check_filter_size(in_rate, out_rate, up, down, bring)
    return up, down


def filter_bytes(up: int, down: int) -> int:
    """What the filter for up/down holds: its taps, and the same again twice as the per-phase table and its reversed
    copy (float64)."""
    return 3 * 8 * (2 * filter_delay(up, down)[0] + 1)


def check_filter_size(in_rate: float, out_rate: float, up: int, down: int, bring: str) -> None:
    """SpecError when the filter for up/down needs over 1 GiB: max_factor: 10000000 for 1000 -> 999.9999 Hz (what the
    max_factor error suggested) was 'MemoryError: Unable to allocate 1.49 GiB' (a filter delay of 2.8 hours)."""
    if filter_bytes(up, down) > MAX_STATE_BYTES:
        raise SpecError(
            f"resampling {in_rate:.12g} -> {out_rate:.12g} Hz with up/down = {_short(up)}/{_short(down)} needs a "
            f"filter of {_short(2 * filter_delay(up, down)[0] + 1)} taps ({_gib(filter_bytes(up, down))} GiB); at "
            "most 1 GiB",
            bring,
        )


def _short(n: int) -> str:
    """A whole number as an error says it: its digits up to 12, else 3 of them (rate: 1e-300 from 250 Hz is up/down
    1/2.50e+302; it was written out in 303 digits)."""
    return str(n) if n < 10**12 else format(Decimal(n), ".3g")


def _gib(n_bytes: int) -> str:
    """Bytes in GiB, 3 digits (a float division of a filter for 1e-320 Hz raised OverflowError, no SpecError)."""
    return format(Decimal(n_bytes) / 2**30, ".3g")


def filter_delay(up: int, down: int) -> tuple[int, int]:
    """(half, D): the half-length of resample_poly's filter for up/down (0 for 1/1, the identity) and its total delay
    D in upsampled samples, rounded up to a multiple of up*down so that it is whole at both rates."""
    half = 0 if up == down == 1 else 10 * max(up, down)
    period = up * down
    return half, -(-half // period) * period


class Resample(Node[ResampleParams]):
    """Polyphase resampler with carried input history; see the module docstring for the exact maths."""

    Params = ResampleParams

    @dataclass
    class State:
        hist: np.ndarray = field(metadata=finite())  # (signals, taps per phase - 1) the last input samples
        pending: np.ndarray  # (n, 2) NaN outputs not emitted yet: (flat channel, output index)
        n_in: int = count()  # input samples received
        n_out: int = count()  # output samples emitted
        t_first: float | None = None  # start time of the first sample (a gap moves it, see the module docstring)

    def configure(self, in_specs):
        from scipy.signal import firwin

        spec = signal_input(self, in_specs)
        p = self.params
        if p.rate is not None:
            if p.up is not None or p.down is not None:
                raise SpecError("resample takes `rate` or `up`/`down`, not both", "remove one of them")
            audio = bool(spec.channel_types) and set(spec.channel_types) == {"audio"}
            up, down = rational_ratio(spec.rate, p.rate, p.max_factor, audio)
        else:
            if p.up is None or p.down is None:
                raise SpecError("resample needs `rate`, or both `up` and `down`", "e.g. rate: 250")
            g = math.gcd(p.up, p.down)
            up, down = p.up // g, p.down // g
            if up > p.max_factor or down > p.max_factor:
                raise SpecError(
                    f"resample up/down {up}/{down} above max_factor {p.max_factor}",
                    "use smaller factors or raise max_factor",
                )
            check_filter_size(spec.rate, spec.rate * up / down, up, down, "use smaller factors")
        self.up, self.down = up, down
        self._dtype = float_dtype(spec)
        half, self.delay_up = filter_delay(up, down)  # D: total delay in upsampled samples
        if up == down == 1:  # same rate: no cutoff below Nyquist to design; the filter is the identity, as
            h = np.ones(1)  # resample_poly(x, 1, 1) returns x
        else:
            # scipy's annotation says str, but firwin documents and accepts a (name, param) tuple
            fir = firwin(2 * half + 1, 1.0 / max(up, down), window=("kaiser", 5.0))  # pyright: ignore[reportArgumentType]
            h = np.asarray(fir) * up
        self.pad = self.delay_up - half  # p: leading zero taps
        self.h = h
        self.L = -(-h.size // up)  # taps per phase
        table = np.zeros((up, self.L))
        for r in range(up):
            taps = h[r::up]
            table[r, : taps.size] = taps
        self._trev = np.ascontiguousarray(table[:, ::-1]).astype(self._dtype)  # reversed: dot with ascending x
        # the wait for an input sample's response: the filter's centre, half/up input samples after it (rounded up);
        # the p zero taps delay the content against the stamps (out_delay, declared on the spec) but no input waits for
        # them: declared D/up, 441 input samples (10 ms) at 44.1 -> 16 kHz where an impulse's peak came out 27 after it
        self.latency_samples = -(-half // up)
        self.out_delay = self.delay_up // down
        self._in_rate = spec.rate
        self.out_rate = float(p.rate) if p.rate is not None else spec.rate * up / down  # (p.rate: to the last bit)
        self._lead = tuple(spec.shape)
        self._nch = int(np.prod(self._lead)) if self._lead else 1
        self._ndim = len(spec.shape) + 1
        self._policy = p.nan_policy
        how = "by their codes, unfiltered (each on the output sample of its onset, as MNE's raw.resample keeps them)"
        self._stim = trigger_channels(self, spec, "resamples", how)
        # zeros before the stream: L-1 samples, more when the padded filter reaches further back
        self._preroll = self.L - 1 + max(0, -((-self.pad) // up))
        self.reset()
        # the content lags the stamps by D/down output samples: declared, so `align` (delay: auto) removes it
        delay = spec.delay + self.out_delay / self.out_rate
        # up from a lower rate, the content keeps the band of that rate (the speech enhancer checks it)
        band = min(spec.band or math.inf, spec.rate / 2)
        band_out = band if band < self.out_rate / 2 * (1 - RATE_RTOL) else None
        self.out_specs = {
            "out": spec.evolve(rate=self.out_rate, dtype=self._dtype.name, delay=delay, band=band_out),
        }
        return self.out_specs

    @property
    def filter_taps(self) -> np.ndarray:
        """The filter as upfirdn sees it (leading zeros included): the offline reference."""
        return np.concatenate([np.zeros(self.pad), self.h])

    def load_state_dict(self, state):
        """As Node's, and the two counts must fit each other: after n_in inputs the node has emitted exactly the outputs
        those complete (finish() flushes the rest and starts afresh). A state whose n_in ran far ahead of n_out made the
        next chunk compute the whole difference at once ('Unable to allocate 17.5 TiB'); one a few outputs behind read
        its windows from before `hist` ("strides is incompatible with shape of requested array")."""
        before = self.state
        super().load_state_dict(state)
        s = self.state
        due = (s.n_in * self.up - 1 + self.pad) // self.down + 1 if s.n_in else 0
        if due != s.n_out:
            self.state = before
            raise ValueError(
                f"{self.node_id or 'resample'} state 'n_in' {s.n_in} and 'n_out' {s.n_out} do not fit: {s.n_in} input "
                f"samples give {due} outputs at {self.up}/{self.down}; load the state as state_dict() saved it"
            )

    def new_state(self):
        return self.State(np.zeros((self._nch, self.L - 1), dtype=self._dtype), np.zeros((0, 2), dtype=np.int64))

    # --- core ---------------------------------------------------------------------------------------
    def _step(self, x2: np.ndarray, j_cap: int | None = None, n_real: int | None = None) -> tuple[np.ndarray, int]:
        """Consume x2 (channels, n); return (outputs, index of the first output). `n_real`: the samples of the stream
        (finish() flushes zeros after them)."""
        up, down, L, s = self.up, self.down, self.L, self.state
        n = x2.shape[1]
        hist = s.hist if s.n_in else np.zeros((self._nch, self._preroll), dtype=self._dtype)
        ext_start = s.n_in - hist.shape[1]
        ext = np.concatenate([hist, x2], axis=1)
        s.n_in += n
        s.hist = ext[:, ext.shape[1] - (L - 1) :]  # a view: the next concatenate copies it
        j0 = s.n_out
        j_end = (s.n_in * up - 1 + self.pad) // down + 1
        if j_cap is not None:
            j_end = min(j_end, j_cap)
        J = max(0, j_end - j0)
        y = np.empty((self._nch, J), dtype=self._dtype)
        if J:
            s0, s1 = ext.strides
            for q in range(min(up, J)):  # outputs j0+q, j0+q+up, ... share filter phase r
                g = (j0 + q) * down - self.pad
                i0 = g // up
                r = g - i0 * up
                a = i0 - ext_start - (L - 1)  # ext index of the oldest sample of the first window
                cnt = (J - q + up - 1) // up  # how many of the J outputs have this phase
                # (cnt, C, L) windows starting every `down` samples: a strided view of ext, no copy. This
                # layout makes matmul a batch of (C, L) @ (L,) products, ~3x faster than (C, cnt, L).
                win = np.ndarray((cnt, ext.shape[0], L), ext.dtype, ext, a * s1, (down * s1, s0, s1))
                y[:, q::up] = (win @ self._trev[r]).T
            if self._stim.size:
                n = s.n_in if n_real is None else n_real
                y[self._stim] = stim_codes(ext[self._stim], ext_start, j0, J, self, n, n_real is not None)
        s.n_out = j0 + J
        return y, j0

    def _emit(self, y: np.ndarray, j0: int) -> dict[str, Chunk]:
        s = self.state
        if len(s.pending):
            j = s.pending[:, 1]
            hit = (j >= j0) & (j < j0 + y.shape[1])
            if hit.any():
                y[s.pending[hit, 0], j[hit] - j0] = np.nan
                s.pending = s.pending[~hit]
        if y.shape[1] == 0:
            return {}
        t0 = (s.t_first or 0.0) + j0 / self.out_rate
        return {"out": Chunk(y if self._ndim == 2 else y.reshape(*self._lead, y.shape[1]), t0)}

    def process(self, inputs):
        c, s = inputs["in"], self.state
        x = chunk_data(c, self._lead, self._dtype)
        if x is None:
            return {}
        s.t_first = stream_start(s.t_first, c, s.n_in / self._in_rate)
        x, mask = sanitize(self, x, self._policy)
        x2 = x if self._ndim == 2 else x.reshape(self._nch, x.shape[-1])
        if mask is not None:  # NaN at input i -> the output sample nearest in time, after the delay
            ch, i = np.nonzero(mask.reshape(self._nch, -1))
            j = np.floor((i + s.n_in) * self.up / self.down + 0.5).astype(np.int64) + self.out_delay
            s.pending = np.concatenate([s.pending, np.stack([ch, j], axis=1)])
        return self._emit(*self._step(x2))

    def end_segment(self, t_next=None):
        """Before a gap: the segment's flushed tail, as finish() gives it (the segment resampled as if alone), only the
        samples stamped before `t_next` (see nodes/segment_tail.py); the next chunk starts a fresh filter, whose
        delay `align` drops again."""
        return tail_before(self, self.finish(), t_next, self.out_rate)

    def finish(self):
        n_in = self.state.n_in
        if n_in == 0:
            return {}
        j_total = ((n_in - 1) * self.up + self.h.size + self.pad - 1) // self.down + 1
        i_last = ((j_total - 1) * self.down - self.pad) // self.up
        zeros = np.zeros((self._nch, max(0, i_last - n_in + 1)), dtype=self._dtype)
        out = self._emit(*self._step(zeros, j_cap=j_total, n_real=n_in))
        # the stream is over (its tail flushed with zeros): a node given the next file starts it fresh, as the enhancer
        # does (it went on from the flushed state: numpy's "strides is incompatible ..." up-sampling, samples missing down)
        self.reset()
        return out
