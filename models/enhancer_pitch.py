"""The enhancer's pitch input (`EnhancerConfig.pitch_lag`): the signal one pitch period back, per frame.

Under a key stroke or a click a 10 ms frame holds voice and noise in the same bins, and the frame's own spectrum and
its recent past cannot tell one from the other. A voiced frame repeats itself one pitch period earlier; a stroke does
not. RNNoise gives its network this (a pitch filter and a per-band pitch correlation); this is the same idea for ours:

- per frame, the lag L in pitch_min_lag..pitch_lag samples (at 16 kHz 32..256: 62.5-500 Hz) whose earlier window
  correlates best with the frame, by normalized correlation r(L) = <x, x_L> / (|x| |x_L|) over the frame's n_fft
  samples (unwindowed); among the lags within TIE (1e-4) of the best, the longest (the smallest j = pitch_lag - L);
- P, the spectrum (the model's analysis window) of the frame's samples L earlier, on the deep-filtered bins;
- the feature: per deep-filtered bin Re(X P*) / max(|X|^2, |P|^2) (near 1 where the bin repeats, near 0 or below
  where it does not; it does not depend on the level), then r(L) itself: df_bins + 1 core inputs;
- the deep filter gets one more complex tap per bin, on P (2 df_bins head outputs, after the time gate's).

The pitch_lag samples before the oldest sample a frame needs are the state "pitchprev". The correlation is computed
with an FFT here (training: a batch of frames at once) and directly in the numpy frame step (np.correlate), both in
float64, as are the lagged windows' spectra (models/enhancer_features.py `analyze`): their r differ in rounding only
(~1e-15), so the chosen lag can differ only where some lag's r lies within that of the best's minus TIE; the output
there differs by the tap on P for that frame. In float32 the two r differed by up to 3.3e-7, and a real noisy
recording (brown noise, 0 dB) took another lag in 4 of 1,360 frames: outputs 1.5e-4 apart.
"""

from __future__ import annotations

import numpy as np
import torch

from .enhancer_jit import pitch_pick

# A window's energy is taken as at least this share of its segment's (100 dB under it): the float64 running sums'
# differences resolve no less (nor did the float32 correlation of sessions 30-31). A click at int16 scale then, 12 ms on, a voice ~150 dB
# under it (under one LSB): the frame's energy was lost in the sums' rounding (~0) and r(L) came out 8e6, both paths.
ENERGY_FLOOR = 1e-10
# The lag chosen is the longest whose r is within TIE of the best (j = pitch_lag - lag: the smallest j). The FFT and
# np.correlate r differ by rounding (in float32, as they were summed until session 32, <= 3.3e-7 measured on voices
# at 1e-3..1, noise at int16 scale, square waves; in float64 ~1e-15), so
# a bare argmax over lags that tie (a silent frame after a click: r = 0 at every lag, the FFT's rounding noise against
# np.correlate's exact 0; clicks 257 samples apart: 0 at every lag; a square wave whose period divides several lags)
# chose another lag in the whole-file run than in 10 ms steps, and the deep filter's tap on P added a different
# earlier window (a lone click's echo in one run only: 1.6e-3 apart, its peak 4.8e-3; clicks 257 apart 0.027, the vad
# 0.36; a 200 Hz square wave 0.05). TIE is well above that rounding and above the spread of a steady voice's r at
# its period's multiples (~1e-5, where a TIE of 2e-6 still split a synthetic voice from the same voice 40 dB louder):
# such a voice takes its longest multiple of the period. On 10 s of real speech (the speech cache's en_US clips) in
# noise the node's output moved 0.12% RMS from the bare argmax's (12.8657 -> 12.8650 dB SNR), clean 0.16%.
TIE = 1e-4


def _window_energies(seg: torch.Tensor, W: int, J: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Energies of seg[..., j : j + W] for j < J and of the frame (the last W samples) of a float64 seg, by running
    sums (a difference of float32 ones loses a quiet window after a loud one), floored at ENERGY_FLOOR times the
    segment's (a float64 one loses it too, further under)."""
    sq = torch.nn.functional.pad(seg.square().cumsum(-1), (1, 0))
    floor = sq[..., -1:] * ENERGY_FLOOR
    e, ef = sq[..., W : W + J] - sq[..., :J], sq[..., -1:] - sq[..., -W - 1 : -W]
    return e.clamp_min(floor), ef.clamp_min(floor)


def pitch_frames(ext: torch.Tensor, W: int, H: int, L: int, lmin: int, dft: torch.Tensor):
    """ext (B, L + W - H + T H): the samples of T frames of W samples every H, with the L samples before the first ->
    the spectra of each frame's samples one pitch period earlier (B, T, bins, 2), bins = dft's columns / 2, and the
    normalized correlation at that lag (B, T, 1), in ext's dtype (computed in float64). dft: the analysis matrix's
    columns of those bins (pass them in float64: the model's dft64)."""
    seg = ext.double().unfold(1, W + L, H)  # (B, T, W + L): the frame is seg[..., L:]
    frame = seg[..., L:]
    n = 1 << (2 * W + L).bit_length()
    J = L - lmin + 1  # j = L - lag
    corr = torch.fft.irfft(torch.fft.rfft(seg, n) * torch.fft.rfft(frame, n).conj(), n)[..., :J]
    e, ef = _window_energies(seg, W, J)
    r = corr / torch.sqrt(e * ef + 1e-9)
    j = (r >= r.amax(-1, keepdim=True) - TIE).to(r.dtype).argmax(-1, keepdim=True)  # the first within TIE of the best
    lagged = seg.gather(-1, j + torch.arange(W, device=ext.device))
    P = (lagged @ dft.double()).to(ext.dtype)
    return P.unflatten(-1, (dft.shape[1] // 2, 2)), r.gather(-1, j).to(ext.dtype)


def pitch_feature(spec: torch.Tensor, pspec: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
    """Re(X P*) / max(|X|^2, |P|^2) per bin of spec (B, T, bins, 2) and pspec (same shape), then corr (B, T, 1)."""
    xr, xi = spec.unbind(-1)
    pr, pi = pspec.unbind(-1)
    den = torch.maximum(xr * xr + xi * xi, pr * pr + pi * pi) + 1e-10
    return torch.cat([(xr * pr + xi * pi) / den, corr], -1)


def pitch_frame_np(ext: np.ndarray, W: int, L: int, lmin: int, dft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`pitch_frames` for one frame per row: ext (B, L + W) -> P (B, bins * 2, interleaved) and r (B, 1) in ext's
    dtype, computed in float64 (pass dft in float64). A frame's step runs this every 10 ms: np.correlate per row, the
    rest one compiled call (enhancer_jit.pitch_pick)."""
    J = L - lmin + 1
    x = ext.astype(np.float64)
    corr = np.stack([np.correlate(row[: W + J - 1], row[L:], "valid") for row in x])
    lagged, best = pitch_pick(x, corr, W, ENERGY_FLOOR, TIE)
    return (lagged @ dft.astype(np.float64, copy=False)).astype(ext.dtype), best[:, None].astype(ext.dtype)


def pitch_feature_np(spec: np.ndarray, power: np.ndarray, P: np.ndarray, r: np.ndarray) -> np.ndarray:
    """`pitch_feature` for one frame: spec and P (B, bins * 2) real/imaginary interleaved, power |X|^2 (B, bins), r
    (B, 1) -> (B, bins + 1)."""
    xp, pp = spec * P, P * P
    num, den = xp[:, 0::2] + xp[:, 1::2], pp[:, 0::2] + pp[:, 1::2]
    return np.concatenate([num / (np.maximum(power, den) + 1e-10), r], 1)
