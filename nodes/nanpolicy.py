"""The one NaN/Inf policy shared by every stateful processing node, plus small signal-node helpers.

Every processing node with state takes a `nan_policy` parameter:

* ``zero`` (default): non-finite samples are replaced by 0 before they reach the node's state; each
  replaced sample is counted in ``node.counters["nan_zeroed"]``.
* ``propagate``: the node computes with those samples zeroed (so its state is never poisoned) and then
  writes NaN back at the output positions that correspond to them; counted in ``"nan_propagated"``.
  Which output positions correspond is node-specific and documented in docs/nodes.md (same sample for
  IIR filters, the sample `latency` later for FIR filters, the nearest output sample for resampling,
  every frame that contains the sample for windowed nodes).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

NanPolicy = Literal["zero", "propagate"]
NAN_POLICY_HELP = "non-finite samples: zero = replace by 0 (counted nan_zeroed); propagate = NaN at the matching outputs, state kept clean (nan_propagated)"


def sanitize(node, x: np.ndarray, policy: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply the NaN policy to one chunk's data.

    Returns (data safe to feed to the state, mask of the non-finite positions or None). The mask is only
    returned under ``propagate``; ``x`` is returned unchanged (no copy) when everything is finite.
    """
    if all_finite(x):
        return x, None
    bad = ~np.isfinite(x)
    n = int(np.count_nonzero(bad))
    if n == 0:
        return x, None
    x = np.where(bad, np.zeros((), dtype=x.dtype), x)
    if policy == "zero":
        node.count("nan_zeroed", n)
        return x, None
    node.count("nan_propagated", n)
    return x, bad


def all_finite(x: np.ndarray) -> bool:
    """True when every element of a float array is finite. Fast path, one reduction: a finite sum of squares means
    every element is finite; an overflow from huge finite values only sends us to the exact check. Real arrays use
    np.vdot (BLAS, ~0.65 us on 64 x 16), which raises no floating-point warning on overflow: `with np.errstate`
    around ndarray.dot costs ~1.1 us more per call, and this runs once or twice per chunk per node. Other dtypes
    (complex frames) a plain sum, with huge values' warnings silenced."""
    if x.dtype.kind == "f":
        # (aligned only: a frame decoded off the wire may not be, and OpenBLAS's oldest kernels crash on it)
        if x.flags.aligned and math.isfinite(np.vdot(x, x)):
            return True
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.add.reduce(x, axis=None)):
                return True
    return bool(np.isfinite(x).all())


def as_float32(data) -> np.ndarray:
    """An array as float32 for a float32 model, before `sanitize`: a finite value beyond float32's range
    becomes inf here, so the NaN policy counts and zeroes it instead of letting it poison the model's state."""
    with np.errstate(over="ignore"):
        return np.asarray(data, dtype=np.float32)


def delay_mask(
    pending: np.ndarray, mask: np.ndarray | None, n: int, delay: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """Delay a boolean NaN mask by `delay` samples along the last axis (for nodes with latency).

    pending: (..., k) positions not output yet (k = 0: none). Returns (the mask of the n samples output now, or
    None when there is no NaN among them; the new pending mask). Cheap when nothing is pending.
    """
    if delay == 0 or (mask is None and pending.shape[-1] == 0):
        return mask, pending
    lead = pending.shape[:-1]
    m = mask if mask is not None else np.zeros((*lead, n), dtype=bool)
    buf = pending if pending.shape[-1] else np.zeros((*lead, delay), dtype=bool)
    ext = np.concatenate([buf, m], axis=-1)
    out, rest = ext[..., :n], ext[..., n:]
    return (out if out.any() else None), (rest.copy() if rest.any() else np.zeros((*lead, 0), dtype=bool))


# --- helpers shared by signal nodes -------------------------------------------------------------------


def signal_input(node, in_specs: dict[str, StreamSpec], channels: bool = True) -> StreamSpec:
    """The 'in' spec, checked to be a signal with a positive, finite rate (and, unless `channels` is False: the node
    says it itself, at least one channel)."""
    spec = node.require_input(in_specs, "in", "signal")
    if not (0 < spec.rate < math.inf):  # also refuses NaN
        raise SpecError(
            f"{node.type_name or type(node).__name__} needs a regular signal, got rate {spec.rate}",
            "connect a signal stream with a sampling rate",
        )
    # no channel: fir failed mid-stream ("Cannot apply_along_axis ..."), car and mix with a ZeroDivisionError
    if channels and 0 in spec.shape:
        raise SpecError(
            f"{node.type_name or type(node).__name__}: the input signal has no channel (shape {spec.shape})",
            "connect a signal of one or more channels (a rereference to a stream's only channel leaves none)",
        )
    return spec


def float_dtype(spec: StreamSpec) -> np.dtype:
    """Working dtype: float32/float64 kept, anything else computed in float64; complex is refused (the cast
    to float would silently drop the imaginary part)."""
    dt = np.dtype(spec.dtype)
    if dt.kind == "c":
        raise SpecError(
            f"this node needs a real-valued signal, got {dt.name}", "take the magnitude or the real part upstream"
        )
    return dt if dt in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float64)


MAX_STATE_BYTES = 1 << 30  # a node's window buffer: a window given in samples where seconds are asked


def check_window_size(what: str, samples: int, signals: int, itemsize: int, rate: float) -> None:
    """SpecError when a window of `samples` x `signals` would need more than 1 GiB of state. `window: 100000` (meant
    as samples, read as seconds) asked numpy for 95 GiB at configure, or grew a buffer sample by sample until the
    machine ran out of memory, and the error called it a bug in the node."""
    need = samples * signals * itemsize
    if need > MAX_STATE_BYTES:
        raise SpecError(
            f"{what} of {samples} samples ({samples / rate:g} s at {rate:g} Hz) x {signals} channels needs "
            f"{need / 2**30:.3g} GiB of state; at most 1 GiB",
            f"a window of at most {MAX_STATE_BYTES // max(1, signals * itemsize) / rate:g} s here",
        )


def check_nyquist(what: str, freq: float, rate: float, param: str | None = None) -> None:
    """SpecError when a frequency is not strictly between 0 and the Nyquist frequency; `param`, the parameter that
    gives it, so that the graph says it at that parameter's line (was the edge's: the fuzzed `l_freq: -1`)."""
    nyq = rate / 2.0
    if not 0.0 < freq < nyq:
        raise SpecError(
            f"{what} {freq:g} Hz is outside (0, Nyquist={nyq:g} Hz) for a {rate:g} Hz stream",
            f"choose {what} between 0 and {nyq:g} Hz, or resample the stream to a higher rate first",
            param=param,
        )


def chunk_data(chunk, lead: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """The chunk's data as `dtype`, or None for an empty chunk (e.g. a bare end-of-stream marker).

    The shape must be the configured one, (*lead, samples): the compiled kernels the nodes call index
    their state without bounds checks, so a chunk with the wrong channel count must not reach them.
    """
    x = getattr(chunk, "data", None) if isinstance(chunk, Chunk) else None
    if not isinstance(x, np.ndarray):  # {"in": x} (an array: its .data is a memoryview) or Chunk([[...]]), by hand:
        raise TypeError(  # was "'memoryview' object has no attribute 'dtype'" or "'list' object has no attribute ..."
            f"an input chunk must be a Chunk of a numpy array, got {type(chunk).__name__}"
            + (f" of {type(x).__name__}" if isinstance(chunk, Chunk) else "")
            + "; pass {'in': Chunk(np.asarray(x), t0=seconds)} (from wavegraph.pipeline.chunk import Chunk)"
        )
    if x.shape[:-1] != lead or x.ndim == 0:
        if x.size == 0:
            return None
        raise ValueError(f"chunk has shape {x.shape}, expected {(*lead, 'n_samples')} as configured (time last)")
    if x.shape[-1] == 0:
        return None
    if x.dtype != dtype:
        refuse_complex(x, dtype)
        x = x.astype(dtype)
    return x


def refuse_complex(x: np.ndarray, dtype: np.dtype) -> None:
    """ValueError for complex chunk data where a node computes in a real dtype: by hand (the runtime drops a chunk whose
    dtype is not its edge's) the cast kept the real part with numpy's ComplexWarning only, and the node went on with it
    as if it were the signal (configure refuses a complex stream for the same reason: float_dtype)."""
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        raise ValueError(
            f"chunk holds complex samples ({x.dtype}), this node computes in {np.dtype(dtype).name}: the cast would drop "
            "the imaginary part; nothing of it was kept (take the magnitude or the real part first: magnitude or "
            "complex_to_real upstream, np.abs(x) or x.real by hand)"
        )


RETIME_S = 1e-6  # a chunk t0 this far off first t0 + samples / rate is the stream's own clock, not rounding


def off_grid(expected: float, t0: float) -> bool:
    """True when a chunk's t0 is more than RETIME_S from the time its stream's grid gives it: its chunk times
    follow the stream's own clock (a live inlet's drift), so a node stamping from a first t0 re-anchors."""
    return abs(expected - t0) > RETIME_S


def first_time(t_first: float | None, t0: float, consumed_s: float) -> float:
    """A stream's first-sample time: t_first once known; while it is not (None, or NaN because every chunk so
    far came without a time), this chunk's t0 less the seconds already taken in (NaN again if this chunk has
    no time either). So a first chunk without a time does not leave every later output time NaN."""
    if t_first is not None and math.isfinite(t_first):
        return t_first
    return float(t0) - consumed_s


def stream_start(t_first: float | None, chunk, consumed_s: float) -> float:
    """The time of a stream's first sample: the first chunk's t0; after a gap, re-anchored so that this chunk
    keeps its own t0 (`consumed_s`: seconds of stream the node has already taken in). Also re-anchored when
    the chunk's t0 is more than RETIME_S off t_first + consumed_s: a live stream whose chunk times follow
    its clock (lsl_inlet: an amplifier's drift against the nominal rate), so the output follows it too."""
    t0 = float(chunk.t0)
    if t_first is None or not math.isfinite(t_first):  # none yet, or only chunks without a time so far
        return t0 - consumed_s
    if chunk.gap or off_grid(t_first + consumed_s, t0):
        return t0 - consumed_s
    return t_first
