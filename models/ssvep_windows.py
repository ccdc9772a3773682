"""Calibration windows and training-time augmentation of the SSVEP DNN (models/ssvep_dnn.py, whose module docstring
states them as deviations from the paper): stimulus-locked windows, background residuals, and the augmenter `fit`
takes (latency jitter, mixup, added background, channel drop).
"""

from __future__ import annotations

import numpy as np
import torch


def background_residuals(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each window minus the mean of its class's windows (n, ...): what the calibration holds besides the
    stimulus-locked response, i.e. mostly the background EEG (and each trial's jitter about the mean)."""
    x = np.asarray(x, dtype=np.float32)
    out = np.empty_like(x)
    for k in np.unique(y):
        sel = y == k
        out[sel] = x[sel] - x[sel].mean(axis=0, keepdims=True)
    return out


def _augmenter(
    x: np.ndarray,
    y: np.ndarray,
    noise: float,
    chan_drop: float,
    mixup: float = 0.0,
    jitter: int = 0,
    jitter_from: int = 0,
):
    """augment(batch, idx, gen) for `fit`: each window cut d ~ U{-jitter..jitter} samples off the centre of its
    wider stored window (jitter > 0; from the `jitter_from`-th call, i.e. optimiser step, on: before, at the
    centre, with nothing drawn), mixed with a window of the same class (weight U(0, mixup)), background of
    other windows added (scaled by U(0, noise) relative to the window's own RMS over the residual's), then
    channels dropped; draws from `gen` only (partners for mixup and noise are cut at the centre)."""
    x = np.asarray(x, dtype=np.float32)
    n_out = x.shape[-1] - 2 * jitter
    centre = x[..., jitter : jitter + n_out]
    res = torch.as_tensor(background_residuals(centre, y)) if noise > 0 else None
    xt = torch.as_tensor(centre)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    by_class = torch.argsort(yt, stable=True)  # window indices grouped by class
    counts = torch.bincount(yt)
    first = torch.cumsum(counts, 0) - counts
    calls = [0]

    def augment(xb: torch.Tensor, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = len(xb)
        step, calls[0] = calls[0], calls[0] + 1
        if 0 < jitter and step < jitter_from:
            xb = xb[..., jitter : jitter + n_out]
        elif jitter > 0:
            d = torch.randint(0, 2 * jitter + 1, (n, 1), generator=gen)  # window start: d - jitter off the centre
            cut = (d + torch.arange(n_out)).view(n, 1, 1, n_out).expand(n, *xb.shape[1:3], n_out)
            xb = torch.gather(xb, -1, cut)
        if mixup > 0:
            k = yt[idx]
            pick = first[k] + (torch.rand(n, generator=gen) * counts[k]).long().clamp(max=counts[k] - 1)
            a = torch.rand((n, 1, 1, 1), generator=gen) * mixup
            xb = (1 - a) * xb + a * xt[by_class[pick]]
        if res is not None:
            other = res[torch.randint(0, len(res), (n,), generator=gen)]
            scale = xb.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt() / (
                other.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt() + 1e-20
            )
            xb = xb + other * scale * noise * torch.rand((n, 1, 1, 1), generator=gen)
        if chan_drop > 0:
            keep = (torch.rand((n, 1, xb.shape[2], 1), generator=gen) >= chan_drop).to(xb.dtype)
            xb = xb * keep
        return xb

    return augment


def stimulus_locked_windows(
    trials: np.ndarray,
    labels: np.ndarray,
    freqs,
    rate: float,
    start: int,
    n_samples: int,
    max_shifts: int,
    stops=None,
    margin: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibration windows that all hold the stimulus phase of the first one (augmentation, stated).

    From each trial (..., T) with label k: windows of `n_samples` starting at ``start + round(j * rate /
    freqs[k])`` for j = 0 .. max_shifts, i.e. whole periods of the trial's own stimulus frequency later, so
    every window sees the same stimulus phase at every harmonic (up to half a sample of rounding) over new
    background; only windows ending by the trial's end (or ``stops[i]``, e.g. its marker's end) are kept.
    Returns windows (N, ..., n_samples), labels (N,) and the trial index of each (N,); j = 0 is the window
    the decoder decides on live. A longer stimulation in calibration thus gives the DNN more examples
    of each class's phase template (the paper cuts one window per trial). margin: each window is cut
    `margin` samples wider on both sides (n_samples + 2 margin; for ``fine_tune(latency_jitter=margin)``)
    and kept only if that wider window lies within the trial."""
    xs, ys, idx = [], [], []
    for i, (x, k) in enumerate(zip(trials, labels)):
        stop = x.shape[-1] if stops is None else min(int(stops[i]), x.shape[-1])
        for j in range(max_shifts + 1):
            a = start + int(round(j * rate / float(freqs[int(k)]))) - margin
            if a < 0:
                continue
            if a + n_samples + 2 * margin > stop:
                break
            xs.append(x[..., a : a + n_samples + 2 * margin])
            ys.append(int(k))
            idx.append(i)
    if not xs:
        empty = np.zeros((0, *trials.shape[1:-1], n_samples + 2 * margin))
        return empty, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.stack(xs), np.asarray(ys, dtype=np.int64), np.asarray(idx, dtype=np.int64)
