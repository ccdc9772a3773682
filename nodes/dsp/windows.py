"""Sliding windows, streaming STFT and inverse STFT.

Frames: frame k covers input samples [k*hop - prepad, k*hop - prepad + size) (zeros before the stream)
and is stamped ``t_first + k*hop/rate`` (t_first: start time of the first input chunk; a chunk flagged ``gap``
moves t_first so that its own first sample keeps its t0, as the samples lost in the gap are not counted in k,
and so does a chunk whose t0 is more than 1 us off the grid (a live stream's clock drift, see lsl_inlet);
istft does the same with frames; by hand, without end_segment()). The output is a features stream at ``rate/hop``
frames per second. In a graph, every framing node ends its segment at a gap (end_segment(): the stft's padded last
frames; sliding_window and bandpower drop the partial window as at the end), then starts anew, so
``stft -> istft -> align`` gives each segment back as alone.

* sliding_window: prepad 0, so frame k starts at sample k*hop and is stamped with its start time. Row
  layout: channel-major, ``row[c*size + s] = x[c, k*hop + s]`` (leading band axes flattened into c), column
  ``c*size + s`` named ``"{channel}:{s}"``. A trigger channel's windows are its codes, as they are (as mne.Epochs'
  get_data gives them; nothing is computed from them).
  Trailing samples that do not fill a window are dropped at finish(). latency_samples = size - 1 (a
  window is held back until its last sample arrives, then stamped with its first sample's time).
* stft: size n_fft, prepad n_fft - hop, so frame k ends with the hop block that starts at k*hop (its
  stamp). Row layout: ``row[c*n_bins + b] = rfft(window * frame_c)[b]``, n_bins = n_fft//2 + 1, complex128
  for float64 input (complex64 for float32), no scaling. finish() emits zero-padded frames until every
  input sample has been seen by n_fft/hop frames, so an istft recovers the whole signal.
  latency_samples = hop - 1 (held back until its newest hop block is complete). Channels typed stim (a trigger)
  are left out, said once: a trigger's codes have no spectrum (MNE's compute_tfr and compute_psd pick data channels).
* istft: weighted overlap-add with the dual window ``w / sum_r w[n + r*hop]**2`` (needs n_fft % hop == 0
  and a window whose squares overlap-add to > 0, e.g. sqrt-hann at hop n_fft/2, hann at hop n_fft/4).
  stft -> istft returns the input delayed by n_fft - hop samples: ``latency_samples = n_fft/hop - 1``
  input frames. finish() emits nothing (the stft's finish() already padded the frames). Its output has the shape and
  channel names of the stft's input (a filterbank's (bands, channels); the stft's frames carry the channel names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec
from wavegraph.pipeline.state import count

from ..channel_kinds import without_triggers
from ..nanpolicy import (
    NAN_POLICY_HELP,
    NanPolicy,
    check_window_size,
    chunk_data,
    float_dtype,
    sanitize,
    signal_input,
    stream_start,
)
from ..segment_tail import tail_before
from .room import Room
from .window_names import LIST_FORM, Window, check_window, window_said, window_text


@dataclass
class FrameState:
    """The state of a framing node."""

    buf: np.ndarray  # (signals, n) input samples not in a whole frame yet; empty at the start
    k: int = count()  # frames emitted
    n_in: int = count()  # samples received
    t_first: float | None = None  # start time of the first sample (a gap moves it, see the module docstring)


class Framer:
    """Cuts a (channels, samples) stream into frames of `size` every `hop`, with `prepad` leading zeros."""

    def __init__(self, nch: int, size: int, hop: int, prepad: int, dtype):
        self.nch, self.size, self.hop, self.prepad, self.dtype = nch, size, hop, prepad, np.dtype(dtype)
        self.room = Room()  # where chunks are appended after the held samples (nodes/dsp/room.py)

    def fresh(self) -> FrameState:
        return FrameState(np.zeros((self.nch, 0), dtype=self.dtype))

    def held(self, s: FrameState) -> int | None:
        """How many samples `buf` holds after n_in samples and k frames (from the next frame's start to the newest
        sample), or None when no push leaves such counts (a frame not emitted whose samples all came)."""
        if s.n_in == 0:
            return 0 if s.k == 0 else None
        if s.k and (s.k - 1) * self.hop - self.prepad + self.size > s.n_in:  # its last frame's samples did not come
            return None
        held = max(0, s.n_in - (s.k * self.hop - self.prepad))
        return held if held < self.size else None

    def push(self, s: FrameState, x2: np.ndarray) -> tuple[np.ndarray, int]:
        """Append samples; return (frames (F, channels, size) as a view, index of the first frame). The samples go after
        the held ones in `room` (a concatenate of the held samples at every chunk, and a copy of the rest, cost two
        windows per chunk: a 10 s sliding_window of 32 channels at 30 kHz in 1 ms chunks fell behind real time)."""
        head = np.zeros((self.nch, self.prepad), dtype=self.dtype) if s.n_in == 0 else s.buf  # zeros before the stream
        buf = self.room.append(head, x2, max(head.shape[1] + x2.shape[1], self.size + min(self.hop, self.size), 1024))
        s.n_in += x2.shape[1]
        # with hop > size the next frame starts after the buffered samples: skip the samples between
        # (buf[:, 0] is input sample n_in - len(buf); the next frame starts at k*hop - prepad)
        skip = s.k * self.hop - self.prepad - (s.n_in - buf.shape[1])
        if skip > 0:
            buf = buf[:, skip:]
        nb = buf.shape[1]
        n_frames = (nb - self.size) // self.hop + 1 if nb >= self.size else 0
        k0 = s.k
        if n_frames:
            frames = np.lib.stride_tricks.sliding_window_view(buf, self.size, axis=1)[
                :, : (n_frames - 1) * self.hop + 1 : self.hop
            ]
            frames = frames.transpose(1, 0, 2)
        else:
            frames = np.zeros((0, self.nch, self.size), dtype=self.dtype)
        # (a view of the room: the next chunk is written after it; moved out of a room a big chunk made)
        s.buf = self.room.shrink(buf[:, n_frames * self.hop :], max(self.size + min(self.hop, self.size), 1024))
        s.k += n_frames
        return frames, k0


MAX_NAMED_COLUMNS = 1 << 20  # names of about 80 MB


def column_names(spec: StreamSpec, nch: int, parts) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names and types of the feature columns, channel-major (``f"{channel}:{part}"`` for each channel, then each
    part), so that a features spec has one name per column as consumers expect (an LSL outlet labels every column).
    Empty when the input does not name exactly `nch` channels (e.g. a filter bank's (bands, channels)), and past
    MAX_NAMED_COLUMNS columns: a sliding_window of 1e8 samples (800 MB of state, under the 1 GiB bound) made 7.7 GB of
    names over 40 s, then 'MemoryError: ; ... this is a bug in the node'."""
    if len(spec.channel_names) != nch or nch * len(parts) > MAX_NAMED_COLUMNS:
        return (), ()
    names = tuple(f"{c}:{q}" for c in spec.channel_names for q in parts)
    types = tuple(t for t in spec.channel_types for _ in parts)
    return names, types


class _Framed(Node):
    """Shared configure/process/state of the framing nodes; subclasses transform the frames."""

    def _setup(self, spec: StreamSpec, size: int, hop: int, prepad: int, policy: str, drop: str = "") -> StreamSpec:
        """The framing of `spec`; with `drop` (what a trigger's codes do not give: "band power"), its channels typed
        stim are left out (said once), and the spec of the framed channels is returned."""
        self._dtype = float_dtype(spec)
        self._lead = tuple(spec.shape)  # the chunks' shape: every channel comes in
        self._keep, spec = without_triggers(self, spec, drop) if drop else (None, spec)
        self._nch = int(np.prod(spec.shape)) if spec.shape else 1
        check_window_size(
            f"{self.type_name or type(self).__name__} window", size, self._nch, self._dtype.itemsize, spec.rate
        )
        self._policy = policy
        self._rate = spec.rate
        self._hop = hop
        self.framer = Framer(self._nch, size, hop, prepad, self._dtype)
        self.reset()
        return spec

    def new_state(self):
        return self.framer.fresh()

    def load_state_dict(self, state):
        """As Node's, and the held samples must fit the counts: a state whose `buf` came from another save than its `k`
        and `n_in` (mixed up, or edited by hand) was taken, and the frames after it were cut from the wrong samples and
        stamped at the wrong times, unsaid."""
        before = self.state
        super().load_state_dict(state)
        s = self.state
        held = self.framer.held(s)
        if held is None or s.buf.shape[1] != held:
            self.state = before
            raise ValueError(
                f"{self.node_id or self.type_name or type(self).__name__} state 'buf' holds {s.buf.shape[1]} samples, "
                f"'n_in' {s.n_in} and 'k' {s.k} "
                + ("cannot go together" if held is None else f"leave {held}")
                + " (the samples from the next frame's start on): load the state as state_dict() saved it"
            )

    def transform(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def finish(self):
        """The stream is over: the samples that fill no window are dropped (they went into the next stream's first
        window), and the next chunk starts a new stream (one node, many files)."""
        self.reset()
        return {}

    def end_segment(self, t_next=None):
        """Before a gap: the segment's samples that fill no window are dropped, as at the end of a stream, and the
        chunk after the gap starts a fresh stream (its first window starts at its first sample, stamped at its t0).
        sliding_window and bandpower went on across the gap: a window held samples of both sides, and the frames after
        it kept the old hop grid. The stft overrides this with its padded last frames."""
        return self.finish()

    def _out(self, frames, k0):
        if frames.shape[0] == 0:
            return {}
        t0 = (self.state.t_first or 0.0) + k0 * self._hop / self._rate
        return {"out": Chunk(self.transform(frames), t0)}

    def process(self, inputs):
        c, s = inputs["in"], self.state
        x = chunk_data(c, self._lead, self._dtype)
        if x is None:
            return {}
        s.t_first = stream_start(s.t_first, c, s.n_in / self._rate)
        x, mask = sanitize(self, x, self._policy)
        if mask is not None:  # windows are independent: NaN only reaches the frames that contain it
            x[mask] = np.nan
        x2 = (x if self._keep is None else x[..., self._keep, :]).reshape(self._nch, x.shape[-1])  # (the kept channels)
        return self._out(*self.framer.push(s, x2))


class SlidingParams(NodeParams):
    size: int = Field(..., ge=1, description="window length in samples")
    hop: int = Field(..., ge=1, description="samples between window starts")
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


def _passband_of(spec: StreamSpec) -> dict:
    """The passband (band, highpass, lowpass) and bad channels of a signal, which an stft's frames carry for the istft
    that gives the signal back (it said 0 Hz to the Nyquist, no bads). The istft's rate is the stft's input's (their
    framing is checked alike), so `band` keeps its meaning there."""
    return {"band": spec.band, "highpass": spec.highpass, "lowpass": spec.lowpass, "bads": spec.bads}


class SlidingWindow(_Framed):
    """Windows of `size` samples every `hop` samples, as feature rows (channel-major)."""

    Params = SlidingParams

    def configure(self, in_specs):
        spec = signal_input(self, in_specs)
        p = self.params
        self._setup(spec, p.size, p.hop, 0, p.nan_policy)
        self.latency_samples = p.size - 1  # lookahead: a window is stamped at its start, emitted at its end
        names, types = column_names(spec, self._nch, range(p.size))
        self.out_specs = {
            "out": StreamSpec(
                "features",
                spec.rate / p.hop,
                (self._nch * p.size,),
                self._dtype.name,
                names,
                types,
                spec.units,
                delay=spec.delay,  # frames of a delayed signal lag their stamps as it does (as stft's)
                meas_date=spec.meas_date,
                first_time=spec.first_time,
            )
        }
        return self.out_specs

    def transform(self, frames):
        return frames.reshape(frames.shape[0], -1)  # a copy, except for one channel (a read-only view of the room)


def make_window(name: Window, n_fft: int, node: str = "stft") -> np.ndarray:
    """A periodic analysis window; 'sqrt_hann' is the square root of the periodic Hann window; a tuple is
    scipy.signal.get_window's (name, parameter...)."""
    from scipy.signal import get_window

    if name == "sqrt_hann":
        return np.sqrt(get_window("hann", n_fft))
    check_window(name, node, n_fft)
    try:
        with np.errstate(all="ignore"):
            w = np.asarray(get_window(name, n_fft), dtype=np.float64)
    except (ValueError, TypeError) as e:  # (TypeError: a tuple's parameters, [kaiser, x], [kaiser, 8, 9, 10])
        raise SpecError(
            f"unknown window {window_said(name)}: {e}",
            "use e.g. hann, sqrt_hann, hamming, blackman" + ("" if isinstance(name, str) else f", or {LIST_FORM}"),
        ) from e
    if not np.isfinite(w).all():  # [kaiser, .nan]
        raise SpecError(f"window {window_said(name)} has values that are not finite", f"use {LIST_FORM}")
    return w


class STFTParams(NodeParams):
    n_fft: int = Field(256, ge=2, le=2**20, description="frame length in samples (n_fft//2+1 bins); istft: the stft's")
    hop: int = Field(128, ge=1, le=2**20, description="samples between frames, must divide n_fft; istft: the stft's")
    window: Window = Field(
        "sqrt_hann",
        description="sqrt_hann, any scipy.signal.get_window name (periodic), or a list [name, parameter...] as its "
        "tuple, e.g. [kaiser, 8]; istft: the stft's",
    )
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


def _check_stft(p: STFTParams) -> None:
    if p.hop > p.n_fft or p.n_fft % p.hop:
        # Not a default that follows n_fft: istft cannot see the stft's hop (the stream does not carry it), so
        # one fixed default keeps an stft and an istft that both leave hop out in step.
        given = "hop" in p.model_fields_set
        raise SpecError(
            f"stft/istft hop {p.hop}{'' if given else ' (the default)'} must divide n_fft {p.n_fft}",
            f"give the same hop to the stft and the istft, e.g. hop: {max(1, p.n_fft // 2)} (n_fft/2, sqrt_hann)"
            + (f" or {p.n_fft // 4} (n_fft/4, hann)" if p.n_fft >= 4 and p.n_fft % 4 == 0 else ""),
        )


def framing_problems(p: STFTParams, node: str) -> list[tuple[str, str, str]]:
    """check_params of stft and istft: a window no n_fft makes, a hop that does not divide n_fft (what configure()
    refuses whatever the stream; behind a device `run` said the window at the edge's line)."""
    out = []
    # a hop left out is the default, which n_fft makes wrong: said at n_fft's line (it was the node's)
    hop = "hop" if "hop" in p.model_fields_set or "n_fft" not in p.model_fields_set else "n_fft"
    for name, check in (("window", lambda: make_window(p.window, p.n_fft, node)), (hop, lambda: _check_stft(p))):
        try:
            check()
        except SpecError as e:
            out.append((name, e.message, e.hint))
    return out


class STFT(_Framed):
    """Streaming short-time Fourier transform (see the module docstring for framing and layout)."""

    Params = STFTParams

    def check_params(self) -> list[tuple[str, str, str]]:
        return framing_problems(self.params, "stft")

    def configure(self, in_specs):
        spec = signal_input(self, in_specs)
        p = self.params
        _check_stft(p)
        spec = self._setup(spec, p.n_fft, p.hop, p.n_fft - p.hop, p.nan_policy, drop="spectrum")
        self.win = make_window(p.window, p.n_fft).astype(self._dtype)
        self.n_bins = p.n_fft // 2 + 1
        self.latency_samples = p.hop - 1  # lookahead: stamped at the start of its newest hop block
        cdt = np.result_type(self._dtype, np.complex64).name
        self.out_specs = {
            "out": StreamSpec(
                "features",
                spec.rate / p.hop,
                (self._nch * self.n_bins,),
                cdt,
                spec.channel_names,
                spec.channel_types,
                spec.units,
                delay=spec.delay,
                meas_date=spec.meas_date,  # the recording's start goes on to what an istft gives back
                first_time=spec.first_time,
                framing=(p.n_fft, p.hop, p.window),  # what an istft checks its own against
                **_passband_of(spec),  # and the signal's passband and bad channels
            )
        }
        return self.out_specs

    def transform(self, frames):
        spec = np.fft.rfft(frames * self.win, axis=-1)
        return spec.reshape(frames.shape[0], -1)

    def end_segment(self, t_next=None):
        """Before a gap: the segment's zero-padded last frames, as finish() gives them (an istft after it gives the
        whole segment back), only those whose newest hop block ends by `t_next` (nodes/segment_tail.py); the next
        chunk starts a new stream."""
        return tail_before(self, self.finish(), t_next, self._rate / self._hop, frames=True)

    def finish(self):
        f, s = self.framer, self.state
        if s.n_in == 0:
            return {}
        total = (s.n_in - 1 + f.prepad) // f.hop + 1  # frames that contain at least one input sample
        out = self._out(*f.push(s, np.zeros((f.nch, total * f.hop - s.n_in), dtype=f.dtype)))
        self.reset()  # the stream is over: the next chunk starts a new one
        return out


def framed_channels(spec: StreamSpec, nch: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    """(names, types, shape) of the signal an istft gives back from frames of `nch` channels: the stft carries its
    input's channel names (the last axis), so a filter bank's (bands, channels) framed as bands x channels comes back
    (bands, channels) with its names, as the filterbank gave it (it came back (bands*channels,) named ch0..). Frames
    whose names do not divide their channels (none: a model's real_to_complex) give (nch,) named ch0.., typed misc."""
    names, types = spec.channel_names, spec.channel_types
    if not names or nch % len(names):
        return tuple(f"ch{i}" for i in range(nch)), ("misc",) * nch, (nch,)
    types = types if len(types) == len(names) else ("misc",) * len(names)
    return names, types, (nch,) if nch == len(names) else (nch // len(names), len(names))


class ISTFTParams(STFTParams):
    pass


def _check_framing(p: ISTFTParams, spec: StreamSpec) -> None:
    """An istft whose n_fft, hop or window differs from the stft's that made its frames gave a wrong output rate (hop)
    or wrong samples (n_fft 256 and 257 give the same 129 bins; a window) without a word. Frames whose stft is not
    known (the spec has no `framing`: a model's real_to_complex output) are taken as they are."""
    if spec.framing is None or spec.framing == (p.n_fft, p.hop, p.window):
        return
    n_fft, hop, _ = spec.framing
    stft: dict[str, object] = dict(zip(("n_fft", "hop", "window"), spec.framing))
    mine: dict[str, object] = {"n_fft": p.n_fft, "hop": p.hop, "window": p.window}
    shown = {k: window_text(v) if k == "window" else v for k, v in stft.items()}  # ([kaiser, 8]: as the file writes it)
    diff = [k for k in mine if mine[k] != stft[k]]
    same_bins = "n_fft" in diff and p.n_fft // 2 == n_fft // 2
    what = {"n_fft": "wrong samples", "hop": "a wrong output rate", "window": "wrong samples"}
    raise SpecError(
        "istft "
        + ", ".join(f"{k} {window_text(mine[k]) if k == 'window' else mine[k]}" for k in diff)
        + " differs from the stft that made its frames ("
        + ", ".join(f"{k} {shown[k]}" for k in diff)
        + "): it would give "
        + " and ".join(dict.fromkeys(what[k] for k in diff))
        + (f" (n_fft {p.n_fft} and {n_fft} give the same bins)" if same_bins else "")
        + (f" ({p.hop * spec.rate:g} Hz, not {hop * spec.rate:g} Hz)" if "hop" in diff else ""),
        "give the istft the stft's "
        + ", ".join(f"{k}: {shown[k]}" for k in ("n_fft", "hop", "window"))
        + " (or leave them out on both)",
    )


class ISTFT(Node[ISTFTParams]):
    """Inverse of `stft` (same n_fft/hop/window) by weighted overlap-add; outputs a signal."""

    Params = ISTFTParams

    def check_params(self) -> list[tuple[str, str, str]]:
        return framing_problems(self.params, "istft")

    @dataclass
    class State:
        tail: np.ndarray  # (channels, n_fft - hop) overlap-add sums not complete yet
        k: int = count()  # frames received
        t_first: float | None = None  # start time of the first frame (a gap moves it)

    def configure(self, in_specs):
        spec = self.require_input(in_specs, "in", "features")
        p = self.params
        _check_framing(p, spec)  # (first: it says what the frames are)
        _check_stft(p)
        if np.dtype(spec.dtype).kind != "c":
            raise SpecError(f"istft needs complex frames, got {spec.dtype}", "connect the output of an stft")
        if not spec.rate or spec.rate <= 0:  # the output rate is frame rate * hop
            raise SpecError(f"istft needs a regular frame rate, got {spec.rate}", "connect the output of an stft")
        self.n_bins = p.n_fft // 2 + 1
        width = spec.shape[-1] if spec.shape else 1
        if width % self.n_bins:
            raise SpecError(
                f"istft: frame width {width} is not a multiple of n_fft//2+1 = {self.n_bins}",
                "use the same n_fft as the stft",
            )
        self._nch = width // self.n_bins
        w = make_window(p.window, p.n_fft, "istft")
        r = p.n_fft // p.hop
        denom = (w.reshape(r, p.hop) ** 2).sum(axis=0)
        if denom.min() < 1e-10 * denom.max() or denom.max() == 0:
            raise SpecError(
                f"window {window_said(p.window)} with hop {p.hop} does not overlap (NOLA fails)",
                "use a smaller hop, e.g. n_fft/2 for sqrt_hann or n_fft/4 for hann",
            )
        self._cdt = np.dtype(spec.dtype)
        self._dtype = np.dtype(np.float32) if self._cdt == np.complex64 else np.dtype(np.float64)
        self.syn = (w / np.tile(denom, r)).astype(self._dtype)
        self._R, self._hop, self._n_fft = r, p.hop, p.n_fft
        self._policy = p.nan_policy
        self.latency_samples = r - 1  # frames; = (n_fft - hop) output samples
        self._frame_rate = spec.rate
        self._out_rate = spec.rate * p.hop
        names, types, self._shape = framed_channels(spec, self._nch)
        self.reset()
        self.out_specs = {
            "out": StreamSpec(
                "signal",
                self._out_rate,
                self._shape,
                self._dtype.name,
                names,
                types,
                spec.units,
                delay=spec.delay + (p.n_fft - p.hop) / self._out_rate,
                meas_date=spec.meas_date,
                first_time=spec.first_time,
                **_passband_of(spec),  # the framed signal's, which its stft carried (a FIF recorder writes them)
            )  # content lags n_fft - hop
        }
        return self.out_specs

    def new_state(self):
        return self.State(np.zeros((self._nch, self._n_fft - self._hop), dtype=self._dtype))

    def process(self, inputs):
        c, s = inputs["in"], self.state
        z = c.data
        if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] != self._nch * self.n_bins:
            if z.size == 0:
                return {}
            raise ValueError(f"istft chunk has shape {z.shape}, expected (frames, {self._nch * self.n_bins})")
        s.t_first = stream_start(s.t_first, c, s.k / self._frame_rate)
        z, mask = sanitize(self, z, self._policy)
        if mask is not None:
            z = z.copy()
            z[mask] = np.nan  # a NaN frame spoils only the n_fft samples it overlaps
        F, hop, R = z.shape[0], self._hop, self._R
        seg = np.fft.irfft(z.reshape(F, self._nch, self.n_bins), n=self._n_fft, axis=-1).astype(self._dtype, copy=False)
        seg = seg * self.syn  # (F, C, n_fft)
        ext = np.zeros((self._nch, (F + R - 1) * hop), dtype=self._dtype)
        ext[:, : s.tail.shape[1]] = s.tail
        blocks = seg.reshape(F, self._nch, R, hop).transpose(2, 1, 0, 3)  # (R, C, F, hop)
        # each output block sums its R frames oldest first (r = R-1 is the oldest frame's share), the order the tail
        # carried from the chunks before already has: any chunking adds in one order (newest first here made a
        # 1-frame chunking differ from the whole run by 2e-3 on int16-scale float32, 4e-12 in float64, at hop n_fft/4)
        for r in range(R - 1, -1, -1):
            ext[:, r * hop : r * hop + F * hop] += blocks[r].reshape(self._nch, F * hop)
        y = ext[:, : F * hop]
        s.tail = ext[:, F * hop :].copy()
        t0 = s.t_first + s.k * hop / self._out_rate
        s.k += F
        return {"out": Chunk(y if len(self._shape) == 1 else y.reshape(*self._shape, F * hop), t0)}

    def end_segment(self, t_next=None):
        """Before a gap: nothing, as finish() (the stft's end_segment() padded the segment's frames); the overlap-add
        tail is dropped and the frames after the gap start anew (they were added to the segment's before)."""
        return self.finish()

    def finish(self):
        """Nothing (the stft's finish() padded the frames); the next chunk starts a new stream (one node, many files:
        the second began with the first's overlap-add tail)."""
        self.reset()
        return {}
