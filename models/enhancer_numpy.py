"""The enhancer's 10 ms frame step in numpy: what a live graph runs every frame on the CPU (models/enhancer.py).

A frame is ~150 tiny operations on vectors of 161 bins and a dozen small matrix products. On the CPU each torch op
costs a few microseconds of dispatch whatever its size (the traced TorchScript graph that ran the step until session
27: ~2.5 us per op, ~0.4 ms a frame), a numpy op under one: the same arithmetic in numpy takes about a third of the
time. `NumpyFrame` is `Enhancer._fast_frame` with the fused GLA step of enhancer_fast.py (`FastGLAStep`), written for
numpy arrays of any batch: the same formulas in the weights' dtype (float32; a float64 model has no fused step and
runs the torch step), so its output is the torch step's to float rounding (`numpy_frame` checks it against
`_fast_frame` when it builds it and is not used if they differ). The state is the model's own dict of CPU tensors,
read and written in place through numpy views of them (`state_views`). Since session 35 the parts where numpy's
per-call cost dominated (the GLA blocks, the head, the tone feature, the adaptive mask, the deep filter's taps, the
pitch search) are compiled calls (enhancer_jit.py): ~0.75x the frame's time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from numba.core.errors import NumbaError  # a config the compiled parts cannot type: the torch step
from scipy.special import expit

from .enhancer_features import _UNSUBNORMAL, EMPTY_BIN
from .enhancer_gain import LEVEL_FLOOR, smoothing
from .enhancer_jit import adaptive_mask, deep_filter, gla_block, head, tone_step
from .enhancer_pitch import pitch_feature_np, pitch_frame_np

if TYPE_CHECKING:
    from .enhancer import Enhancer
    from .enhancer_fast import FastGLAStep


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _complex(real: np.ndarray) -> np.ndarray:
    """A complex view of (..., 2) real/imaginary pairs (contiguous float32 or float64): no copy."""
    return real.view(np.complex64 if real.dtype == np.float32 else np.complex128)[..., 0]


# The smallest normal number of each complex dtype's parts: z / max(|z|, it) is z / |z| for every z with no subnormal
# part (the caller scales by _UNSUBNORMAL first) and 0 at 0 (enhancer_jit.tone_step's unit phase step).
_TINY = {np.dtype(c): np.finfo(f).tiny for c, f in ((np.complex64, np.float32), (np.complex128, np.float64))}


class NumpyFrame:
    """`Enhancer._fast_frame` for one block x (B, hop) of samples -> (B, 1, hop + 1): the enhanced block and the
    speech probability. `state` maps the model's state keys to numpy views of its tensors (B leading); updated in place.
    Supports what `_fast_frame` does (n_fft = 2 hop, no front, a GLA core: `fast_step` gives its fused step)."""

    def __init__(self, model: Enhancer, fast: FastGLAStep):
        cfg = self.cfg = model.cfg
        self.torch_dtype = model.head.weight.dtype
        self.dtype = np.dtype(str(self.torch_dtype).removeprefix("torch."))
        self.dft64, self.idft = _np(model.dft64), _np(model.idft)  # the analysis in float64, as `analyze`
        self.pitch_dft = self.dft64[:, : 2 * cfg.df_bins].copy()  # the pitch input's bins: the deep-filtered ones
        curve = getattr(model, "gate_curve", None)
        self.curve = None if curve is None or not cfg.gate_blocks else _np(curve)
        self.in_proj = None if fast.in_proj is None else tuple(_np(t) for t in fast.in_proj)
        self.head = tuple(_np(t) for t in fast.head)
        self.eps, self.inv_gnorm = fast.eps, fast.inv_gnorm
        self.layers = []  # per GLA block: its state key, (q, k, v, g, r) widths, o_norm's eps, its matrices
        for key, ((_, _, _, o_eps), w, sizes, (g_w, g_b), o_w, mlp_w, down_w) in zip(fast.keys, fast.layers):
            mats = (_np(w), _np(g_w), _np(g_b), _np(o_w), _np(mlp_w), _np(down_w))
            self.layers.append((key, tuple(int(n) for n in sizes), float(o_eps), *mats))

    def __call__(self, x: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
        cfg, B, H, nb = self.cfg, x.shape[0], self.cfg.hop, self.cfg.n_bins
        sig = np.concatenate([state["prev"], x], 1)  # (B, n_fft)
        spec = (sig.astype(np.float64) @ self.dft64).astype(sig.dtype)  # (B, bins * 2): real, imaginary interleaved
        X = _complex(spec.reshape(B, nb, 2))
        power = spec * spec
        power = power[:, 0::2] + power[:, 1::2]
        parts = [(power + 1e-10) ** (cfg.compress / 2)]
        hist = state.get("dfhist")
        frames = None if hist is None else np.concatenate([_complex(hist), X[:, None, : cfg.df_bins]], 1)
        tonehist = state.get("tonehist")
        if tonehist is not None:
            empty = power < power.sum(-1, keepdims=True) * EMPTY_BIN  # `nonempty`: those bins' phase is rounding
            parts.extend(self._tone(np.where(empty, 0, X) if empty.any() else X, tonehist, frames is not None))
        elif frames is not None:
            parts.append(self._advance(frames[:, -1] * frames[:, -2].conj()))
        onsetref = state.get("onsetref")
        if onsetref is not None:
            mag, ref = parts[0], onsetref[:, 0]
            d = mag - ref
            parts.append(d / (mag + ref))
            ref += d * (1.0 / cfg.onset_frames)
        if cfg.impulse_blocks:
            e = sig.reshape(B, cfg.impulse_blocks, -1)
            e = (e * e).sum(-1)
            parts.append(e / (e.sum(-1, keepdims=True) + 1e-10))
        P = None
        if cfg.pitch_lag:  # enhancer_pitch.py
            L, df = cfg.pitch_lag, cfg.df_bins
            ext = np.concatenate([state["pitchprev"], sig], 1)  # (B, L + n_fft)
            Pr, r = pitch_frame_np(ext, cfg.n_fft, L, cfg.pitch_min_lag, self.pitch_dft)
            parts.append(pitch_feature_np(spec[:, : 2 * df], power[:, :df], Pr, r))
            P = _complex(Pr.reshape(B, df, 2))
            state["pitchprev"][...] = ext[:, H : H + L]
        logits = self._core(np.concatenate(parts, -1) if len(parts) > 1 else parts[0], state)
        Y, speech = self._filter(X, logits, frames, state.get("level"), power, P)
        if hist is not None and frames is not None:
            hist[...] = frames[:, -cfg.df_history :, :, None].view(hist.dtype)
        seg = self._synthesize(Y.view(spec.dtype).reshape(B, 2 * nb), logits)
        y = np.concatenate([seg[:, :H] + state["tail"], speech], 1)[:, None]
        state["prev"][...] = sig[:, H:]
        state["tail"][...] = seg[:, H:]
        return y

    def _advance(self, p: np.ndarray) -> np.ndarray:
        """compressed_advance: p (B, df) complex -> (B, 2 df) real/imaginary interleaved, |p|^(compress / 2) long."""
        z = p.view(self.dtype).reshape(p.shape[0], -1, 2)
        z = z * ((z * z).sum(-1, keepdims=True) + 1e-20) ** ((self.cfg.compress / 2 - 1) / 2)
        return z.reshape(p.shape[0], -1)

    def _tone(self, X: np.ndarray, tonehist: np.ndarray, deep: bool) -> list[np.ndarray]:
        """steadiness (T = 1), and the deep filter's phase feature from its phase advance; tonehist updated."""
        h = _complex(tonehist)
        adv, steady = tone_step(X, h, _UNSUBNORMAL, _TINY[h.dtype], self.cfg.df_bins if deep else 0, self.cfg.compress)
        return [adv, steady] if deep else [steady]

    def _core(self, f: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
        """FastGLAStep: the GLA blocks (their states S updated in place) and the head -> logits (B, outputs), each
        block and the head one compiled call (enhancer_jit.py)."""
        h = f if self.in_proj is None else f @ self.in_proj[0] + self.in_proj[1]
        for key, sizes, o_eps, w, g_w, g_b, o_w, mlp_w, down_w in self.layers:
            h = gla_block(h, state[key], w, g_w, g_b, o_w, mlp_w, down_w, sizes, o_eps, self.eps, self.inv_gnorm)
        return head(h, self.head[0], self.head[1], self.eps)

    def _filter(self, X, logits, frames, level, power, P=None) -> tuple[np.ndarray, np.ndarray]:
        """Enhancer._filter for one frame: the filtered spectrum (B, bins) complex and the speech probability (B, 1);
        the level state updated in place. P: the deep-filtered bins one pitch period back (B, df_bins) complex."""
        cfg, nb = self.cfg, self.cfg.n_bins
        out = expit(logits[:, : nb + 1])
        speech, m = out[:, nb:], out[:, :nb]
        if cfg.snr_adapt and level is not None:
            m = self._adaptive(m, power, level)
        elif cfg.mask_floor:
            m = m * (1 - cfg.mask_floor) + cfg.mask_floor
        Y = X * m
        if frames is not None:  # the deep filter's taps on the last df_order frames, and on P (enhancer_jit.py)
            off = -1 if P is None else cfg.pitch_offset
            deep_filter(Y, logits, frames, frames[:, 0] if P is None else P, nb, cfg.df_order, off)
        return Y, speech

    def _adaptive(self, m: np.ndarray, power: np.ndarray, level: np.ndarray) -> np.ndarray:
        """adaptive_mask (enhancer_gain.py) for one frame; level (B, 2) updated in place."""
        cfg = self.cfg
        weight = 1 - smoothing(cfg)  # the settings are read at every frame: a user may change them in place
        post = float(cfg.low_snr_postfilter)
        span = cfg.low_snr_floor - cfg.mask_floor if not post else 1.0
        k = 10.0 / (cfg.snr_high - cfg.snr_low) * span
        start = cfg.snr_high / (cfg.snr_high - cfg.snr_low) * span + (cfg.mask_floor if not post else 0)
        lo, hi = sorted((cfg.mask_floor, cfg.low_snr_floor) if not post else (0.0, 1.0))
        post_span = cfg.low_snr_floor - cfg.mask_floor
        # floats whatever the config holds (an int set in place would compile another version mid-stream)
        args = [float(a) for a in (weight, post, k, start, lo, hi, post_span, cfg.mask_floor, LEVEL_FLOOR)]
        return adaptive_mask(m, power, level, int(cfg.snr_from_bin), *args)

    def _synthesize(self, out: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """synthesize (enhancer_gate.py): the frame's samples (B, n_fft), window and time gate applied."""
        cfg, curve = self.cfg, self.curve
        if curve is None:
            return out @ self.idft
        off, gb = cfg.gate_offset, cfg.gate_blocks
        if not cfg.gate_split:
            return (out @ self.idft) * (np.tanh(logits[:, off : off + gb] * 0.5) @ curve + 1)
        k = 2 * cfg.gate_split
        g = np.tanh(logits[:, off : off + 2 * gb].reshape(-1, 2, gb) * 0.5) @ curve + 1  # (B, 2, n_fft)
        return (out[:, :k] @ self.idft[:k]) * g[:, 0] + (out[:, k:] @ self.idft[k:]) * g[:, 1]


def state_views(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, np.ndarray] | None:
    """numpy views of the state's tensors for NumpyFrame to write in place, or None where writing them in place would
    not do what the torch step does (it puts new tensors in the state for every entry but the core's): an entry of
    another dtype or strided (expanded), one that autograd tracks (numpy's writes do not bump its version: a gradient
    through it came out silently wrong), or entries that share memory (the same tensor given twice: the numpy frame
    wrote one entry into the other)."""
    views, spans = {}, []
    for k, v in state.items():
        if v.dtype != dtype or v.requires_grad or not v.is_contiguous():
            return None
        views[k] = v.numpy()
        spans.append((v.data_ptr(), v.nbytes))
    spans.sort()
    end = 0
    for start, size in spans:
        if start < end and size:
            return None
        end = max(end, start + size)
    return views


def _close(got: np.ndarray, ref: np.ndarray, atol: float, rtol: float) -> bool:
    """got == ref to float rounding, relative to the tensor's largest value: each element of a sum of many terms
    (the GLA state S, up to ~100 where an element near 0 sits beside it) is off by the rounding of its terms, which
    another BLAS kernel orders differently. An element-wise tolerance refused the shipped model's numpy frame on an
    AMD EPYC VM (|dS| 3e-5 at |S| <= 122), so its live step ran torch's, 1.6x slower."""
    return bool(np.abs(got - ref).max(initial=0.0) <= atol + rtol * np.abs(ref).max(initial=0.0))


def numpy_frame(model: Enhancer, fast: FastGLAStep) -> NumpyFrame | None:
    """The model's NumpyFrame (built with the fused step, so rebuilt when a parameter changes), or None if its
    output or state differs from `_fast_frame`'s on a check run or it cannot be built. Inference on the CPU only."""
    key = model.__dict__.get("_fast_key")
    if "_numpy" not in model.__dict__ or model.__dict__.get("_numpy_key") != key:
        frame = None
        try:
            frame = NumpyFrame(model, fast)
            dtype, cpu = model.head.weight.dtype, torch.device("cpu")
            g = torch.Generator().manual_seed(0)
            for batch in (1, 2):  # a live frame's one row, and rows
                s1, s2 = model.init_state(batch, cpu, dtype), model.init_state(batch, cpu, dtype)
                views = {k: v.numpy() for k, v in s2.items()}
                for _ in range(4):
                    x = (0.1 * torch.randn(batch, model.cfg.hop, generator=g)).to(dtype)
                    y1, s1 = model._fast_frame(x, s1, fast)
                    y2 = frame(x.numpy(), views)
                    # rtol 1e-4 as for the state: with the pitch input and a split gate, two rows of 0.1-scale noise put
                    # the output 2.9e-5 of its largest value off the torch step's on an AMD EPYC VM (the order of
                    # float32 sums); a port's mistake is off by 1e-2 and more
                    same = [_close(y2, y1.numpy(), 1e-6, 1e-4)]
                    same += [_close(v, s1[k].numpy(), 1e-5, 1e-4) for k, v in views.items()]
                    if not all(same):
                        frame = None
                        break
                if frame is None:
                    break
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RuntimeError, NumbaError):
            frame = None  # a model the port does not cover: the torch step
        model.__dict__["_numpy"], model.__dict__["_numpy_key"] = frame, key
    return model.__dict__["_numpy"]
