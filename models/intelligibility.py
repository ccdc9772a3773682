"""A differentiable short-time objective intelligibility (STOI) term for training speech enhancers.

STOI (Taal et al., 2011, "An Algorithm for Intelligibility Prediction of Time-Frequency Weighted Noisy Speech"),
which `wavegraph bench enhance` scores with pystoi, correlates the clean and the processed speech's one-third-octave
band envelopes over short segments. `stoi(est, ref)` computes the same quantity in torch, so that it can be a loss
term (maximise it: `1 - stoi`):

* 25 ms Hann frames, 50 % overlap, 512-point FFT at 16 kHz (STOI resamples to 10 kHz first; the band layout below
  is the same in Hz, so only the frames' sample counts differ);
* 15 one-third-octave bands, centres 150 Hz * 2**(k/3); band envelope = sqrt of the band's power;
* segments of 30 frames (384 ms) every `seg_stride` frames; in each, the processed envelope is scaled to the
  clean one's norm and clipped at (1 + 10**(15/20)) times it (STOI's -15 dB signal-to-distortion bound);
* the score is the mean correlation of the two envelopes over bands and segments, with segments weighted by the
  share of the clean speech's energy they hold (pystoi removes silent frames instead: a hard mask, not
  differentiable; weighting keeps silences from counting while staying smooth).

It is a training proxy, not the metric: tests/test_enhancer.py checks it ranks mixtures as pystoi does and sits
near its values.
"""

from __future__ import annotations

import torch

SR = 16000
FRAME = 400  # 25 ms
N_FFT = 512
N_BANDS = 15
MIN_FREQ = 150.0
SEGMENT = 30  # frames: 384 ms
CLIP = 1 + 10 ** (15 / 20)
MIN_SAMPLES = N_FFT + (SEGMENT - 1) * FRAME // 2  # one segment of frames (the stft's n_fft, not FRAME, is the first)


def _band_matrix() -> torch.Tensor:
    """(N_BANDS, N_FFT // 2 + 1) 0/1 rows: the FFT bins of each one-third-octave band."""
    freqs = torch.arange(N_FFT // 2 + 1) * SR / N_FFT
    k = torch.arange(N_BANDS, dtype=torch.float64)
    lo = MIN_FREQ * 2 ** ((2 * k - 1) / 6)
    hi = MIN_FREQ * 2 ** ((2 * k + 1) / 6)
    return ((freqs[None] >= lo[:, None]) & (freqs[None] < hi[:, None])).float()


_BANDS = _band_matrix()


def band_envelopes(x: torch.Tensor) -> torch.Tensor:
    """(B, N) audio at 16 kHz -> (B, N_BANDS, frames) one-third-octave band magnitudes."""
    win = torch.hann_window(FRAME, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, N_FFT, FRAME // 2, FRAME, window=win, center=False, return_complex=True)
    power = spec.real.pow(2) + spec.imag.pow(2)  # (B, F, T)
    return (_BANDS.to(x.device, x.dtype) @ power + 1e-10).sqrt()


def stoi(est: torch.Tensor, ref: torch.Tensor, seg_stride: int = 4) -> torch.Tensor:
    """(B,) differentiable STOI-like score of `est` against the clean `ref`, both (B, N) at 16 kHz, N >= 0.4 s."""
    if ref.shape[-1] < MIN_SAMPLES:  # FRAME + ...: 6,200 to 6,311 samples failed in torch's unfold
        raise ValueError(f"stoi needs at least {MIN_SAMPLES / SR:.3f} s of audio ({MIN_SAMPLES} samples)")
    X, Y = band_envelopes(ref), band_envelopes(est)
    xs = X.unfold(-1, SEGMENT, seg_stride)  # (B, bands, segments, SEGMENT)
    ys = Y.unfold(-1, SEGMENT, seg_stride)
    alpha = xs.norm(dim=-1, keepdim=True) / (ys.norm(dim=-1, keepdim=True) + 1e-8)
    ys = torch.minimum(ys * alpha, xs * CLIP)
    xc = xs - xs.mean(-1, keepdim=True)
    yc = ys - ys.mean(-1, keepdim=True)
    corr = (xc * yc).sum(-1) / (xc.norm(dim=-1) * yc.norm(dim=-1) + 1e-8)  # (B, bands, segments)
    energy = xs.pow(2).sum((1, 3))  # (B, segments): the clean speech in each segment
    weight = energy / (energy.sum(-1, keepdim=True) + 1e-12)
    return (corr.mean(1) * weight).sum(-1)


def stoi_loss(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """1 - mean stoi over the examples that hold speech (0 when none does)."""
    has_speech = ref.abs().amax(-1) > 0
    if not bool(has_speech.any()):
        return est.new_zeros(())
    return 1 - stoi(est[has_speech], ref[has_speech]).mean()
