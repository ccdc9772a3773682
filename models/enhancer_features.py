"""The enhancer's analysis and input features (models/enhancer.py builds its core input from these).

Per 10 ms frame t, from the frame's spectrum X_t (bins, real/imaginary):
    magnitude   (|X_t|^2 + eps)^(compress / 2)                                  every bin
    phase       X_t conj(X_t-1) compressed to |X_t X_t-1|^(compress / 2)      the deep-filtered bins only
    steadiness  |mean over the last `tone_frames` frames of u_t|, u_t = v_t conj(v_t-1), v_t = p_t / |p_t|,
                p_t = X_t conj(X_t-1)                                          every bin (optional, tone_frames > 0)
    onset       (f_t - a_t-1) / (f_t + a_t-1), f the compressed magnitude above, a its running average
                a_t = a_t-1 + (f_t - a_t-1) / onset_frames                     every bin (optional, onset_frames > 0)
    impulse     e_i / sum_j e_j, e_i the energy of block i of the frame's samples (unwindowed; impulse_blocks blocks
                of n_fft / impulse_blocks samples)                              per frame (optional, impulse_blocks > 0)
The steadiness is the tone-aware feature: v_t is the bin's phase advance per hop as a unit phasor (the bin's exact
frequency), u_t its change from the frame before. A stationary or beeping tone keeps its frequency, so from its
third frame on u_t = 1 in every bin it dominates and the feature is ~1; a voice's harmonics drift with the pitch and
noise is random (the mean of K random unit phasors is ~1 / sqrt(K) long), so there it is lower. A frame of digital
silence has v = 0 (the feature falls towards 0). Causal: frame t uses frames t - tone_frames - 1 .. t, through the
state "tonehist" (the last spectrum, its v and the last tone_frames - 1 values of u; zeros at the start and after a
gap).
The onset is the transient-aware feature: in (-1, 1), ~0 where a bin's level holds, near +1 in the first frames of a
click, a key stroke or a beep that starts abruptly, negative as it stops. Level-free (a ratio of magnitudes). Causal:
the running average of the frames before t is the state "onsetref" (zeros at the start and after a gap, so the
first frame reads 1).
The impulse feature says how the frame's energy is spread in time inside its 20 ms, which its magnitude spectrum
does not: ~1 / impulse_blocks per block for a voice or steady noise, near 1 in one block when a click, a key stroke's
attack or a knock of a few ms dominates the frame (with 8 blocks of 2.5 ms, the largest share of the louder frames
of training-side speech is 0.19 in the median and 0.38 at the 99th percentile; of `typing` alone 0.36 and 1.0).
Level-free, no state, no added latency (the frame's own samples).
"""

from __future__ import annotations

import math

import torch

# sgn() of a subnormal complex number is inf in torch 2.13 (sgn(1e-39+1e-39j) = inf+infj): a frame of samples near
# 1e-20 (an IIR filter's tail decaying to digital silence) turned the model state NaN for good. Scaling by a power of
# two first is exact in float32 (the unit phasor is the same bit for bit) and makes every subnormal normal; the
# largest phase advance the node lets in (|x| <= 1e6: |p| < 1e17) stays far below float32's 3.4e38.
_UNSUBNORMAL = 2.0**40

__all__ = [
    "dft_matrices",
    "analyze",
    "magnitude",
    "phase_advance",
    "compressed_advance",
    "steadiness",
    "onset",
    "impulse",
]


def _sqrt_hann(n: int) -> torch.Tensor:
    return torch.sqrt(0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(n, dtype=torch.float64) / n))


def dft_matrices(n_fft: int, hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The real DFT and its inverse as float32 matrices with the sqrt-Hann windows folded in (fewer, cheaper ops per
    10 ms frame than rfft/irfft on one short frame), the real and imaginary parts of every bin interleaved (so that a
    complex view of the spectrum is free): [re_0, im_0, re_1, ...] = (frame) @ dft (window applied), and
    (weighted overlap-add segment) = (spectrum) @ idft (synthesis window applied)."""
    w = _sqrt_hann(n_fft)
    r = n_fft // hop
    syn = w / (w.reshape(r, hop) ** 2).sum(0).repeat(r)
    nb = n_fft // 2 + 1
    n = torch.arange(n_fft, dtype=torch.float64)[:, None]
    ang = 2 * math.pi * n * torch.arange(nb, dtype=torch.float64)[None] / n_fft  # (n_fft, bins)
    dft = torch.stack([torch.cos(ang), -torch.sin(ang)], 2).flatten(1) * w[:, None]
    c = torch.full((nb,), 2.0, dtype=torch.float64)
    c[0] = 1.0
    if n_fft % 2 == 0:
        c[-1] = 1.0
    idft = torch.stack([torch.cos(ang).T * c[:, None], -torch.sin(ang).T * c[:, None]], 1).flatten(0, 1)
    return dft.float(), (idft / n_fft * syn[None]).float()


def analyze(frames: torch.Tensor, dft64: torch.Tensor) -> torch.Tensor:
    """The spectra of frames (..., n_fft): frames @ dft summed in float64 and rounded back to the frames' dtype. In
    float32 the sum's rounding (~1e-7 of the frame) depends on how many frames one product takes (the whole file's
    against one 10 ms step's), and the level-free features read it where a bin holds little else: a pure tone's or a
    square wave's empty bins gave steadiness and phase features that differed by up to 1 between a whole-file run
    and 10 ms chunks, and outputs 0.15 apart. In float64 the sums of the same float32 products agree to ~1e-16, so
    the rounded spectra are the same in both (to one float32 step where they meet a rounding boundary). dft64: the
    float32 analysis matrix in float64 (its entries unchanged, so that every path sums the same products)."""
    return (frames.double() @ dft64).to(frames.dtype)


# A bin whose power is under this share of its frame's (200 dB under it) holds no signal, only the rounding of sums
# that cancel (float32 samples resolve ~150 dB under the frame at most): `nonempty` zeroes it for the phase features.
EMPTY_BIN = 1e-20


def nonempty(spec: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
    """spec (B, T, bins, 2) with the bins whose power (B, T, bins) is under EMPTY_BIN times their frame's set to 0,
    for the steadiness and the phase advance, which keep only a bin's phase. Where a frame's samples make a bin's sum
    cancel exactly (a tone whose zero crossing is the frame's centre: its DC bin), what is left is the float64
    rounding of that sum (~1e-16 of the frame), whose sign depends on the order of the sum: a whole-file run and 10 ms
    steps gave a steadiness 0.25 apart in the DC bin of such frames, outputs 0.076 apart (a 220 Hz tone after digital
    silence). A zeroed bin reads as digital silence does (unit phase advance 0)."""
    keep = power >= power.sum(-1, keepdim=True).mul_(EMPTY_BIN)
    return spec * keep.unsqueeze(-1).to(spec.dtype)


def magnitude(power: torch.Tensor, compress: float) -> torch.Tensor:
    """(|X|^2 + eps)^(compress / 2) for power = |X|^2 (B, T, bins)."""
    return power.add(1e-10).pow_(compress / 2)


def phase_advance(frames: torch.Tensor, history: int, T: int, compress: float) -> torch.Tensor:
    """X_t conj(X_t-1) compressed to |X_t X_t-1|^(compress / 2), (B, T, bins * 2) real/imaginary interleaved, for the
    last T of `frames` (complex (B, history + T, bins), history >= 1; the sizes as ints)."""
    return compressed_advance(frames.narrow(1, history, T) * frames.narrow(1, history - 1, T).conj(), compress)


def compressed_advance(p: torch.Tensor, compress: float) -> torch.Tensor:
    """The phase advance p = X_t conj(X_t-1) (complex (B, T, bins)) compressed to |p|^(compress / 2), (B, T, bins * 2)
    real/imaginary interleaved."""
    z = torch.view_as_real(p)
    z = z * z.square().sum(-1, keepdim=True).add_(1e-20).pow_((compress / 2 - 1) / 2)
    return z.flatten(-2)


def steadiness(spec: torch.Tensor, hist: torch.Tensor, K: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The tone feature (see the module docstring) of the T frames of spec (B, T, bins, 2) -> (feature (B, T, bins),
    new hist, the phase advance p = X_t conj(X_t-1) (complex (B, T, bins)), which the deep filter's input reuses). hist (B, K + 1, bins, 2), K = tone_frames, holds what the window needs from before these frames: the
    last K - 1 phase-advance changes u (oldest first), then conj(v) and conj(X) of the last frame; all zero at the
    start. Any chunking gives the same result. Complex arithmetic in few ops (sgn(p) = p / |p|, 0 at 0), the
    conjugates kept ready: the live step runs this per 10 ms frame, where each op costs a few us whatever its size."""
    h = torch.view_as_complex(hist)
    x = torch.view_as_complex(spec)
    T = x.shape[1]
    if T == 1:  # the live step (narrow: one op each where a slice [:, a:b] is two)
        p = x * h.narrow(1, K, 1)
        v = p.mul(_UNSUBNORMAL).sgn()  # the unit phase advance: X_t conj(X_t-1) / |.|
        u = v * h.narrow(1, K - 1, 1)  # its change: v_t conj(v_t-1)
        s = h.narrow(1, 0, K - 1).sum(1, keepdim=True).add_(u)
        new = torch.cat([h.narrow(1, 1, K - 2), u, v.conj(), x.conj()], 1)
    else:
        p = x * torch.cat([h[:, K:], x[:, :-1].conj()], 1)
        v = p.mul(_UNSUBNORMAL).sgn()
        u = v * torch.cat([h[:, K - 1 : K], v[:, :-1].conj()], 1)
        uu = torch.cat([h[:, : K - 1], u], 1)  # (B, K - 1 + T, bins)
        s = uu.unfold(1, K, 1).sum(-1)  # (B, T, bins): the sum of the last K changes
        new = torch.cat([uu[:, T:], v[:, -1:].conj(), x[:, -1:].conj()], 1)
    feature = torch.linalg.vector_norm(torch.view_as_real(s), dim=-1).mul_(1.0 / K)
    return feature, torch.view_as_real(new.resolve_conj()), p


def onset(mag: torch.Tensor, ref: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The onset feature (see the module docstring) of T frames of compressed magnitudes mag (B, T, bins) -> (feature
    (B, T, bins), the new running average (B, 1, bins)). ref (B, 1, bins): the running average before these frames
    (zeros at the start); frames: its time constant in frames (>= 1; 1: the previous frame). The same arithmetic per
    frame whatever the chunking (the live step is the T = 1 case: four ops)."""
    alpha = 1.0 / frames
    if mag.shape[1] == 1:
        d = mag - ref
        return d / (mag + ref), torch.add(ref, d, alpha=alpha)
    refs, a = [], ref
    for t in range(mag.shape[1]):  # a recursion over frames; no parameters, so nothing for autograd to keep
        refs.append(a)
        a = torch.add(a, mag.narrow(1, t, 1) - a, alpha=alpha)
    prev = torch.cat(refs, 1)
    return (mag - prev) / (mag + prev), a


def impulse(wave: torch.Tensor, blocks: int) -> torch.Tensor:
    """The impulse feature (see the module docstring) of frames of samples wave (B, T, n_fft) -> (B, T, blocks): each
    block's share of the frame's energy (0 for a silent frame)."""
    e = wave.unflatten(-1, (blocks, -1)).square().sum(-1)
    return e / e.sum(-1, keepdim=True).add(1e-10)
