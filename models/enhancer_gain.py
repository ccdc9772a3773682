"""The enhancer's SNR-adaptive attenuation limit: how far the mask may go down, chosen per frame from an online
estimate of the input's SNR (models/enhancer.py calls `adaptive_mask`; inference only, the trainer turns it off).

The estimate comes from the network's own (unfloored) mask m over the frame's bins, with the frame's power |X|^2:
    speech power  S_t = sum m^2 |X|^2,   noise power  N_t = sum (1 - m)^2 |X|^2
over the bins from `snr_from_bin` up (0: all; a rumble below the voice, e.g. brown noise, put nearly all of its
energy under 100 Hz and read as a low SNR however clean the voice's band was, which dropped the floor there),
both smoothed by a one-pole average with time constant `snr_tau` (state: the two averages, LEVEL_START at the start
and after a gap: equal, 0 dB, so the first frames move from there), snr_t = 10 log10(S / N). On the trainer's
training-side mixtures at fixed SNRs it reads about 1 dB under the true SNR (median over mixtures; docs/speech.md).
The aggressiveness a_t = clip((snr_high - snr_t) / (snr_high - snr_low), 0, 1) moves
    the floor        from mask_floor (a = 0, high SNR) to low_snr_floor (a = 1, low SNR), and
    a post-filter    of strength a * low_snr_postfilter on m (PercepNet's / DeepFilterNet's mask post-filter,
                     m' = (1 + b) m s^2 / (s^2 + b) with s = sin(pi m / 2): lowers small mask values, keeps 1 at 1),
then mask = floor + (1 - floor) m'. Causal (frame t uses frames <= t only), no added latency.
"""

from __future__ import annotations

import math

import torch


def smoothing(cfg) -> float:
    """The one-pole coefficient of the SNR estimate: exp(-hop / (rate * snr_tau))."""
    return math.exp(-cfg.hop / (cfg.sample_rate * cfg.snr_tau))


LEVEL_START = 1e-10  # the level state's start (and after a gap): equal speech and noise, 0 dB, never log10(0)
# The levels' floor before log10: a time constant under ~14 ms (smoothing weight over 0.5) took them to exactly 0 in
# digital silence, and -inf - -inf made the floor, the mask and the output NaN there.
LEVEL_FLOOR = 1e-30


def level_floor(dtype: torch.dtype) -> float:
    """LEVEL_FLOOR, or the dtype's smallest normal number where 1e-30 is 0 in it: in float16 (smallest normal 6e-5)
    LEVEL_FLOOR and LEVEL_START are both 0, and digital silence at a stream's start made the output NaN with any
    snr_tau. The estimate reads 0 dB there, as in float32."""
    return max(LEVEL_FLOOR, torch.finfo(dtype).tiny)


def adaptive_mask(m: torch.Tensor, power: torch.Tensor, level: torch.Tensor, cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """m (B, T, bins) the sigmoid mask, power (B, T, bins) = |X|^2, level (B, 2) the smoothed speech and noise powers
    before frame 0 -> (the mask to apply (B, T, bins), the new level). Frame by frame (one frame per call in the
    live step), so any chunking gives the same result. Written in few tensor ops: the live step runs it per 10 ms,
    and each op costs about 2 us there whatever its size."""
    B, T = m.shape[:2]
    rest = 1 - m
    k0 = cfg.snr_from_bin  # the estimate's bins: from k0 up
    mb, pb = (m, power) if not k0 else (m.narrow(-1, k0, m.shape[-1] - k0), power.narrow(-1, k0, m.shape[-1] - k0))
    e = torch.stack([mb, 1 - mb], -2).square() @ pb[..., None]  # (B, T, 2, 1): this frame's speech, noise power
    weight = 1 - smoothing(cfg)
    if T == 1:  # the live step: no list, no stack
        level = torch.lerp(level, e.view(B, 2), weight)
        smoothed = level
    else:
        levels = []
        for t in range(T):
            level = torch.lerp(level, e[:, t, :, 0], weight)
            levels.append(level)
        smoothed = torch.stack(levels, 1).view(B * T, 2)
    # a = clip((snr_high - 10 log10(S / N)) / (snr_high - snr_low), 0, 1) is affine in (log10 S, log10 N) before the
    # clip, and so is floor = mask_floor + (low_snr_floor - mask_floor) a: one addmm, clipped to the two floors
    span = cfg.low_snr_floor - cfg.mask_floor if not cfg.low_snr_postfilter else 1.0  # with a post-filter: a itself
    k = 10.0 / (cfg.snr_high - cfg.snr_low) * span
    w = torch.tensor([[-k], [k]], dtype=m.dtype, device=m.device)
    start = cfg.snr_high / (cfg.snr_high - cfg.snr_low) * span + (cfg.mask_floor if not cfg.low_snr_postfilter else 0)
    lo, hi = sorted((cfg.mask_floor, cfg.low_snr_floor) if not cfg.low_snr_postfilter else (0.0, 1.0))
    floor = (
        torch.addmm(w.new_full((1,), start), smoothed.clamp_min(level_floor(m.dtype)).log10(), w)
        .clamp_(lo, hi)
        .view(B, T, 1)
    )
    if cfg.low_snr_postfilter:  # `floor` is a here
        a = floor
        b = a * cfg.low_snr_postfilter
        sin2 = torch.sin(m * (math.pi / 2)).square()
        m = (1 + b) * m * sin2 / (sin2 + b).clamp_min(1e-12)
        rest = 1 - m
        floor = a * (cfg.low_snr_floor - cfg.mask_floor) + cfg.mask_floor
    return torch.addcmul(m, floor, rest), level  # floor + (1 - floor) m
