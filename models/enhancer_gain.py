"""The enhancer's SNR-adaptive attenuation limit: how far the mask may go down, chosen per frame from an online
estimate of the input's SNR (models/enhancer.py calls `adaptive_mask`; inference only, the trainer turns it off).

The estimate comes from the network's own (unfloored) mask m over the frame's bins, with the frame's power |X|^2:
    speech power  S_t = sum m^2 |X|^2,   noise power  N_t = sum (1 - m)^2 |X|^2
both smoothed by a one-pole average with time constant `snr_tau` (state: the two averages, zero at the start and
after a gap, so the first frames see the ratio of what they have), snr_t = 10 log10(S / N). On the trainer's
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


def adaptive_mask(m: torch.Tensor, power: torch.Tensor, level: torch.Tensor, cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """m (B, T, bins) the sigmoid mask, power (B, T, bins) = |X|^2, level (B, 2) the smoothed speech and noise powers
    before frame 0 -> (the mask to apply (B, T, bins), the new level). Frame by frame (one frame per call in the
    live step), so any chunking gives the same result."""
    alpha = smoothing(cfg)
    s = (m.square() * power).sum(-1)  # (B, T)
    n = ((1 - m).square() * power).sum(-1)
    snrs = []
    for t in range(m.shape[1]):
        level = level * alpha + torch.stack([s[:, t], n[:, t]], -1) * (1 - alpha)
        snrs.append(level[:, :1] / level[:, 1:].clamp_min(1e-20))  # (B, 1)
    ratio = torch.cat(snrs, 1).clamp_min(1e-20)  # (B, T)
    snr_db = 10 * torch.log10(ratio)
    a = ((cfg.snr_high - snr_db) / (cfg.snr_high - cfg.snr_low)).clamp(0, 1)[..., None]  # (B, T, 1)
    if cfg.low_snr_postfilter:
        b = a * cfg.low_snr_postfilter
        sin2 = torch.sin(m * (math.pi / 2)).square()
        m = (1 + b) * m * sin2 / (sin2 + b).clamp_min(1e-12)
    floor = cfg.mask_floor + a * (cfg.low_snr_floor - cfg.mask_floor)
    return floor + (1 - floor) * m, level
