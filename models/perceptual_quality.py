"""A differentiable PESQ-like quality term for training speech enhancers.

PESQ (ITU-T P.862, and P.862.2 for wide band), which `wavegraph bench enhance` scores with the `pesq` package, is
not differentiable: it aligns the signals in time, then compares their loudness in Bark bands frame by frame. This
module keeps the parts of its perceptual model that decide what it punishes, on already aligned signals (an
enhancer's output is aligned with its clean target), in the manner of PMSQE (Martin-Donas et al., 2018, "A Deep
Learning Loss Function Based on the Perceptual Evaluation of the Speech Quality"):

* 32 ms Hann frames, 50 % overlap, 512-point FFT at 16 kHz; each signal's level normalised on its 300-3,400 Hz
  power (PESQ's level alignment), so the term is blind to overall gain;
* power in 49 bands equally spaced on the Bark scale up to 8 kHz (PESQ-WB's count);
* Zwicker's loudness law with an absolute hearing threshold per band, speech placed at PESQ's listening level
  (79 dB SPL): a residual far below the speech counts for little, one near it for a lot;
* per band and frame, the loudness difference with a dead zone of a quarter of the smaller loudness (PESQ's
  masking allowance), and an asymmetric copy weighted by ((P_est + c) / (P_ref + c))^1.2, counted only where that
  ratio is at least 3 and capped at 12: PESQ punishes what the processing ADDS (residual clicks, musical noise)
  far more than what it removes;
* per frame, the symmetric disturbance is the RMS over the bands and the asymmetric one the mean of its absolute
  value; frames are pooled with an L6 norm over 20-frame (320 ms) windows and an L2 norm over the windows, PESQ's
  pooling, which lets a short loud residual (a click) weigh more than a mean would.

The quality proxy is 4.5 - 0.1 d_sym - 0.0309 d_asym (PESQ's combination of the two); the loss is 4.5 minus it.
It is a training proxy, not the metric: tests/test_perceptual_quality.py checks that it ranks mixtures as PESQ-WB
does and that its gradient points towards the clean speech.
"""

from __future__ import annotations

import torch

SR = 16000
N_FFT = 512
HOP = 256
N_BANDS = 49
LISTENING_DB = 79.0  # PESQ's assumed speech level, dB SPL
WINDOW = 20  # frames per L6 pooling window (320 ms)
STRIDE = 10
# Loudness in PESQ's units: our band powers are relative to the speech level, PESQ's are calibrated and scaled by
# its constant S_l; 200 puts our disturbances on its scale (fitted once on 135 training-side mixtures, noisy,
# enhanced and half-cleaned: PESQ-WB's raw score, its MOS mapping inverted, fell by 0.1 per unit of d_sym x 200).
LOUDNESS_SCALE = 200.0


def _bark(f: torch.Tensor) -> torch.Tensor:
    """Zwicker's critical-band rate of frequencies in Hz."""
    return 13 * torch.atan(0.00076 * f) + 3.5 * torch.atan((f / 7500) ** 2)


def _threshold_db(f: torch.Tensor) -> torch.Tensor:
    """Terhardt's absolute hearing threshold (dB SPL) of frequencies in Hz (clamped to 20 Hz .. 8 kHz)."""
    k = f.clamp(20, 8000) / 1000
    return 3.64 * k**-0.8 - 6.5 * torch.exp(-0.6 * (k - 3.3) ** 2) + 1e-3 * k**4


def _bands() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(bands, bins) 0/1 band matrix (bins 1..N_FFT/2, bands without a bin dropped), each band's hearing threshold
    as a power relative to the speech level, and the 300-3,400 Hz bin mask used for the level."""
    freqs = torch.arange(N_FFT // 2 + 1, dtype=torch.float64) * SR / N_FFT
    edges = torch.linspace(0, float(_bark(torch.tensor(SR / 2.0))), N_BANDS + 1, dtype=torch.float64)
    z = _bark(freqs)
    idx = torch.bucketize(z, edges[1:-1], right=True)
    rows = torch.stack([(idx == b) & (freqs > 0) for b in range(N_BANDS)]).double()
    rows = rows[rows.sum(1) > 0]
    centre = (rows @ freqs) / rows.sum(1)
    threshold = 10 ** ((_threshold_db(centre) - LISTENING_DB) / 10)
    level_bins = ((freqs >= 300) & (freqs <= 3400)).double()
    return rows, threshold, level_bins


_ROWS, _THRESHOLD, _LEVEL_BINS = _bands()


def _band_power(x: torch.Tensor) -> torch.Tensor:
    """(B, N) audio -> (B, frames, bands) Bark band power, the signal's 300-3,400 Hz power normalised to 1."""
    win = torch.hann_window(N_FFT, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, N_FFT, HOP, N_FFT, window=win, center=False, return_complex=True)
    power = (spec.real.pow(2) + spec.imag.pow(2)).transpose(1, 2)  # (B, T, F)
    level = (power * _LEVEL_BINS.to(x.device, x.dtype)).sum(-1).mean(-1) + 1e-12  # (B,)
    return (power / level[:, None, None]) @ _ROWS.to(x.device, x.dtype).T


def _loudness(p: torch.Tensor) -> torch.Tensor:
    """Zwicker's law: (p0 / 0.5)^0.23 ((0.5 + 0.5 p / p0)^0.23 - 1), zero below the hearing threshold p0."""
    p0 = _THRESHOLD.to(p.device, p.dtype)
    return LOUDNESS_SCALE * ((p0 / 0.5) ** 0.23 * ((0.5 + 0.5 * p / p0) ** 0.23 - 1)).clamp(min=0)


def _pool(d: torch.Tensor) -> torch.Tensor:
    """(B, T) frame disturbances -> (B,): L6 over WINDOW-frame windows (STRIDE apart), then L2 over the windows."""
    frames = d[..., None, :] if d.shape[-1] < WINDOW else d.unfold(-1, WINDOW, STRIDE)
    windows = (frames.pow(6).mean(-1) + 1e-24).pow(1 / 6)  # the floor keeps the root's gradient finite at 0
    return (windows.pow(2).mean(-1) + 1e-12).sqrt()


def disturbances(est: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,) symmetric and asymmetric disturbances of `est` against the clean `ref`, both (B, N) at 16 kHz."""
    if est.shape != ref.shape:
        raise ValueError(f"est {tuple(est.shape)} and ref {tuple(ref.shape)} must have the same (batch, samples) shape")
    if ref.shape[-1] < N_FFT:
        raise ValueError(f"the quality term needs at least {N_FFT} samples ({N_FFT / SR * 1000:.0f} ms) of audio")
    pe, pr = _band_power(est), _band_power(ref)
    le, lr = _loudness(pe), _loudness(pr)
    diff = le - lr
    d = torch.sign(diff) * (diff.abs() - 0.25 * torch.minimum(le, lr)).clamp(min=0)
    c = 50 * _THRESHOLD.to(pe.device, pe.dtype)  # PESQ's +50 on its own scale: well above the threshold
    ratio = ((pe + c) / (pr + c)).pow(1.2)
    weight = torch.where(ratio < 3, torch.zeros_like(ratio), ratio.clamp(max=12))
    d_sym = (d.pow(2).mean(-1) + 1e-12).sqrt()  # (B, T)
    d_asym = (d.abs() * weight).mean(-1)
    return _pool(d_sym), _pool(d_asym)


def quality(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(B,) PESQ-like score, 4.5 - 0.1 d_sym - 0.0309 d_asym (not clipped, so its gradient never vanishes)."""
    d_sym, d_asym = disturbances(est, ref)
    return 4.5 - 0.1 * d_sym - 0.0309 * d_asym


def quality_loss(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """4.5 - mean quality over the examples that hold speech (0 when none does)."""
    has_speech = ref.abs().amax(-1) > 0
    if not bool(has_speech.any()):
        return est.new_zeros(())
    return 4.5 - quality(est[has_speech], ref[has_speech]).mean()


__all__ = ["quality", "quality_loss", "disturbances"]
