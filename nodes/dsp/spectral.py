"""Spectral building blocks: views of an STFT stream, masks, gain and delay alignment.

With these a spectral enhancer is a YAML graph (see docs/speech.md)::

    stft -> magnitude(log) -> <model: one value per bin> -> apply_mask(in: stft.out, activation: sigmoid) -> istft

* magnitude: complex features -> real ``|z| ** power`` (``log: true``: ``log10(max(|z| ** power, floor))``),
  same shape and rate; float32 for complex64, float64 for complex128.
* phase: complex features -> real ``angle(z)`` in radians (-pi, pi].
* complex_to_real: complex (frames, W) -> real (frames, 2W), each row ``[Re z_0..z_{W-1}, Im z_0..z_{W-1}]``
  (the layout a model that predicts a complex mask reads and writes).
* real_to_complex: the inverse; real (frames, 2W) -> complex (frames, W).
* apply_mask: two inputs, ``in`` (features or signal, real or complex) and ``mask`` (same kind and rate, real,
  or complex when ``in`` is). The mask has the width of ``in`` or divides it, and is then tiled across the
  channels (an STFT row is channel-major, ``c * n_bins + b``, so one ``n_bins`` mask serves every channel).
  ``out = in * activation(mask)`` with activation ``none``, ``sigmoid`` or ``clip`` (to [0, 1]), then at least
  ``min_gain``. Frames are paired by their time stamps (frame index ``floor(t * rate + 0.5)`` of a chunk's first
  frame, a half rounded up, the next ones counted on), never by arrival order, so the result is the same in one
  process or across processes whatever the interleaving. It flags a gap itself, on the first frame of an ``in``
  chunk flagged gap (or after frames it dropped), in an output chunk of its own. A frame that
  has no partner with the same stamp is dropped and counted (``unmatched_in``, ``unmatched_mask``); frames
  wait for their partner up to ``max_wait`` seconds of stream time on the other input (from the first frame of its
  newest chunk: the partner made of that chunk comes after it; one of at most half a frame, which rounds to no wait, is refused). A frame stamped
  at or before one already decided (a stream that went back in time) is dropped and counted (``late_in``, ``late_mask``).
  Each output chunk is one contiguous run of frames; at the very end, paired runs still waiting after a hole
  (frames one input lost) go out one chunk each (``finish_all``, what the runtime calls); ``finish()`` alone
  returns the first and counts the rest ``after_break_at_end`` (as ``join``).
* gain: ``out = in * 10 ** (db / 20)`` on any signal or features stream, real or complex.
* align: drops the first ``delay`` seconds of a delayed signal and stamps the rest ``delay`` earlier, so that
  the output has the time base of the source and, when the delaying node flushed its tail at end of stream,
  its length (the enhancer, fir and istft; resample's flush is upfirdn's whole output, which goes on D/down output
  samples past the resampled end, docs/nodes.md "Resampling": so many samples longer). ``delay: auto`` takes the delay that the input stream declares (``StreamSpec.delay``, set by a
  node whose output lags its time stamps, such as the ``enhancer``; none declared: the identity, so one graph
  serves inputs that need a resampler and inputs that do not). A signal's delay must be a whole number of
  samples; a features or tokens stream (the enhancer's ``vad``, an stft of a resampled signal) is stamped
  exactly ``delay`` earlier, and the frames that would then be stamped before the stream's start are dropped.
  After a gap the first ``delay`` of the new segment is dropped too, as at the start: what a delaying node gives there
  predates the segment (the warm-up of the enhancer, resample, fir or istft: each starts afresh at a gap), and
  stamped ``delay`` earlier it fell inside the gap, so the output's segment started ``delay`` before the input's.

The view nodes, gain and align have latency 0; apply_mask declares none either (it waits for the later of
its inputs, whose own latency is already counted on that path).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np
from pydantic import Field
from wavegraph.nodes.nanpolicy import refuse_complex
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import Node, NodeParams
from wavegraph.pipeline.spec import SpecError, StreamSpec
from wavegraph.pipeline.state import rows

from .log_floor import say_floored

_log = logging.getLogger("wavegraph.align")

_REAL_OF = {"complex64": "float32", "complex128": "float64"}
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128"}


def _features(node: Node, in_specs: dict[str, StreamSpec], port: str = "in") -> StreamSpec:
    spec = node.require_input(in_specs, port, "features")
    if len(spec.shape) != 1:
        raise SpecError(
            f"{port!r} must be (frames x features), got shape {spec.shape}",
            "connect an stft or another features stream",
        )
    return spec


def _complex_features(node: Node, in_specs: dict[str, StreamSpec], what: str) -> StreamSpec:
    spec = _features(node, in_specs)
    if np.dtype(spec.dtype).kind != "c":
        raise SpecError(
            f"{what} needs complex frames (an STFT), got {spec.dtype}",
            "connect the output of an stft (or of real_to_complex)",
        )
    return spec


P = TypeVar("P", bound=NodeParams)


def _fitted(node: Node, x: np.ndarray) -> np.ndarray:
    """A non-empty chunk's data in the shape and dtype of the node's configured input 'in' (cast to that dtype, as
    nanpolicy.chunk_data casts a signal node's), or a ValueError giving both shapes. By hand, a chunk of another width
    went through the view nodes, gain and align as their output, which then did not fit the spec they declared
    (a graph drops such a chunk before the node: executor._fits)."""
    spec = node.in_specs["in"]
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"an input chunk must be a Chunk of a numpy array, got a Chunk of {type(x).__name__}; "
            "pass {'in': Chunk(np.asarray(x), t0=seconds)} (from wavegraph.pipeline.chunk import Chunk)"
        )
    signal = spec.kind == "signal"
    if x.ndim != len(spec.shape) + 1 or (x.shape[:-1] if signal else x.shape[1:]) != spec.shape:
        want = (*spec.shape, "n_samples") if signal else ("n_frames", *spec.shape)
        raise ValueError(
            f"{node.type_name or type(node).__name__}: chunk has shape {x.shape}, expected {want} as configured "
            f"({spec.describe()}, time {'last' if signal else 'first'})"
        )
    dtype = node.__dict__.get("_in_dtype")
    if dtype is None or dtype[0] is not spec:  # (np.dtype of a name costs about a microsecond: once per spec)
        dtype = node.__dict__["_in_dtype"] = (spec, np.dtype(spec.dtype))
    if x.dtype == dtype[1]:
        return x
    refuse_complex(x, dtype[1])  # (a complex chunk into a real stream: its imaginary part was dropped, unsaid)
    return x.astype(dtype[1])


class _Stateless(Node[P]):
    """A stateless map from each input chunk to one output chunk with the same t0."""

    def map(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def process(self, inputs):
        c = inputs["in"]
        if c.data.size == 0:
            return {}
        return {"out": Chunk(self.map(_fitted(self, c.data)), c.t0)}


class MagnitudeParams(NodeParams):
    power: float = Field(  # power: 1e300 was taken, and |z| ** 1e300 was inf for every |z| > 1
        1.0, gt=0, le=4, description="exponent: 1 magnitude, 2 power (as librosa's and torchaudio's; at most 4)"
    )
    log: bool = Field(False, description="log10 of the result (with `floor`)")
    floor: float = Field(1e-10, gt=0, description="smallest value before the log")


class Magnitude(_Stateless[MagnitudeParams]):
    """|z| ** power of a complex features stream (optionally its log10)."""

    Params = MagnitudeParams

    def configure(self, in_specs):
        spec = _complex_features(self, in_specs, "magnitude")
        self._dtype = np.dtype(_REAL_OF[spec.dtype])
        if self.params.log and self._dtype.type(self.params.floor) == 0:  # log10(0) = -inf for every silent bin
            raise SpecError(
                f"magnitude floor {self.params.floor:g} is 0 in {self._dtype.name} ({spec.dtype} frames)",
                f"give a floor of at least 1e-45 (1e-10 is the default; {self._dtype.name} holds down to "
                f"{float(np.finfo(self._dtype).smallest_subnormal):.3g})",
            )
        self.out_specs = {"out": spec.evolve(dtype=self._dtype.name, units="a.u." if self.params.log else spec.units)}
        return self.out_specs

    def map(self, z):
        p = self.params
        y = np.abs(z).astype(self._dtype, copy=False)
        if p.power != 1.0:
            y = y ** self._dtype.type(p.power)
        if p.log:  # (values the floor cuts, not silence, are counted and said once: dsp/log_floor.py)
            say_floored(self, y, self._dtype.type(p.floor))
            y = np.log10(np.maximum(y, self._dtype.type(p.floor)))
        return y


class Phase(_Stateless[NodeParams]):
    """angle(z) in radians of a complex features stream."""

    def configure(self, in_specs):
        spec = _complex_features(self, in_specs, "phase")
        self._dtype = np.dtype(_REAL_OF[spec.dtype])
        self.out_specs = {"out": spec.evolve(dtype=self._dtype.name, units="rad")}
        return self.out_specs

    def map(self, z):
        return np.angle(z).astype(self._dtype, copy=False)


class ComplexToReal(_Stateless[NodeParams]):
    """Complex (frames, W) -> real (frames, 2W): [real parts, imaginary parts]."""

    def configure(self, in_specs):
        spec = _complex_features(self, in_specs, "complex_to_real")
        self._dtype = np.dtype(_REAL_OF[spec.dtype])
        self.out_specs = {
            "out": spec.evolve(shape=(2 * spec.shape[0],), dtype=self._dtype.name, channel_names=(), channel_types=())
        }
        return self.out_specs

    def map(self, z):
        return np.concatenate([z.real, z.imag], axis=1).astype(self._dtype, copy=False)


class RealToComplex(_Stateless[NodeParams]):
    """Real (frames, 2W) -> complex (frames, W): the inverse of complex_to_real."""

    def configure(self, in_specs):
        spec = _features(self, in_specs)
        dt = np.dtype(spec.dtype)
        if dt.kind == "c":
            raise SpecError(
                f"real_to_complex needs real frames, got {spec.dtype}", "it is complex already: drop this node"
            )
        if spec.shape[0] % 2:
            raise SpecError(
                f"real_to_complex needs an even width [real parts, imaginary parts], got {spec.shape[0]}",
                "feed it 2 x n_bins values per frame (e.g. a model with that many outputs)",
            )
        self._dtype = np.dtype(_COMPLEX_OF.get(dt.name, "complex128"))
        self._w = spec.shape[0] // 2
        self.out_specs = {
            "out": spec.evolve(shape=(self._w,), dtype=self._dtype.name, channel_names=(), channel_types=())
        }
        return self.out_specs

    def map(self, x):
        z = np.empty((x.shape[0], self._w), dtype=self._dtype)
        z.real, z.imag = x[:, : self._w], x[:, self._w :]
        return z


class GainParams(NodeParams):
    db: float = Field(0.0, allow_inf_nan=False, description="gain in dB (20 log10 of the amplitude factor)")


class Gain(_Stateless[GainParams]):
    """Multiplies a signal or features stream (real or complex) by 10 ** (db / 20)."""

    Params = GainParams

    def configure(self, in_specs):
        spec = self.require_input(in_specs, "in")
        if spec.kind not in ("signal", "features"):
            raise SpecError(
                f"gain scales signals and features, got a {spec.kind} stream", "connect a signal or features"
            )
        dt = np.dtype(spec.dtype)
        if dt.kind not in "fc":
            raise SpecError(f"gain needs a float or complex stream, got {spec.dtype}", "convert to float first")
        real = np.dtype(_REAL_OF.get(dt.name, dt.name))
        db = self.params.db
        if abs(db) > 20 * math.log10(float(np.finfo(real).max)):  # the factor or its inverse is not a number
            raise SpecError(f"gain {db:g} dB is beyond what {dt.name} can hold", "give a gain of a few tens of dB")
        self._factor = real.type(10.0 ** (db / 20.0))
        self.out_specs = {"out": spec}
        return self.out_specs

    def map(self, x):
        with np.errstate(over="ignore", invalid="ignore"):  # past the dtype's range: inf there, no numpy warning
            return x * self._factor


# --- apply_mask -------------------------------------------------------------------------------------------


class ApplyMaskParams(NodeParams):
    activation: Literal["none", "sigmoid", "clip"] = Field(
        "none", description="applied to the mask first: none, sigmoid (logits), clip (to [0, 1])"
    )
    min_gain: float | None = Field(  # a gain floor: min_gain 1e300 was taken, and made every output inf
        None, ge=0, le=1, description="lower bound of the (real) mask after the activation (a gain: 0 to 1)"
    )
    max_wait: float = Field(
        2.0, gt=0, allow_inf_nan=False, description="seconds of stream time a frame waits for its partner"
    )


@dataclass
class MaskState:
    # in_idx: (n,) int64 frame index (floor(t0 * rate + 0.5) of its chunk's first, counted on) of each waiting frame
    in_idx: np.ndarray = field(metadata=rows("in"))
    in_t: np.ndarray = field(metadata=rows("in"))  # (n,) float64 its time stamp
    in_data: np.ndarray = field(metadata=rows("in"))  # (n, width) waiting `in` frames, time first
    mask_idx: np.ndarray = field(metadata=rows("mask"))
    mask_data: np.ndarray = field(metadata=rows("mask"))  # (m, mask width)
    last_out: int = -(2**62)  # frame index of the last frame emitted
    in_from: int = -(2**62)  # frame index of the first frame of the newest `in` chunk (how far `in` has run)
    mask_from: int = -(2**62)  # and of the newest `mask` chunk
    # frame indices where a segment starts (an `in` chunk flagged gap) whose frame has not gone out yet
    gap_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class ApplyMask(Node[ApplyMaskParams]):
    """in * activation(mask), frames paired by time stamp (see the module docstring)."""

    inputs = ("in", "mask")
    Params = ApplyMaskParams
    # it flags the frame where a segment starts itself: the runtime put an input's gap flag on the next output, which
    # could hold the mask's frames from before the gap (a whole-chunk run flagged them, istft restarted there)
    propagates_gaps = False

    def configure(self, in_specs):
        x, m = self.require_input(in_specs, "in"), self.require_input(in_specs, "mask")
        if x.kind not in ("signal", "features"):
            raise SpecError(
                f"apply_mask masks signals or features, got a {x.kind} stream on 'in'",
                "connect an stft (or a signal) to 'in'",
                "in",
            )
        if m.kind != x.kind:
            raise SpecError(
                f"the mask is a {m.kind} stream, 'in' a {x.kind} stream", "give both inputs the same kind", "mask"
            )
        if not x.rate or abs(m.rate - x.rate) > 1e-9 * x.rate:
            raise SpecError(
                f"the mask runs at {m.rate:g} frames/s, 'in' at {x.rate:g}",
                "compute the mask from the same stft (same hop), or resample it",
                "mask",
            )
        if abs(m.delay - x.delay) > 1e-9:  # frames are paired by stamp: content this far apart (was taken unsaid)
            late, by = ("mask", m.delay - x.delay) if m.delay > x.delay else ("in", x.delay - m.delay)
            raise SpecError(
                f"the '{late}' stream's content lags its stamps by {by * 1e3:.6g} ms more than the other's (the delay "
                "a fir, resample or enhancer declares): frames paired by stamp would hold content that far apart",
                "compute the mask from the same stft as 'in', or put an align (delay: auto) on the delayed path before "
                "its stft",
                late,
            )
        xd, md = np.dtype(x.dtype), np.dtype(m.dtype)
        if md.kind == "c" and xd.kind != "c":
            raise SpecError(
                f"a complex mask ({m.dtype}) cannot scale a real stream ({x.dtype})", "use a real mask", "mask"
            )
        if md.kind not in "fc" or xd.kind not in "fc":
            raise SpecError(
                f"apply_mask needs float or complex streams, got in {x.dtype}, mask {m.dtype}",
                "convert to float first",
                "in" if xd.kind not in "fc" else "mask",
            )
        if md.kind == "c" and self.params.min_gain is not None:  # np.maximum compares complex by the real part:
            raise SpecError(  # 0.1+5j floored at 0.2 gave 0.2+0j, its phase and magnitude lost unsaid
                f"min_gain bounds a real mask, the mask is {m.dtype}",
                "leave min_gain out with a complex mask, or give a real mask (its magnitude)",
                "mask",
            )
        if md.kind == "c" and self.params.activation != "none":
            raise SpecError(
                f"activation {self.params.activation!r} needs a real mask, got {m.dtype}",
                "use activation: none with a complex mask",
                "mask",
            )
        w, mw = int(np.prod(x.shape)) if x.shape else 1, int(np.prod(m.shape)) if m.shape else 1
        if w % mw:
            raise SpecError(
                f"the mask has {mw} values per frame, 'in' {w}: {mw} does not divide {w}",
                "give the mask one value per bin (n_fft//2+1) or per input column",
                "mask",
            )
        self._w, self._mw, self._tile = w, mw, w // mw
        self._rate, self._kind, self._shape = float(x.rate), x.kind, tuple(x.shape)
        self._dtype, self._mdtype = xd, md
        self._max_wait = int(round(self.params.max_wait * x.rate))
        if self._max_wait < 1:  # no wait: the mask made of a chunk comes after its frames, one per chunk was dropped
            raise SpecError(
                f"apply_mask: max_wait {self.params.max_wait:g} s is at most half a frame at {x.rate:g} frames/s: no "
                "frame could wait for its mask (made of the same chunk, it comes after it)",
                f"give max_wait: {1 / x.rate:g} (one frame) or more; the default, 2 s, suits a live graph",
            )
        self.latency_samples = 0
        self.reset()
        self.out_specs = {"out": x}
        return self.out_specs

    def new_state(self):
        return MaskState(
            np.zeros(0, np.int64),
            np.zeros(0),
            np.zeros((0, self._w), self._dtype),
            np.zeros(0, np.int64),
            np.zeros((0, self._mw), self._mdtype),
        )

    def _frames(self, c: Chunk, width: int, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(index, times, data time-first) of a chunk, or None for an empty one."""
        d = c.data
        if d.size == 0:
            return None
        if self._kind == "signal":
            d = d.reshape(-1, d.shape[-1]).T
        n = d.shape[0]
        if d.ndim != 2 or d.shape[1] != width:
            raise ValueError(f"apply_mask: chunk of shape {c.data.shape} does not fit {width} values per frame")
        refuse_complex(d, np.dtype(dtype))  # (before anything is kept: its real part went on as the frames)
        t = float(c.t0) + np.arange(n) / self._rate
        # the first frame's index, a half rounded up (and a millionth of a frame's float error with it), the rest
        # counted on: np.round(t * rate) rounds halves to even, so frames stamped on half a frame (an stft after a fir
        # of 21 taps) took one index two by two, and the pairing failed (IndexError) or dropped them as late
        first = math.floor(float(c.t0) * self._rate + 0.5 + 1e-6)
        return first + np.arange(n, dtype=np.int64), t, d.astype(dtype, copy=False)

    def _push(self, port: str, got, gap: bool = False) -> None:
        s, (idx, t, d) = self.state, got
        held = s.in_idx if port == "in" else s.mask_idx
        last = max(int(held[-1]) if held.size else s.last_out, s.last_out)
        keep = idx > last  # stamps move forward: a repeated or earlier frame, or one already decided, is late
        if not keep.all():
            self.count(f"late_{port}", int((~keep).sum()))
            idx, t, d = idx[keep], t[keep], d[keep]
        if idx.size:  # how far this input has run: its newest chunk's first frame (what comes of it follows)
            setattr(s, f"{port}_from", int(idx[0]))
            if gap and port == "in":
                s.gap_idx = np.append(s.gap_idx, idx[0])
        if port == "in":
            s.in_idx, s.in_t = np.concatenate([s.in_idx, idx]), np.concatenate([s.in_t, t])
            s.in_data = np.concatenate([s.in_data, d])
        else:
            s.mask_idx, s.mask_data = np.concatenate([s.mask_idx, idx]), np.concatenate([s.mask_data, d])

    def _mask(self, m: np.ndarray) -> np.ndarray:
        p = self.params
        if p.activation == "sigmoid":
            m = 0.5 * (1.0 + np.tanh(0.5 * m))  # the logistic function without overflow
        elif p.activation == "clip":
            m = np.clip(m, 0.0, 1.0)
        if p.min_gain is not None:
            m = np.maximum(m, m.dtype.type(p.min_gain))
        return np.tile(m, (1, self._tile)) if self._tile > 1 else m

    def _pair(self, final: bool, keep_later: bool = False) -> dict[str, Chunk]:
        """Emit the frames both inputs have; drop those that can no longer be paired (or waited too long).
        One contiguous run per call: at the end, the runs after it are dropped, or kept with `keep_later`."""
        s = self.state
        if final:
            bound = np.iinfo(np.int64).max
        elif s.in_idx.size and s.mask_idx.size:
            bound = int(min(s.in_idx[-1], s.mask_idx[-1]))  # every frame up to here is decided
        else:
            bound = -(2**62)
        # a stalled input: stop waiting for it once the other has run max_wait past, counted from the first frame of
        # that one's newest chunk (the partner made of the same source chunk comes after it: a replay in chunks
        # longer than max_wait dropped its frames as unmatched)
        newest = max([f for f in (s.in_from, s.mask_from) if f > -(2**61)] or [bound])
        bound = max(bound, newest - self._max_wait)
        di = int(np.searchsorted(s.in_idx, bound, side="right"))
        dm = int(np.searchsorted(s.mask_idx, bound, side="right"))
        common, ii, mi = np.intersect1d(s.in_idx[:di], s.mask_idx[:dm], assume_unique=True, return_indices=True)
        run, paired = common.size, common.size
        starts = np.isin(common[1:], s.gap_idx)  # a segment starts inside the run: it goes out in a chunk of its own
        if run > 1 and (breaks := np.flatnonzero((np.diff(common) != 1) | starts)).size:
            run = int(breaks[0]) + 1  # one chunk holds contiguous frames: emit the first run now
            if not final or keep_later:  # and keep what follows it for the next call
                di, dm, paired = int(ii[run]), int(mi[run]), run
            else:  # finish() returns one chunk: later runs are paired but cannot go out (finish_all emits them)
                self.count("after_break_at_end", paired - run)
        if di - paired:
            self.count("unmatched_in", di - paired)
        if dm - paired:
            self.count("unmatched_mask", dm - paired)
        out = {}
        if run:
            ii, mi = ii[:run], mi[:run]
            y = (s.in_data[ii] * self._mask(s.mask_data[mi])).astype(self._dtype, copy=False)
            if self._kind == "signal":
                y = np.ascontiguousarray(y.T).reshape(*self._shape, run)
            gap = bool(s.last_out > -(2**61) and (common[0] != s.last_out + 1 or common[0] in s.gap_idx))
            out["out"] = Chunk(y, float(s.in_t[ii[0]]), gap=gap)
            s.last_out = int(common[run - 1])
        if s.gap_idx.size:  # those passed (a segment start dropped unpaired: the next frame out is not contiguous)
            s.gap_idx = s.gap_idx[s.gap_idx > s.last_out]
        s.in_idx, s.in_t, s.in_data = s.in_idx[di:], s.in_t[di:], s.in_data[di:]
        s.mask_idx, s.mask_data = s.mask_idx[dm:], s.mask_data[dm:]
        return out

    def process(self, inputs):
        for port in ("in", "mask"):
            c = inputs.get(port)
            got = (
                None
                if c is None
                else self._frames(
                    c, self._w if port == "in" else self._mw, self._dtype if port == "in" else self._mdtype
                )
            )
            if got is not None:
                self._push(port, got, gap=bool(c is not None and c.gap))
        return self._pair(final=False)

    def finish(self):
        out = self._pair(final=True)
        self.reset()  # the stream is over: the next chunk starts a new one (its frames were all dropped as late)
        return out

    def load_state_dict(self, state):
        """As saved; a state saved before `in_from` / `mask_from` / `gap_idx` as if no chunk had come yet (the next sets
        them)."""
        super().load_state_dict(
            {"in_from": -(2**62), "mask_from": -(2**62), "gap_idx": np.zeros(0, np.int64)} | dict(state)
        )

    def finish_all(self):
        """Every paired run still held, one chunk each (the runtime calls this at end of stream)."""
        s, parts = self.state, []
        while s.in_idx.size or s.mask_idx.size:
            held = s.in_idx.size + s.mask_idx.size
            if out := self._pair(final=True, keep_later=True):
                parts.append(out)
            if s.in_idx.size + s.mask_idx.size == held:
                break
        self.reset()  # the stream is over: the next chunk starts a new one
        return parts


# --- align ------------------------------------------------------------------------------------------------


class AlignParams(NodeParams):
    delay: float | Literal["auto"] = Field(
        "auto", description="seconds to drop, or auto: the delay the input stream declares (none: the identity)"
    )


@dataclass
class AlignState:
    dropped: int = 0  # samples dropped so far (up to the delay)


class Align(Node[AlignParams]):
    """Drops a delayed stream's first `delay` seconds and stamps the rest that much earlier."""

    Params = AlignParams

    def configure(self, in_specs):
        spec = in_specs["in"]
        if spec.kind not in ("signal", "features", "tokens") or not 0 < spec.rate < math.inf:
            raise SpecError(
                f"align: input 'in' must be a signal, features or tokens stream with a rate, got {spec.describe()}",
                "connect a delayed signal (an enhancer's out) or frames (its vad), not events",
            )
        delay = spec.delay if self.params.delay == "auto" else self.params.delay
        if not 0 <= float(delay) < math.inf:  # a negative delay kept only the end of each chunk
            raise SpecError(f"align: delay {delay} s is not a finite number >= 0", "give delay: SECONDS (>= 0)")
        self._delay, self._rate = float(delay), float(spec.rate)
        self._steps = steps = self._delay * spec.rate
        if spec.kind == "signal":  # a signal stays on its sample grid (a WAV or FIF has no time stamps)
            self._d = self._steps = int(round(steps))
            if abs(self._d - steps) > 1e-6:
                lo, hi = math.floor(steps), math.ceil(steps)
                if self.params.delay == "auto":  # the user wrote no delay: say where it comes from and what to write
                    raise SpecError(
                        f"align: the delay the input declares ({delay:.6g} s, added by the fir, resample, istft or "
                        f"enhancer nodes before it) is {steps:.6g} samples at {spec.rate:g} Hz, not a whole number",
                        f"give the delay to drop: delay: {lo / spec.rate:.6g} ({lo} samples) or "
                        f"{hi / spec.rate:.6g} ({hi}), or change the fir's numtaps or the rates so that it is whole",
                    )
                raise SpecError(
                    f"align: a delay of {delay} s is not a whole number of samples at {spec.rate:g} Hz",
                    f"use a multiple of {1 / spec.rate:g} s",
                )
        else:  # frames: those stamped before the stream's start once `delay` earlier are dropped, the rest keep
            self._d = math.ceil(steps - 1e-6)  # the exact delay (a resampler's 0.625 ms is 1/16 of a 10 ms frame)
        self._axis = spec.time_axis
        self.latency_samples = 0
        self.reset()
        self.out_specs = {"out": spec.evolve(delay=max(0.0, spec.delay - self._delay))}
        return self.out_specs

    def new_state(self):
        return AlignState()

    def process(self, inputs):
        c = inputs["in"]
        if c.gap:  # a new segment: its delay is dropped again (the output kept the input's time base only up to a gap),
            self.state.dropped = 0  # also when the flag came on a chunk of no samples (it was ignored there)
        n = c.n_times(self._axis)
        if n == 0:
            return {}
        x = _fitted(self, c.data)
        skip = min(n, self._d - self.state.dropped)
        self.state.dropped += skip
        if skip == n:
            return {}
        data = x[..., skip:] if self._axis == -1 else x[skip:]
        return {"out": c.with_data(data, float(c.t0) + (skip - self._steps) / self._rate)}

    def finish(self):
        """Says so when the stream ended inside the delay: all of it was dropped (`delay: 1e20` gave an empty output,
        unsaid)."""
        if 0 < self.state.dropped < self._d:
            _log.warning(
                "align: the whole stream was dropped (%d %s, %.6g s): its delay of %.6g s is longer than the stream; "
                "fix: give the delay the stream's source adds (delay: auto takes the one it declares)",
                self.state.dropped,
                "samples" if self._axis == -1 else "frames",
                self.state.dropped / self._rate,
                self._delay,
            )
        self.reset()  # the stream is over: the next one's delay is dropped too (after an enhancer: its warm-up)
        return {}
